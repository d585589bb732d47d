package tools

import (
	"testing"

	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// Unset options take their defaults when the tools are built: progress at least every 8 s
// (clients give up on a call silent for 10 s), the default history budget, preview output.
func TestProgressEveryDefault(t *testing.T) {
	s := New(Wiring{})
	if s.turns.ProgressEvery != DefaultProgressEvery || DefaultProgressEvery > 8e9 {
		t.Errorf("progress every %v by default; clients give up after 10 s", s.turns.ProgressEvery)
	}
	if s.turns.Budget != session.DefaultBudget {
		t.Errorf("history budget %+v by default, want %+v", s.turns.Budget, session.DefaultBudget)
	}
	if s.out.Output != OutputPreview {
		t.Errorf("output %q by default, want preview", s.out.Output)
	}
}

func TestTookNeverSaysZeroSeconds(t *testing.T) {
	for ms, want := range map[int64]string{0: "0 ms", 42: "42 ms", 99: "99 ms", 100: "0.1 s", 1234: "1.2 s", 65000: "65.0 s"} {
		if got := took(ms); got != want {
			t.Errorf("took(%d) = %q, want %q", ms, got, want)
		}
	}
}

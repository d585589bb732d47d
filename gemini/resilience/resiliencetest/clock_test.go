package resiliencetest_test

import (
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience/resiliencetest"
)

var _ resilience.Clock = (*resiliencetest.FakeClock)(nil)

// A timer fires when the clock reaches it, not before, and a stopped one never fires.
func TestFakeClockFiresTimersInOrder(t *testing.T) {
	c := resiliencetest.NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	a, b, stopped := c.NewTimer(2*time.Second), c.NewTimer(time.Second), c.NewTimer(time.Second)
	if !stopped.Stop() || c.Pending() != 2 {
		t.Fatalf("after Stop: %d pending, want 2", c.Pending())
	}
	if d, ok := c.AdvanceNext(); !ok || d != time.Second {
		t.Fatalf("AdvanceNext moved %v, %v; want 1s", d, ok)
	}
	select {
	case <-b.C():
	default:
		t.Fatal("the 1 s timer did not fire at 1 s")
	}
	select {
	case <-a.C():
		t.Fatal("the 2 s timer fired at 1 s")
	case <-stopped.C():
		t.Fatal("a stopped timer fired")
	default:
	}
	c.Advance(time.Second)
	if got := <-a.C(); !got.Equal(c.Now()) {
		t.Errorf("the 2 s timer delivered %v, want %v", got, c.Now())
	}
}

package tools_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/session"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// BenchmarkConversationTurns runs 20-turn conversations through edit_image and reports, for
// turns 1, 5, 10 and 20, the request size the upstream received and the time the call took
// (the simulator answers at once, so this is the server's own time: reading the history,
// building the request, saving and recording the turn).
func BenchmarkConversationTurns(b *testing.B) {
	t := &testing.T{}
	h := newHarness(t, func(d *tools.Wiring) { d.Turns.Budget = session.Budget{MaxTurns: 50, MaxBytes: 1 << 40} })
	bytesAt := map[int]float64{}
	timeAt := map[int]time.Duration{}
	for b.Loop() {
		conv := ""
		for turn := 1; turn <= 20; turn++ {
			start := time.Now()
			if turn == 1 {
				out := imageOutB(b, h, "generate_image", map[string]any{"prompt": "a sailing boat", "output": "path"})
				conv = out.ConversationID
			} else {
				imageOutB(b, h, "edit_image", map[string]any{"prompt": fmt.Sprintf("change %d", turn), "conversation_id": conv, "output": "path"})
			}
			took := time.Since(start)
			reqs := h.sim.Requests()
			body, _ := json.Marshal(reqs[len(reqs)-1].Body)
			bytesAt[turn] += float64(len(body))
			timeAt[turn] += took
		}
	}
	for _, turn := range []int{1, 5, 10, 20} {
		b.ReportMetric(bytesAt[turn]/float64(b.N)/1024, fmt.Sprintf("KiB-turn%d", turn))
		b.ReportMetric(float64(timeAt[turn].Milliseconds())/float64(b.N), fmt.Sprintf("ms-turn%d", turn))
	}
}

func imageOutB(b *testing.B, h *harness, tool string, args map[string]any) tools.ImageOutput {
	t := &testing.T{}
	res := h.call(t, tool, args)
	if res.IsError {
		b.Fatalf("%s: %s", tool, text(res))
	}
	var out tools.ImageOutput
	structured(t, res, &out)
	return out
}

package tools_test

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
)

// Three 4K turns with realistic, incompressible images (≈ 26 MB each, ≈ 35 MB as base64, plus
// the model's interim drafts) continue with their full or trimmed history every turn, and no
// request the simulator (like Gemini) would refuse for its size ever leaves. With the old 16 MiB
// budget the second turn already started a fresh context.
func TestFourKConversationKeepsItsHistory(t *testing.T) {
	if testing.Short() || raceDetector {
		t.Skip("renders and replays realistic 4K images: about 15 s on 2 cores, minutes under -race (.ci/run runs it without)")
	}
	sim, err := geminitest.New(geminitest.Config{Photo: true, RecordLimit: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	h := newHarnessWithSim(t, sim)
	first := imageOut(t, h, "generate_image", map[string]any{"prompt": "a lighthouse at dusk", "model": "nano-banana-pro", "image_size": "4K", "output": "path"})
	if first.Bytes < 20<<20 {
		t.Fatalf("the simulated 4K image is %d bytes; this test needs realistic ones", first.Bytes)
	}
	for turn := 2; turn <= 3; turn++ {
		out := imageOut(t, h, "edit_image", map[string]any{"prompt": "more dramatic clouds", "conversation_id": first.ConversationID, "output": "path"})
		notes := strings.Join(out.Notes, " ")
		if out.ConversationID != first.ConversationID || out.Turn != turn || strings.Contains(notes, "fresh context") {
			t.Fatalf("turn %d: conversation %s turn %d notes %q; want %s turn %d with its history", turn, out.ConversationID, out.Turn, notes, first.ConversationID, turn)
		}
		req := h.sim.Requests()[0]
		if n := len(req.Body["contents"].([]any)); n != 2*turn-1 {
			t.Errorf("turn %d replayed %d contents, want %d", turn, n, 2*turn-1)
		}
		if req.Status != 200 {
			t.Errorf("turn %d: the simulator answered %d", turn, req.Status)
		}
		t.Logf("turn %d: notes %q", turn, notes)
	}
}

// A request over Gemini's 100 MiB limit is refused before it leaves, as a local error.
func TestOversizedRequestNeverLeaves(t *testing.T) {
	h := newHarness(t)
	ref := filepath.Join(h.outDir, "big.png")
	data := make([]byte, 18<<20) // under the per-image limit; six of them are not
	_, _ = rand.Read(data)
	copy(data, []byte("\x89PNG\r\n\x1a\n"))
	if err := os.WriteFile(ref, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res := h.call(t, "generate_image", map[string]any{"prompt": "x", "model": "nano-banana-pro",
		"images": []any{ref, ref, ref, ref, ref, ref}})
	var d apierrors.Diagnosis
	structured(t, res, &d)
	if !res.IsError || !d.IsLocal() || !strings.Contains(d.Summary, "100 MiB limit") {
		t.Fatalf("isError %v: %s", res.IsError, text(res))
	}
	if n := len(h.sim.Requests()); n != 0 {
		t.Errorf("%d requests left for Gemini", n)
	}
}

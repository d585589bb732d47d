package tools_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

func imageOut(t *testing.T, h *harness, tool string, args map[string]any) tools.ImageOutput {
	t.Helper()
	res := h.call(t, tool, args)
	if res.IsError {
		t.Fatalf("%s: %s", tool, text(res))
	}
	var out tools.ImageOutput
	structured(t, res, &out)
	return out
}

// lastContents returns the contents[] of the latest upstream request.
func lastContents(h *harness) []any {
	reqs := h.sim.Requests()
	return reqs[len(reqs)-1].Body["contents"].([]any)
}

// Ten turns on Nano Banana Pro: every request replays the whole history on the pinned model,
// and the simulator checks every replayed thought signature the way the API does.
func TestEditImageTenTurns(t *testing.T) {
	h := newHarness(t)
	first := imageOut(t, h, "generate_image", map[string]any{"prompt": "a wooden boat", "model": "nano-banana-pro", "aspect_ratio": "3:2", "output": "path"})
	conv := first.ConversationID
	for turn := 2; turn <= 10; turn++ {
		out := imageOut(t, h, "edit_image", map[string]any{"prompt": "now add detail " + string(rune('a'+turn)), "conversation_id": conv, "output": "path"})
		if out.ConversationID != conv || out.Turn != turn || out.Model != "gemini-3-pro-image" {
			t.Fatalf("turn %d: conversation %s turn %d model %s", turn, out.ConversationID, out.Turn, out.Model)
		}
		if w, hh := decodeFile(t, out.Path); w != 1264 || hh != 848 {
			t.Errorf("turn %d kept the conversation's 3:2 ratio? got %d×%d", turn, w, hh)
		}
		if n := len(lastContents(h)); n != 2*turn-1 {
			t.Errorf("turn %d sent %d contents; want the full history (%d)", turn, n, 2*turn-1)
		}
	}
	for _, r := range h.sim.Requests() {
		if r.Model != "gemini-3-pro-image" || r.Status != 200 {
			t.Errorf("request to %s answered %d", r.Model, r.Status)
		}
	}
}

func TestEditImageContinuesLatestAndStartsFromImages(t *testing.T) {
	h := newHarness(t)
	first := imageOut(t, h, "generate_image", map[string]any{"prompt": "a cat", "output": "path"})
	second := imageOut(t, h, "edit_image", map[string]any{"prompt": "give it a hat", "output": "path"})
	if second.ConversationID != first.ConversationID || second.Turn != 2 {
		t.Errorf("without conversation_id the session's latest conversation continues: %+v", second)
	}
	local := filepath.Join(h.outDir, "photo.png")
	if err := os.WriteFile(local, tinyPNG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, img := range []string{local, first.ImageID} {
		out := imageOut(t, h, "edit_image", map[string]any{"prompt": "make it blue", "image": img, "output": "path"})
		if out.ConversationID == first.ConversationID || out.Turn != 1 {
			t.Errorf("image=%s should start a new conversation: %+v", img, out)
		}
		contents := lastContents(h)
		parts := contents[0].(map[string]any)["parts"].([]any)
		if len(contents) != 1 || len(parts) != 2 || parts[1].(map[string]any)["inlineData"] == nil {
			t.Errorf("the outside image must reach the upstream as input: %v", contents)
		}
	}
}

func TestEditImageBranches(t *testing.T) {
	h := newHarness(t)
	t1 := imageOut(t, h, "generate_image", map[string]any{"prompt": "a house", "output": "path"})
	t2 := imageOut(t, h, "edit_image", map[string]any{"prompt": "paint it red", "conversation_id": t1.ConversationID, "output": "path"})
	imageOut(t, h, "edit_image", map[string]any{"prompt": "add snow", "conversation_id": t1.ConversationID, "output": "path"})
	b := imageOut(t, h, "edit_image", map[string]any{"prompt": "paint it green instead", "from_image_id": t2.ImageID, "output": "path"})
	if b.ConversationID == t1.ConversationID || b.BranchOf != t1.ConversationID || b.Turn != 3 {
		t.Errorf("branch: %+v", b)
	}
	if n := len(lastContents(h)); n != 5 {
		t.Errorf("the branch replays the history up to the image's turn (4 contents) plus the new turn; sent %d", n)
	}
	orig := imageOut(t, h, "edit_image", map[string]any{"prompt": "more snow", "conversation_id": t1.ConversationID, "output": "path"})
	if orig.Turn != 4 {
		t.Errorf("the original conversation goes on unchanged: turn %d", orig.Turn)
	}
}

func TestEditImagePinnedModelAndFailedTurns(t *testing.T) {
	h := newHarness(t)
	first := imageOut(t, h, "generate_image", map[string]any{"prompt": "a tree", "model": "nano-banana-pro", "output": "path"})
	res := h.call(t, "edit_image", map[string]any{"prompt": "x", "conversation_id": first.ConversationID, "model": "nano-banana-2"})
	var d apierrors.Diagnosis
	structured(t, res, &d)
	if !res.IsError || d.Category != apierrors.UnsupportedParameter || !strings.Contains(d.Summary, "pinned") ||
		!strings.Contains(d.Summary, "image="+first.ImageID) {
		t.Errorf("model switch: %s", d.Summary)
	}
	if out := imageOut(t, h, "edit_image", map[string]any{"prompt": "x", "conversation_id": first.ConversationID,
		"model": "gemini-3-pro-image-preview", "output": "path"}); out.Model != "gemini-3-pro-image" {
		t.Errorf("an alias of the pinned model is fine, and the pinned id is used: %s", out.Model)
	}
	h.sim.Enqueue("", geminitest.Overloaded())
	if res := h.call(t, "edit_image", map[string]any{"prompt": "fails", "conversation_id": first.ConversationID}); !res.IsError {
		t.Fatal("expected a failure")
	}
	out := imageOut(t, h, "edit_image", map[string]any{"prompt": "works", "conversation_id": first.ConversationID, "output": "path"})
	if out.Turn != 3 || len(lastContents(h)) != 5 {
		t.Errorf("a failed turn must not be appended: turn %d, %d contents", out.Turn, len(lastContents(h)))
	}
}

func TestEditImageConcurrentEditsAreSerialised(t *testing.T) {
	h := newHarness(t)
	first := imageOut(t, h, "generate_image", map[string]any{"prompt": "a bowl of fruit", "output": "path"})
	var wg sync.WaitGroup
	turns := make(chan int, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := h.call(t, "edit_image", map[string]any{"prompt": "variation " + string(rune('a'+i)), "conversation_id": first.ConversationID, "output": "path"})
			var out tools.ImageOutput
			structured(t, res, &out)
			turns <- out.Turn
		}()
	}
	wg.Wait()
	close(turns)
	seen := map[int]bool{}
	for tn := range turns {
		seen[tn] = true
	}
	if len(seen) != 4 || !seen[2] || !seen[5] {
		t.Errorf("turns %v; want 2..5, each once", seen)
	}
	var lengths []int
	for _, r := range h.sim.Requests()[1:] {
		lengths = append(lengths, len(r.Body["contents"].([]any)))
	}
	for i, n := range lengths {
		if n != 2*(i+2)-1 {
			t.Errorf("request %d replayed %d contents: edits interleaved (%v)", i, n, lengths)
		}
	}
}

func TestEditImageHistoryBudgetStartsFreshContext(t *testing.T) {
	h := newHarness(t, func(d *tools.Wiring) { d.Turns.Budget = session.Budget{MaxTurns: 2} })
	first := imageOut(t, h, "generate_image", map[string]any{"prompt": "a robot", "output": "path"})
	second := imageOut(t, h, "edit_image", map[string]any{"prompt": "wave", "output": "path"})
	third := imageOut(t, h, "edit_image", map[string]any{"prompt": "jump", "output": "path"})
	if second.ConversationID != first.ConversationID || third.ConversationID == first.ConversationID || third.Turn != 1 {
		t.Fatalf("conversations %s %s %s turn %d", first.ConversationID, second.ConversationID, third.ConversationID, third.Turn)
	}
	if len(third.Notes) == 0 || !strings.Contains(strings.Join(third.Notes, " "), "fresh context") {
		t.Errorf("the result must say the context was reset: %v", third.Notes)
	}
	contents := lastContents(h)
	if len(contents) != 1 || len(contents[0].(map[string]any)["parts"].([]any)) != 2 {
		t.Errorf("a fresh context is seeded with the latest image only: %d contents", len(contents))
	}
}

func TestEditImageSurvivesRestart(t *testing.T) {
	storeDir, out := t.TempDir(), t.TempDir()
	open := func() *session.FileStore {
		s, err := session.Open(storeDir, session.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sim, err := geminitest.New(geminitest.Config{SignatureSecret: []byte("same simulator across the restart")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	before := open()
	h1 := newHarnessWithSim(t, sim, func(d *tools.Wiring) { d.Store, d.Images.Dir = before, out })
	first := imageOut(t, h1, "generate_image", map[string]any{"prompt": "a lamp", "output": "path"})
	imageOut(t, h1, "edit_image", map[string]any{"prompt": "turn it on", "conversation_id": first.ConversationID, "output": "path"})
	_ = before.Close()

	after := open()
	t.Cleanup(func() { _ = after.Close() })
	h2 := newHarnessWithSim(t, sim, func(d *tools.Wiring) { d.Store, d.Images.Dir = after, out })
	third := imageOut(t, h2, "edit_image", map[string]any{"prompt": "dim it", "conversation_id": first.ConversationID, "output": "path"})
	if third.Turn != 3 || len(lastContents(h2)) != 5 {
		t.Errorf("after a restart: turn %d, %d contents", third.Turn, len(lastContents(h2)))
	}
}

func TestConversationTools(t *testing.T) {
	h := newHarness(t)
	a := imageOut(t, h, "generate_image", map[string]any{"prompt": "one", "output": "path"})
	b := imageOut(t, h, "generate_image", map[string]any{"prompt": "two", "output": "path"})
	res := h.call(t, "list_conversations", nil)
	var list tools.ListConversationsOutput
	structured(t, res, &list)
	if len(list.Conversations) != 2 || list.Conversations[0].ConversationID != b.ConversationID ||
		list.Conversations[1].LatestImageID != a.ImageID {
		t.Errorf("list: %+v", list)
	}
	res = h.call(t, "delete_conversation", map[string]any{"conversation_id": a.ConversationID})
	if res.IsError {
		t.Fatal(text(res))
	}
	if _, err := os.Stat(a.Path); err != nil {
		t.Error("deleting a conversation must keep its image files")
	}
	res = h.call(t, "edit_image", map[string]any{"prompt": "x", "conversation_id": a.ConversationID})
	if !res.IsError || !strings.Contains(text(res), "No conversation has the id") {
		t.Errorf("edit of a deleted conversation: %s", text(res))
	}
}

func TestEditImageDamagedConversation(t *testing.T) {
	storeDir := t.TempDir()
	store, err := session.Open(storeDir, session.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	h := newHarness(t, func(d *tools.Wiring) { d.Store = store })
	bad := imageOut(t, h, "generate_image", map[string]any{"prompt": "one", "output": "path"})
	good := imageOut(t, h, "generate_image", map[string]any{"prompt": "two", "output": "path"})
	if err := os.WriteFile(filepath.Join(storeDir, "conversations", bad.ConversationID+".json"), []byte("{garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := h.call(t, "edit_image", map[string]any{"prompt": "x", "conversation_id": bad.ConversationID})
	if !res.IsError || !strings.Contains(text(res), "damaged") {
		t.Errorf("damaged conversation: %s", text(res))
	}
	imageOut(t, h, "edit_image", map[string]any{"prompt": "x", "conversation_id": good.ConversationID, "output": "path"})
}

// A refusal found before anything is sent carries the server's own cause, never Gemini's
// generic fix steps (which told a pinned conversation to use an uppercase K).
func TestLocalRefusalsSpeakOfNothingSent(t *testing.T) {
	h := newHarness(t)
	var gen tools.ImageOutput
	structured(t, h.call(t, "generate_image", map[string]any{"prompt": "a cat", "output": "path"}), &gen)
	for name, call := range map[string]struct {
		tool string
		args map[string]any
	}{
		"pinned model":   {"edit_image", map[string]any{"prompt": "x", "conversation_id": gen.ConversationID, "model": "nano-banana-pro"}},
		"n out of range": {"generate_image", map[string]any{"prompt": "x", "n": 7}},
		"unknown batch":  {"get_batch", map[string]any{"batch_id": "batch_aaaaaaaaaaaaaaaa"}},
		"size":           {"generate_image", map[string]any{"prompt": "x", "image_size": "512"}},
		"thinking":       {"generate_image", map[string]any{"prompt": "x", "model": "nano-banana-pro", "thinking_level": "medium"}},
		"unknown model":  {"generate_image", map[string]any{"prompt": "x", "model": "nano-banana-9"}},
	} {
		res := h.call(t, call.tool, call.args)
		raw := jsonOf(res.StructuredContent)
		if !res.IsError || !strings.Contains(raw, `"case":"local"`) || strings.Contains(raw, "uppercase K") || strings.Contains(raw, "one image per call") {
			t.Errorf("%s: %s", name, raw)
		}
	}
}

// usage_report's sentence counts in words a user reads: "1 call, 1 image", not "1 calls".
func TestUsageReportSaysOneCall(t *testing.T) {
	h := newHarness(t)
	h.call(t, "generate_image", map[string]any{"prompt": "a cat", "output": "path"})
	got := text(h.call(t, "usage_report", nil))
	if !strings.Contains(got, "1 call, 1 image (") || !strings.Contains(got, "1 upstream attempt, 0 fallbacks") {
		t.Errorf("usage_report: %s", got)
	}
}

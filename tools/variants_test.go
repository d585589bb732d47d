package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience/resiliencetest"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

func wireSeed(r geminitest.Request) any {
	cfg, _ := r.Body["generationConfig"].(map[string]any)
	return cfg["seed"]
}

func TestNThreeImagesThreeCallsThreeConversations(t *testing.T) {
	h := newHarness(t)
	res := h.call(t, "generate_image", map[string]any{"prompt": "a red fox", "n": 3, "seed": 7})
	var out tools.ImageOutput
	structured(t, res, &out)
	if res.IsError || len(out.Images) != 3 {
		t.Fatalf("%d images: %s", len(out.Images), text(res))
	}
	if n := len(h.sim.Requests()); n != 3 {
		t.Errorf("%d upstream calls, want 3", n)
	}
	ids, convs := map[string]bool{}, map[string]bool{}
	var pictures [][]byte
	for i, img := range out.Images {
		ids[img.ImageID], convs[img.ConversationID] = true, true
		data, err := os.ReadFile(img.Path)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pictures {
			if bytes.Equal(p, data) {
				t.Errorf("image %d is the same picture as an earlier one", i+1)
			}
		}
		pictures = append(pictures, data)
		if img.Seed != int64(7+i) || img.Width != 1024 || img.Model != "gemini-nano-banana-2.1" || img.Turn != 1 {
			t.Errorf("image %d: %+v", i+1, img)
		}
	}
	if len(ids) != 3 || len(convs) != 3 {
		t.Errorf("image ids %v conversations %v; want three of each", ids, convs)
	}
	seeds := map[any]bool{}
	for _, r := range h.sim.Requests() {
		seeds[wireSeed(r)] = true
	}
	if !seeds[float64(7)] || !seeds[float64(8)] || !seeds[float64(9)] {
		t.Errorf("seeds on the wire %v, want 7, 8 and 9", seeds)
	}
	// The top level describes the first image, as for n = 1; the cost is the whole call's.
	first := out.Images[0]
	if out.ImageID != first.ImageID || out.ConversationID != first.ConversationID || out.Seed != 7 ||
		out.CostUSD < 3*0.0336 || out.Attempts != 3 {
		t.Errorf("top level %+v", out)
	}
	previews, previewBytes := 0, 0
	for _, c := range res.Content[1:] {
		if img, ok := mcp.AsImageContent(c); ok {
			previews++
			previewBytes += len(img.Data) * 3 / 4
		}
	}
	if previewBytes > 256<<10 { // the default preview budget, shared by the set
		t.Errorf("previews take %d bytes, more than the budget", previewBytes)
	}
	if previews != 3 || !strings.Contains(text(res), "Generated 3 of 3 images") {
		t.Errorf("%d previews; text %q", previews, text(res))
	}
	// Each image can be edited on.
	edit := h.call(t, "edit_image", map[string]any{"prompt": "at night", "conversation_id": out.Images[2].ConversationID, "output": "path"})
	if edit.IsError {
		t.Errorf("editing the third image: %s", text(edit))
	}
}

func TestNOneStillListsItsImage(t *testing.T) {
	h := newHarness(t)
	res := h.call(t, "generate_image", map[string]any{"prompt": "a kite", "output": "path"})
	var out tools.ImageOutput
	structured(t, res, &out)
	if len(out.Images) != 1 || out.Images[0].ImageID != out.ImageID || out.Images[0].Seed != out.Seed ||
		wireSeed(h.sim.Requests()[0]) != float64(out.Seed) {
		t.Errorf("images %+v seed %d wire %v", out.Images, out.Seed, wireSeed(h.sim.Requests()[0]))
	}
	conv, err := h.opts.Store.Get(context.Background(), out.ConversationID)
	if err != nil || conv.Turns[0].Seed == nil || *conv.Turns[0].Seed != out.Seed {
		t.Errorf("the seed is not recorded with the turn: %v", err)
	}
}

func TestNPartialSuccessExplainsTheFailure(t *testing.T) {
	h := newHarness(t)
	h.sim.Enqueue("", geminitest.ImageSafety())
	res := h.call(t, "generate_image", map[string]any{"prompt": "a lighthouse", "n": 3, "output": "path"})
	var out tools.ImageOutput
	structured(t, res, &out)
	if res.IsError || len(out.Images) != 2 {
		t.Fatalf("%d images: %s", len(out.Images), text(res))
	}
	notes := strings.Join(out.Notes, "\n")
	if !strings.Contains(notes, "of 3 failed (safety_blocked)") || !strings.Contains(text(res), "Generated 2 of 3 images") {
		t.Errorf("notes %q text %q", notes, text(res))
	}
	// explain_error, asked about nothing, explains the failed image.
	if ex := h.call(t, "explain_error", nil); !strings.Contains(text(ex), "safety") {
		t.Errorf("explain_error: %s", text(ex))
	}
}

func TestNAllFailingIsOneDiagnosedError(t *testing.T) {
	h := newHarness(t)
	h.sim.Enqueue("", geminitest.ImageSafety(), geminitest.ImageSafety())
	res := h.call(t, "generate_image", map[string]any{"prompt": "a lighthouse", "n": 2})
	if !res.IsError || !strings.Contains(strings.ToLower(text(res)), "safety") {
		t.Errorf("%s", text(res))
	}
	bad := h.call(t, "generate_image", map[string]any{"prompt": "x", "n": 5})
	if !bad.IsError || !strings.Contains(text(bad), "1 to 4") {
		t.Errorf("n 5: %s", text(bad))
	}
}

// n images at --rpm 2 pace instead of meeting Gemini's 429, with "k of n done" progress.
func TestNPacesAtRPM2(t *testing.T) {
	clock := resiliencetest.NewFakeClock(time.Now())
	const model = "gemini-nano-banana-2.1"
	sim, err := geminitest.New(geminitest.Config{Clock: clock.Now, Quotas: map[string]geminitest.Quota{model: {RPM: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	lim, _ := resilience.NewLimiter(resilience.LimiterConfig{Override: resilience.Limits{RPM: 2}, Clock: clock})
	gc, err := gemini.NewClient(context.Background(), gemini.Config{APIKey: "k", BaseURL: sim.URL(),
		Resilience: gemini.Resilience{Limiter: lim, Clock: clock, MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessWith(t, sim, gc)
	start := clock.Now()
	res, msgs := callParked(t, h, clock, 3, "generate_image", map[string]any{"prompt": "a fox", "n": 3, "output": "path"})
	var out tools.ImageOutput
	structured(t, res, &out)
	if res.IsError || len(out.Images) != 3 {
		t.Fatalf("%d images: %s", len(out.Images), text(res))
	}
	for _, r := range sim.Requests() {
		if r.Status != 200 {
			t.Errorf("the simulator answered %d", r.Status)
		}
	}
	if waited := clock.Now().Sub(start); waited < time.Minute {
		t.Errorf("the third image went after %v, inside the first minute", waited)
	}
	joined := strings.Join(msgs, "\n")
	if !strings.Contains(joined, "3 of 3 done") || !strings.Contains(joined, "per-minute quota") {
		t.Errorf("progress:\n%s", joined)
	}
}

func TestEditVariantsBranchFromTheSameTurn(t *testing.T) {
	h := newHarness(t)
	var gen tools.ImageOutput
	structured(t, h.call(t, "generate_image", map[string]any{"prompt": "a cat", "output": "path"}), &gen)
	res := h.call(t, "edit_image", map[string]any{"prompt": "add a hat", "conversation_id": gen.ConversationID, "n": 2, "output": "path"})
	var out tools.ImageOutput
	structured(t, res, &out)
	if res.IsError || len(out.Images) != 2 {
		t.Fatalf("%s", text(res))
	}
	a, b := out.Images[0], out.Images[1]
	if a.ConversationID != gen.ConversationID || a.Turn != 2 {
		t.Errorf("the first variant should continue the conversation: %+v", a)
	}
	if b.ConversationID == gen.ConversationID || b.BranchOf != gen.ConversationID || b.Turn != 2 {
		t.Errorf("the second variant should be a branch from the same turn: %+v", b)
	}
	conv, err := h.opts.Store.Get(context.Background(), gen.ConversationID)
	if img, ok := conv.LatestImage(); err != nil || !ok || img.ID != a.ImageID {
		t.Errorf("the conversation's latest is not the first variant")
	}
	// Both go on.
	for _, c := range []string{a.ConversationID, b.ConversationID} {
		if r := h.call(t, "edit_image", map[string]any{"prompt": "smaller", "conversation_id": c, "output": "path"}); r.IsError {
			t.Errorf("continuing %s: %s", c, text(r))
		}
	}
}

func TestNWithIdempotencyKeyReturnsTheSameSet(t *testing.T) {
	jobs, err := tools.OpenJobs(t.TempDir(), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(d *tools.Wiring) { d.Jobs = jobs })
	args := map[string]any{"prompt": "a kite", "n": 2, "idempotency_key": "set-1", "output": "path"}
	var a, b tools.ImageOutput
	structured(t, h.call(t, "generate_image", args), &a)
	structured(t, h.call(t, "generate_image", args), &b)
	if len(a.Images) != 2 || len(b.Images) != 2 || a.Images[1].ImageID != b.Images[1].ImageID || len(h.sim.Requests()) != 2 {
		t.Errorf("sets %+v / %+v after %d upstream calls", a.Images, b.Images, len(h.sim.Requests()))
	}
	res := h.call(t, "generate_image", map[string]any{"prompt": "a kite", "n": 2, "async": true, "output": "path"})
	var pending tools.ImageOutput
	structured(t, res, &pending)
	res = h.call(t, "get_generation", map[string]any{"job_id": pending.JobID, "wait_seconds": 20})
	var done tools.ImageOutput
	structured(t, res, &done)
	if res.IsError || len(done.Images) != 2 {
		t.Errorf("async set: %s", text(res))
	}
}

func TestImageSearchGroundingInResultAndText(t *testing.T) {
	h := newHarness(t)
	res := h.call(t, "generate_image", map[string]any{"prompt": "the Eiffel Tower", "image_search": true, "output": "path"})
	var out tools.ImageOutput
	structured(t, res, &out)
	if res.IsError || out.Grounding == nil || len(out.Grounding.Sources) == 0 || len(out.Grounding.ImageQueries) == 0 ||
		out.Grounding.SearchSuggestionsHTML == "" {
		t.Fatalf("grounding %+v: %s", out.Grounding, text(res))
	}
	if !strings.Contains(text(res), "Sources:") || !strings.Contains(text(res), out.Grounding.Sources[0].URL) {
		t.Errorf("text does not show the sources: %s", text(res))
	}
	if !strings.Contains(jsonOf(h.sim.Requests()[0].Body["tools"]), "imageSearch") {
		t.Errorf("tools on the wire: %s", jsonOf(h.sim.Requests()[0].Body["tools"]))
	}
	// Grounding is billed apart: the estimate includes the list price and says what is free.
	if out.CostUSD < 0.0336+0.014 || !strings.Contains(strings.Join(out.Notes, " "), "first 5,000 a month are free") {
		t.Errorf("cost %v notes %q", out.CostUSD, out.Notes)
	}
	var rep tools.UsageReportOutput
	structured(t, h.call(t, "usage_report", nil), &rep)
	if rep.GroundedCalls != 1 || rep.GroundedThisMonth != 1 {
		t.Errorf("usage report grounded %d, this month %d", rep.GroundedCalls, rep.GroundedThisMonth)
	}
	pro := h.call(t, "generate_image", map[string]any{"prompt": "x", "model": "nano-banana-pro", "image_search": true})
	if !pro.IsError || !strings.Contains(text(pro), "gemini-nano-banana-2.1") || len(h.sim.Requests()) != 1 {
		t.Errorf("image search on Pro: %s (%d calls)", text(pro), len(h.sim.Requests()))
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// callParked is callDriven for n parallel generations (see driveParked).
func callParked(t *testing.T, h *harness, clock *resiliencetest.FakeClock, n int, name string, args map[string]any) (*mcp.CallToolResult, []string) {
	t.Helper()
	var mu sync.Mutex
	var msgs []string
	h.client.OnNotification(func(note mcp.JSONRPCNotification) {
		if note.Method == "notifications/progress" {
			mu.Lock()
			msgs = append(msgs, fmt.Sprint(note.Params.AdditionalFields["message"]))
			mu.Unlock()
		}
	})
	var req mcp.CallToolRequest
	req.Params.Name, req.Params.Arguments = name, args
	req.Params.Meta = &mcp.Meta{ProgressToken: "tok"}
	var res *mcp.CallToolResult
	driveParked(h.sim, clock, n, func() {
		var err error
		if res, err = h.client.CallTool(context.Background(), req); err != nil {
			t.Error(err)
		}
	})
	h.checkOutputSchema(t, name, res)
	mu.Lock()
	defer mu.Unlock()
	return res, append([]string(nil), msgs...)
}

// driveParked runs f while moving the clock, but only when each of the n generations f makes
// that the simulator has not answered yet is parked on a timer: never under a request that is
// on the wire (the simulator would count it late).
func driveParked(sim *geminitest.Server, clock *resiliencetest.FakeClock, n int, f func()) {
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	for {
		select {
		case <-done:
			return
		default:
		}
		answered := 0
		for _, r := range sim.Requests() {
			if r.Status != 0 {
				answered++
			}
		}
		if p := clock.Pending(); p > 0 && p >= n-answered {
			clock.AdvanceNext()
		} else {
			runtime.Gosched()
		}
	}
}

// Twelve clients of one server fire at once with --rpm 6: six go at once and six a window later,
// never more than six in a rolling minute at the simulator, and no 429.
func TestTwelveCallsAtRPM6ShareTheWindow(t *testing.T) {
	clock := resiliencetest.NewFakeClock(time.Now())
	const model = "gemini-nano-banana-2.1"
	sim, err := geminitest.New(geminitest.Config{Clock: clock.Now, Quotas: map[string]geminitest.Quota{model: {RPM: 6}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	lim, _ := resilience.NewLimiter(resilience.LimiterConfig{Override: resilience.Limits{RPM: 6}, Concurrency: -1, Clock: clock})
	gc, err := gemini.NewClient(context.Background(), gemini.Config{APIKey: "k", BaseURL: sim.URL(),
		Resilience: gemini.Resilience{Limiter: lim, Clock: clock, MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessWith(t, sim, gc)
	results := make([]*mcp.CallToolResult, 12)
	driveParked(sim, clock, 12, func() {
		var wg sync.WaitGroup
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var req mcp.CallToolRequest
				req.Params.Name = "generate_image"
				req.Params.Arguments = map[string]any{"prompt": fmt.Sprintf("kite %d", i), "output": "path"}
				results[i], _ = h.client.CallTool(context.Background(), req)
			}()
		}
		wg.Wait()
	})
	for i, r := range results {
		if r == nil || r.IsError {
			t.Fatalf("call %d failed", i+1)
		}
	}
	var at []time.Time
	for _, r := range sim.Requests() {
		if r.Status != 200 {
			t.Errorf("the simulator answered %d", r.Status)
		}
		at = append(at, r.Time)
	}
	slices.SortFunc(at, time.Time.Compare)
	for i := range at {
		if j := i + 6; j < len(at) && at[j].Sub(at[i]) < time.Minute {
			t.Errorf("7 requests within %v", at[j].Sub(at[i]))
		}
	}
	if span := at[len(at)-1].Sub(at[0]); len(at) != 12 || span < time.Minute || span > 62*time.Second {
		t.Errorf("%d calls, the 12th %v after the first; want about 60 s", len(at), span)
	}
}

func TestEditVariantsFromAnEarlierImageBranchWhereItDid(t *testing.T) {
	h := newHarness(t)
	var gen, second tools.ImageOutput
	structured(t, h.call(t, "generate_image", map[string]any{"prompt": "a cat", "output": "path"}), &gen)
	structured(t, h.call(t, "edit_image", map[string]any{"prompt": "add a hat", "conversation_id": gen.ConversationID, "output": "path"}), &second)
	res := h.call(t, "edit_image", map[string]any{"prompt": "add a scarf", "from_image_id": gen.ImageID, "n": 2, "output": "path"})
	var out tools.ImageOutput
	structured(t, res, &out)
	if res.IsError || len(out.Images) != 2 {
		t.Fatalf("%s", text(res))
	}
	for i, img := range out.Images {
		if img.BranchOf != gen.ConversationID || img.ConversationID == gen.ConversationID || img.Turn != 2 {
			t.Errorf("variant %d: %+v; want a branch of %s after its first turn", i+1, img, gen.ConversationID)
		}
	}
	if out.Images[0].ConversationID == out.Images[1].ConversationID {
		t.Error("both variants in one conversation")
	}
	conv, err := h.opts.Store.Get(context.Background(), gen.ConversationID)
	if img, ok := conv.LatestImage(); err != nil || !ok || img.ID != second.ImageID {
		t.Error("branching moved the original conversation")
	}
}

// A panic in one of n generations fails the call, not the server.
func TestNPanicFailsTheCallNotTheServer(t *testing.T) {
	h := newHarness(t, func(d *tools.Wiring) { d.Gemini = panicky{d.Gemini} })
	res := h.call(t, "generate_image", map[string]any{"prompt": "doomed", "n": 2, "output": "path"})
	if !res.IsError {
		t.Errorf("a panicking set: %s", text(res))
	}
	if res := h.call(t, "explain_error", map[string]any{"error": "503"}); res.IsError {
		t.Error("the server stopped answering after a generation panicked")
	}
}

// After a set, the conversation the top level names is the one an edit without an id
// continues, for generate_image and for edit_image's variants alike.
func TestNEditWithoutIDContinuesTheFirstImage(t *testing.T) {
	h := newHarness(t)
	var gen, ed, next tools.ImageOutput
	structured(t, h.call(t, "generate_image", map[string]any{"prompt": "a boat", "n": 2, "output": "path"}), &gen)
	structured(t, h.call(t, "edit_image", map[string]any{"prompt": "add a sail", "output": "path"}), &ed)
	if ed.ConversationID != gen.ConversationID || ed.Turn != 2 {
		t.Errorf("edit without id continued %s (turn %d); the result named %s", ed.ConversationID, ed.Turn, gen.ConversationID)
	}
	var set tools.ImageOutput
	structured(t, h.call(t, "edit_image", map[string]any{"prompt": "a red sail", "n": 2, "output": "path"}), &set)
	structured(t, h.call(t, "edit_image", map[string]any{"prompt": "a flag", "output": "path"}), &next)
	if set.ConversationID != gen.ConversationID || next.ConversationID != gen.ConversationID || next.Turn != 4 {
		t.Errorf("after edit variants, edit without id continued %s (turn %d); the result named %s",
			next.ConversationID, next.Turn, set.ConversationID)
	}
}

// A grounded set is n grounded requests: the note counts them all, as the cost does.
func TestNGroundedNoteCountsEveryRequest(t *testing.T) {
	h := newHarness(t)
	res := h.call(t, "generate_image", map[string]any{"prompt": "the Eiffel Tower", "n": 2, "google_search": true, "output": "path"})
	var out tools.ImageOutput
	structured(t, res, &out)
	if res.IsError || len(out.Images) != 2 {
		t.Fatalf("%s", text(res))
	}
	notes := strings.Join(out.Notes, " ")
	if !strings.Contains(notes, "$0.028 for 2 calls grounded") || strings.Contains(notes, "$0.014 for") {
		t.Errorf("cost %v, notes %q", out.CostUSD, out.Notes)
	}
	if !strings.Contains(text(res), "$0.028 for 2 calls grounded") {
		t.Errorf("text: %s", text(res))
	}
}

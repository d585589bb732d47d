package tools_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience/resiliencetest"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// batchRig is the batch path on one fake clock: the simulator's batch states, the client's
// clock and the poller all move only when the test advances it.
type batchRig struct {
	*harness
	clock *resiliencetest.FakeClock
	dir   string // batch records
	gc    *gemini.Client
	stop  func()
}

func newBatchRig(t *testing.T, run ...time.Duration) *batchRig {
	t.Helper()
	// Near the wall clock: usage_report looks back from the real now.
	clock := resiliencetest.NewFakeClock(time.Now().UTC().Truncate(time.Second))
	run = append(run, 2*time.Minute)
	sim, err := geminitest.New(geminitest.Config{Clock: clock.Now, BatchQueue: 10 * time.Second, BatchRun: run[0]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	gc, err := gemini.NewClient(context.Background(), gemini.Config{APIKey: "test-key", BaseURL: sim.URL(), Resilience: oneShot, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	r := &batchRig{clock: clock, dir: filepath.Join(t.TempDir(), "batches"), gc: gc, stop: func() {}}
	r.harness = newHarnessWith(t, sim, gc, func(d *tools.Wiring) { d.Batches = r.open(t, d.Images) })
	t.Cleanup(func() { r.stop() })
	return r
}

// open reads the batch records from disk, as a server does at start.
func (r *batchRig) open(t *testing.T, images *session.Images) *tools.Batches {
	t.Helper()
	store, err := session.OpenBatchDir(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	return tools.NewBatches(tools.BatchOptions{API: r.gc, Store: store, Images: images, Clock: r.clock})
}

// startPoller runs the poller of the current Batches until stop.
func (r *batchRig) startPoller() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	b := r.opts.Batches
	go func() { b.Run(ctx); close(done) }()
	r.stop = func() { cancel(); <-done }
}

// restart stops the poller and follows the same records with a fresh Batches and poller.
func (r *batchRig) restart(t *testing.T) {
	r.stop()
	// A restart builds the tools afresh around the same store, images and batch records.
	before := r.opts
	r.harness = newHarnessWith(t, r.sim, r.gc, func(d *tools.Wiring) {
		d.Store, d.Images, d.Inputs = before.Store, before.Images, before.Inputs
		d.Batches = r.open(t, before.Images)
	})
	r.startPoller()
}

// advance moves the clock in poller-sized steps, letting the poller run at each.
func (r *batchRig) advance(d time.Duration) {
	for end := r.clock.Now().Add(d); r.clock.Now().Before(end); {
		r.clock.BlockUntil(1)
		r.clock.Advance(min(5*time.Second, end.Sub(r.clock.Now())))
	}
	r.clock.BlockUntil(1) // the poller has finished its work and waits again
}

func batchRequests(n int) []any {
	sizes := []string{"1K", "2K", "1K", "4K"}
	ratios := []string{"1:1", "16:9", "3:4", "1:1"}
	reqs := make([]any, n)
	for i := range reqs {
		reqs[i] = map[string]any{"prompt": fmt.Sprintf("product shot %d of a ceramic mug", i), "model": "nano-banana-pro",
			"image_size": sizes[i%len(sizes)], "aspect_ratio": ratios[i%len(ratios)], "key": fmt.Sprintf("mug-%02d", i)}
	}
	return reqs
}

func downloads(sim *geminitest.Server) int {
	n := 0
	for _, r := range sim.Requests() {
		if strings.HasSuffix(r.Path, ":download") {
			n++
		}
	}
	return n
}

// Twenty requests, one invalid: refused before anything is submitted, naming the request.
// Fixed, they go as one batch job, are followed across a restart by the poller on the fake
// clock, and yield 20 saved images with ids, counted at batch prices in usage_report.
func TestBatchOfTwentyAcrossRestart(t *testing.T) {
	r := newBatchRig(t)
	reqs := batchRequests(20)
	reqs[7].(map[string]any)["image_size"] = "3K"
	res := r.call(t, "batch_generate", map[string]any{"requests": reqs})
	if !res.IsError || !strings.Contains(text(res), "Request 7 of the batch is invalid") || !strings.Contains(text(res), "3K") {
		t.Fatalf("an invalid request must be refused by index: %s", text(res))
	}
	if n := r.sim.BatchCount(); n != 0 {
		t.Fatalf("%d batches submitted for an invalid list", n)
	}

	reqs[7].(map[string]any)["image_size"] = "2K"
	r.startPoller()
	var out tools.BatchOutput
	structured(t, r.call(t, "batch_generate", map[string]any{"requests": reqs}), &out)
	want := 0.0
	for i := range 20 {
		want += map[string]float64{"1K": 0.067, "2K": 0.067, "4K": 0.12}[reqs[i].(map[string]any)["image_size"].(string)]
	}
	if out.Requests != 20 || out.Jobs != 1 || out.State != "pending" || math.Abs(out.EstimatedUSD-want) > 0.001 {
		t.Fatalf("submitted: %+v (want one job, estimate $%.3f at batch prices)", out, want)
	}
	if r.sim.BatchCount() != 1 {
		t.Fatalf("%d Gemini batches, want 1", r.sim.BatchCount())
	}

	r.advance(30 * time.Second)
	var mid tools.BatchOutput
	structured(t, r.call(t, "get_batch", map[string]any{"batch_id": out.BatchID}), &mid)
	if mid.State != "running" {
		t.Errorf("after 30 s: %s, want running", mid.State)
	}

	r.restart(t)
	r.advance(3 * time.Minute)
	if downloads(r.sim) != 1 {
		t.Fatalf("the poller should have collected the batch by now (%d downloads)", downloads(r.sim))
	}
	res = r.call(t, "get_batch", map[string]any{"batch_id": out.BatchID})
	var done tools.BatchOutput
	structured(t, res, &done)
	if done.State != "succeeded" || done.Done != 20 || len(done.Results) != 20 {
		t.Fatalf("after the restart: %s %+v", text(res), done)
	}
	for i, it := range done.Results {
		if it.ImageID == "" || it.Key != fmt.Sprintf("mug-%02d", i) || it.Index != i {
			t.Errorf("result %d: %+v", i, it)
		}
		if _, err := os.Stat(it.Path); err != nil {
			t.Errorf("result %d not saved: %v", i, err)
		}
	}
	if w := done.Results[1]; w.Width <= w.Height { // request 1 asked for 16:9
		t.Errorf("request 1 (16:9) came back %d×%d: the options did not reach Gemini", w.Width, w.Height)
	}
	if len(res.Content) != 21 {
		t.Errorf("want the summary and 20 resource links, got %d items", len(res.Content))
	}
	deletes := 0
	for _, q := range r.sim.Requests() {
		if q.Method == "DELETE" && strings.Contains(q.Path, "/files/") {
			deletes++
		}
	}
	if deletes != 2 {
		t.Errorf("%d files deleted at Gemini after collection, want 2 (input and output)", deletes)
	}
	r.call(t, "get_batch", map[string]any{"batch_id": out.BatchID})
	if n := downloads(r.sim); n != 1 {
		t.Errorf("fetching the results again downloaded again (%d downloads)", n)
	}
	var usage gemini.UsageReport
	structured(t, r.call(t, "usage_report", map[string]any{}), &usage)
	if usage.BatchImages != 20 || math.Abs(usage.CostUSD-done.CostUSD) > 0.001 || done.CostUSD > want+0.01 {
		t.Errorf("usage_report: %d batch images, $%.4f; batch cost $%.4f (estimate $%.4f)", usage.BatchImages, usage.CostUSD, done.CostUSD, want)
	}
}

// Two failing requests are reported with their categories; the other 18 images come back.
func TestBatchPartialSuccess(t *testing.T) {
	r := newBatchRig(t)
	r.sim.FailBatchRequest("r3", geminitest.ImageSafety())
	r.sim.FailBatchRequest("r11", geminitest.Overloaded())
	r.startPoller()
	reqs := batchRequests(20)
	for _, q := range reqs {
		q.(map[string]any)["image_size"] = "1K" // previews of 4K images are slow under -race
	}
	var out tools.BatchOutput
	structured(t, r.call(t, "batch_generate", map[string]any{"requests": reqs}), &out)
	r.advance(3 * time.Minute)
	res := r.call(t, "get_batch", map[string]any{"batch_id": out.BatchID, "output": "preview"})
	var done tools.BatchOutput
	structured(t, res, &done)
	if done.State != "partially_succeeded" || done.Done != 18 || done.Failed != 2 {
		t.Fatalf("%s\n%+v", text(res), done)
	}
	if c := done.Results[3]; c.Status != "failed" || c.Category != "safety_blocked" {
		t.Errorf("request 3: %+v", c)
	}
	if c := done.Results[11]; c.Status != "failed" || c.Category != "overloaded" {
		t.Errorf("request 11: %+v", c)
	}
	if s := text(res); !strings.Contains(s, "Request 3 (key \"mug-03\") failed (safety_blocked)") || !strings.Contains(s, "Request 11") {
		t.Errorf("the summary must explain each failure: %s", s)
	}
	if len(res.Content) < 2 {
		t.Errorf("previews missing: %d content items", len(res.Content))
	}
}

// The same idempotency key never submits twice; a mixed list becomes one job per model;
// cancel_batch cancels what is still running; list_batches lists the caller's batches.
func TestBatchIdempotencyMixedCancelList(t *testing.T) {
	r := newBatchRig(t)
	reqs := []any{
		map[string]any{"prompt": "an icon of a sun", "model": "nano-banana-pro"},
		map[string]any{"prompt": "an icon of a moon", "model": "nano-banana-2", "image_size": "512"},
		map[string]any{"prompt": "an icon of a star", "model": "nano-banana-pro", "seed": 42},
	}
	var a, b tools.BatchOutput
	structured(t, r.call(t, "batch_generate", map[string]any{"requests": reqs, "idempotency_key": "icons-1"}), &a)
	res := r.call(t, "batch_generate", map[string]any{"requests": reqs, "idempotency_key": "icons-1"})
	structured(t, res, &b)
	if a.BatchID != b.BatchID || r.sim.BatchCount() != 2 || a.Jobs != 2 {
		t.Fatalf("idempotent retry: %s vs %s, %d Gemini batches, %d jobs (want 2: one per model)", a.BatchID, b.BatchID, r.sim.BatchCount(), a.Jobs)
	}
	// The same key with other requests is refused, not answered with the first batch.
	other := r.call(t, "batch_generate", map[string]any{"requests": reqs[:1], "idempotency_key": "icons-1"})
	if !other.IsError || !strings.Contains(text(other), "different requests") || r.sim.BatchCount() != 2 {
		t.Errorf("a reused key with other requests: %s (%d Gemini batches)", text(other), r.sim.BatchCount())
	}
	var c tools.BatchOutput
	res = r.call(t, "cancel_batch", map[string]any{"batch_id": a.BatchID})
	structured(t, res, &c)
	if c.State != "cancelled" || c.Failed != 3 {
		t.Errorf("cancelled: %s %+v", text(res), c)
	}
	var list tools.BatchListOutput
	structured(t, r.call(t, "list_batches", map[string]any{}), &list)
	if len(list.Batches) != 1 || list.Batches[0].BatchID != a.BatchID {
		t.Errorf("list: %+v", list)
	}
	if res := r.call(t, "get_batch", map[string]any{"batch_id": "batch_aaaaaaaaaaaaaaaa"}); !res.IsError || !strings.Contains(text(res), "No batch has the id") {
		t.Errorf("unknown batch: %s", text(res))
	}
}

// The poller polls every few seconds at first and every few minutes later; a batch that Gemini
// lets expire (48 h) ends expired, each request explained.
func TestBatchPollerBacksOffAndExpiry(t *testing.T) {
	r := newBatchRig(t, 72*time.Hour)
	var out tools.BatchOutput
	structured(t, r.call(t, "batch_generate", map[string]any{"requests": batchRequests(2)}), &out)
	r.startPoller() // after the submission, so that its first wait is the batch's first poll
	var waits []time.Duration
	for end := r.clock.Now().Add(72 * time.Hour); r.clock.Now().Before(end); {
		r.clock.BlockUntil(1)
		d, _ := r.clock.AdvanceNext()
		waits = append(waits, d)
		if out, err := r.opts.Batches.State(out.BatchID); err == nil && out != "pending" && out != "running" {
			break
		}
	}
	if len(waits) < 3 || waits[0] != 5*time.Second || waits[1] != 5*time.Second || waits[len(waits)-1] < 5*time.Minute || len(waits) > 400 {
		t.Errorf("poll waits: first %v, last %v, %d polls in all; want seconds at first, minutes later", waits[:min(3, len(waits))], waits[len(waits)-1], len(waits))
	}
	var done tools.BatchOutput
	structured(t, r.call(t, "get_batch", map[string]any{"batch_id": out.BatchID}), &done)
	if done.State != "expired" || done.Failed != 2 || done.Results[0].Category != "timeout" {
		t.Errorf("expired batch: %+v", done)
	}
}

// Output that Gemini no longer keeps (48 hours after the batch ended) is explained, not polled forever.
func TestBatchOutputGone(t *testing.T) {
	r := newBatchRig(t)
	var out tools.BatchOutput
	structured(t, r.call(t, "batch_generate", map[string]any{"requests": batchRequests(2)}), &out)
	r.clock.Advance(50 * time.Hour) // no poller ran meanwhile (the server was down)
	var done tools.BatchOutput
	res := r.call(t, "get_batch", map[string]any{"batch_id": out.BatchID})
	structured(t, res, &done)
	if done.State != "failed" || done.Failed != 2 || !strings.Contains(done.Results[0].Error, "48 hours") {
		t.Errorf("%s\n%+v", text(res), done)
	}
}

// A batch belongs to the principal that submitted it: another principal can neither see,
// list nor cancel it, and is told so exactly as for an unknown id.
func TestBatchOwnership(t *testing.T) {
	r := newBatchRig(t)
	var out tools.BatchOutput
	structured(t, r.call(t, "batch_generate", map[string]any{"requests": batchRequests(1), "idempotency_key": "k"}), &out)
	other := newHarnessAs(t, "bob", r.sim, r.gc, func(d *tools.Wiring) { d.Batches = r.opts.Batches })
	for _, tool := range []string{"get_batch", "cancel_batch"} {
		if res := other.call(t, tool, map[string]any{"batch_id": out.BatchID}); !res.IsError || !strings.Contains(text(res), "No batch has the id") {
			t.Errorf("%s by another principal: %s", tool, text(res))
		}
	}
	var list tools.BatchListOutput
	structured(t, other.call(t, "list_batches", map[string]any{}), &list)
	if len(list.Batches) != 0 {
		t.Errorf("another principal lists %d batches", len(list.Batches))
	}
	var again tools.BatchOutput
	structured(t, other.call(t, "batch_generate", map[string]any{"requests": batchRequests(1), "idempotency_key": "k"}), &again)
	if again.BatchID == out.BatchID || r.sim.BatchCount() != 2 {
		t.Errorf("another principal's idempotency key returned the first principal's batch")
	}
}

// A batch's images belong to the batch's principal: its owner reads them as image:// and by
// image_id; another principal is told they do not exist.
func TestBatchImagesBelongToTheBatchOwner(t *testing.T) {
	r := newBatchRig(t)
	r.startPoller()
	var out tools.BatchOutput
	structured(t, r.call(t, "batch_generate", map[string]any{"requests": batchRequests(1)}), &out)
	r.advance(3 * time.Minute)
	var done tools.BatchOutput
	structured(t, r.call(t, "get_batch", map[string]any{"batch_id": out.BatchID}), &done)
	if done.State != "succeeded" || len(done.Results) != 1 || done.Results[0].ImageID == "" {
		t.Fatalf("batch: %+v", done)
	}
	img := done.Results[0].ImageID
	other := newHarnessAs(t, "bob", r.sim, r.gc, func(d *tools.Wiring) { d.Batches = r.opts.Batches; d.Store = r.opts.Store; d.Images = r.opts.Images })
	var req mcp.ReadResourceRequest
	req.Params.URI = "image://" + img
	if _, err := r.client.ReadResource(context.Background(), req); err != nil {
		t.Errorf("the owner cannot read its batch image: %v", err)
	}
	if _, err := other.client.ReadResource(context.Background(), req); err == nil || !strings.Contains(err.Error(), "no saved image has the id") {
		t.Errorf("another principal read the batch image: %v", err)
	}
	if res := other.call(t, "edit_image", map[string]any{"prompt": "x", "image": img}); !res.IsError || !strings.Contains(text(res), "aved image has the id") {
		t.Errorf("another principal used the batch image as input: %s", text(res))
	}
}

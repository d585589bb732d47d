package tools_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

func TestAsyncGenerationAndGetGeneration(t *testing.T) {
	h := newHarness(t)
	h.sim.Enqueue("", geminitest.Slow(300*time.Millisecond))
	res := h.call(t, "generate_image", map[string]any{"prompt": "a slow castle", "async": true, "output": "path"})
	var pending tools.ImageOutput
	structured(t, res, &pending)
	if res.IsError || pending.JobID == "" || pending.Status != "running" || pending.ExpectedSeconds == 0 ||
		!strings.Contains(text(res), "get_generation") {
		t.Fatalf("async start: %+v %s", pending, text(res))
	}
	res = h.call(t, "get_generation", map[string]any{"job_id": pending.JobID, "wait_seconds": 20})
	var done tools.ImageOutput
	structured(t, res, &done)
	if res.IsError || done.ImageID == "" || done.JobID != "" {
		t.Fatalf("get_generation: %+v %s", done, text(res))
	}
	if _, err := os.Stat(done.Path); err != nil {
		t.Error(err)
	}
	if res := h.call(t, "get_generation", map[string]any{"job_id": "job_nope"}); !res.IsError {
		t.Error("an unknown job id was accepted")
	}
}

// gated holds every generation until released, so a test decides when it ends.
type gated struct {
	tools.Gemini
	release chan struct{}
}

func (g *gated) Generate(ctx context.Context, req gemini.Request) (*gemini.Result, error) {
	<-g.release
	return g.Gemini.Generate(ctx, req)
}

func TestAsyncAfterAnswersWithAJob(t *testing.T) {
	gate := make(chan struct{})
	h := newHarness(t, func(d *tools.Wiring) {
		d.Turns.AsyncAfter = 50 * time.Millisecond
		d.Gemini = &gated{Gemini: d.Gemini, release: gate}
	})
	res := h.call(t, "generate_image", map[string]any{"prompt": "slow", "output": "path"})
	var out tools.ImageOutput
	structured(t, res, &out)
	if out.JobID == "" {
		t.Fatalf("a call past --async-after should answer with a job: %s", text(res))
	}
	close(gate)
	res = h.call(t, "get_generation", map[string]any{"job_id": out.JobID, "wait_seconds": 20})
	var done tools.ImageOutput
	structured(t, res, &done)
	if res.IsError || done.ImageID == "" {
		t.Errorf("%s", text(res))
	}

	h = newHarness(t, func(d *tools.Wiring) { d.Turns.AsyncAfter = time.Minute })
	fast := h.call(t, "generate_image", map[string]any{"prompt": "fast", "output": "path"})
	var direct tools.ImageOutput
	structured(t, fast, &direct)
	if direct.JobID != "" || direct.ImageID == "" {
		t.Errorf("a call that finishes in time answers directly: %s", text(fast))
	}
}

func TestIdempotencyKeyDoesNotPayTwice(t *testing.T) {
	h := newHarness(t)
	args := map[string]any{"prompt": "a kite", "idempotency_key": "req-42", "output": "path"}
	var a, b tools.ImageOutput
	structured(t, h.call(t, "generate_image", args), &a)
	structured(t, h.call(t, "generate_image", args), &b)
	if a.ImageID == "" || a.ImageID != b.ImageID || len(h.sim.Requests()) != 1 {
		t.Errorf("images %s / %s after %d upstream calls; a retried key returns the same result", a.ImageID, b.ImageID, len(h.sim.Requests()))
	}
}

func TestJobsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	jobs, err := tools.OpenJobs(dir, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(d *tools.Wiring) { d.Jobs = jobs })
	res := h.call(t, "generate_image", map[string]any{"prompt": "kept", "async": true, "output": "path"})
	var out tools.ImageOutput
	structured(t, res, &out)
	h.call(t, "get_generation", map[string]any{"job_id": out.JobID, "wait_seconds": 20})
	// A job that was running when the server stopped.
	interrupted := session.NewID("job")
	if err := os.WriteFile(filepath.Join(dir, interrupted+".json"),
		[]byte(`{"id":"`+interrupted+`","tool":"generate_image","status":"running","created":"`+time.Now().Format(time.RFC3339)+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// Files the server did not write survive its loader, whatever they hold.
	foreign := map[string]string{"config.json": "{not json", "notes.json": `{"id":"x"}`, "job_short.json": "old"}
	for name, body := range foreign {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	reopened, err := tools.OpenJobs(dir, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	h2 := newHarness(t, func(d *tools.Wiring) { d.Jobs = reopened })
	res = h2.call(t, "get_generation", map[string]any{"job_id": out.JobID})
	var after tools.ImageOutput
	structured(t, res, &after)
	if res.IsError || after.ImageID == "" {
		t.Errorf("a finished job after restart: %s", text(res))
	}
	res = h2.call(t, "get_generation", map[string]any{"job_id": interrupted})
	if !res.IsError || !strings.Contains(text(res), "restarted") {
		t.Errorf("an interrupted job: %s", text(res))
	}
	for name, body := range foreign {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != body {
			t.Errorf("the job loader touched %s, a file it did not write: %q, %v", name, got, err)
		}
	}
}

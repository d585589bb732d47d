package tools_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

type jobClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *jobClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *jobClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func startJob(t *testing.T, h *harness, args map[string]any) string {
	t.Helper()
	args["async"] = true
	var out tools.ImageOutput
	structured(t, h.call(t, "generate_image", args), &out)
	if out.JobID == "" {
		t.Fatalf("no job for %v", args)
	}
	return out.JobID
}

// Finished jobs past their TTL go while the server runs, with their files, not only at the
// next start.
func TestJobsEvictedWhileRunning(t *testing.T) {
	dir := t.TempDir()
	jobs, err := tools.OpenJobs(dir, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := &jobClock{t: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	jobs.SetClock(clock.Now)
	h := newHarness(t, func(d *tools.Wiring) { d.Jobs = jobs })
	old := startJob(t, h, map[string]any{"prompt": "old", "output": "path"})
	if res := h.call(t, "get_generation", map[string]any{"job_id": old, "wait_seconds": 20}); res.IsError {
		t.Fatal(text(res))
	}
	clock.Advance(2 * time.Hour)
	fresh := startJob(t, h, map[string]any{"prompt": "new", "output": "path"})
	defer h.call(t, "get_generation", map[string]any{"job_id": fresh, "wait_seconds": 20}) // ends before the directory goes
	if jobs.Len() != 1 {
		t.Errorf("%d jobs kept; the expired one should be gone", jobs.Len())
	}
	if res := h.call(t, "get_generation", map[string]any{"job_id": old}); !res.IsError {
		t.Errorf("an evicted job still answers: %s", text(res))
	}
	if _, err := os.Stat(filepath.Join(dir, old+".json")); !os.IsNotExist(err) {
		t.Errorf("the evicted job's file is still there: %v", err)
	}
}

// A job keeps its result by reference: the image is already saved, so neither the job file
// nor memory holds its bytes, and get_generation rebuilds the inline image from the file.
func TestJobResultsKeptByReference(t *testing.T) {
	dir := t.TempDir()
	jobs, err := tools.OpenJobs(dir, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(d *tools.Wiring) { d.Jobs = jobs })
	for _, mode := range []string{"full", "preview"} {
		id := startJob(t, h, map[string]any{"prompt": "a " + mode + " kite", "output": mode})
		res := h.call(t, "get_generation", map[string]any{"job_id": id, "wait_seconds": 20})
		var out tools.ImageOutput
		structured(t, res, &out)
		saved, err := os.ReadFile(out.Path)
		if res.IsError || err != nil {
			t.Fatalf("%s: %s %v", mode, text(res), err)
		}
		var inline []byte
		for _, c := range res.Content {
			if img, ok := c.(mcp.ImageContent); ok {
				inline, _ = base64.StdEncoding.DecodeString(img.Data)
			}
		}
		if len(inline) == 0 || (mode == "full") != bytes.Equal(inline, saved) {
			t.Errorf("%s: the fetched result carries %d inline bytes (saved image %d)", mode, len(inline), len(saved))
		}
		file, _ := os.ReadFile(filepath.Join(dir, id+".json"))
		if len(file) == 0 || len(file) > 4096 || strings.Contains(string(file), base64.StdEncoding.EncodeToString(inline[:64])) {
			t.Errorf("%s: the job file is %d bytes; it should name the image, not hold it", mode, len(file))
		}
	}
}

// panicky stands for a bug deep in a generation.
type panicky struct{ tools.Gemini }

func (panicky) Generate(context.Context, gemini.Request) (*gemini.Result, error) { panic("boom") }

func TestPanicInAJobFailsTheJobNotTheServer(t *testing.T) {
	h := newHarness(t, func(d *tools.Wiring) { d.Gemini = panicky{d.Gemini} })
	id := startJob(t, h, map[string]any{"prompt": "doomed", "output": "path"})
	res := h.call(t, "get_generation", map[string]any{"job_id": id, "wait_seconds": 20})
	if !res.IsError || !strings.Contains(text(res), "internal error") {
		t.Errorf("a panicking job: %s", text(res))
	}
	if res := h.call(t, "explain_error", map[string]any{"error": "503"}); res.IsError {
		t.Error("the server stopped answering after a job panicked")
	}
}

// A running job's result carries the job's fields only: no empty path, ids or usage that a
// client's model could read as a finished call that produced nothing.
func TestPendingResultCarriesOnlyTheJob(t *testing.T) {
	h := newHarness(t)
	res := h.call(t, "generate_image", map[string]any{"prompt": "a kite", "async": true, "output": "path"})
	var got map[string]any
	structured(t, res, &got)
	if got["job_id"] == "" || got["job_id"] == nil || got["status"] != "running" {
		t.Fatalf("pending result %v: want job_id and status running", got)
	}
	defer h.call(t, "get_generation", map[string]any{"job_id": got["job_id"], "wait_seconds": 20}) // ends before the directory goes
	for _, k := range []string{"path", "conversation_id", "image_id", "usage", "cost_usd"} {
		if _, ok := got[k]; ok {
			t.Errorf("pending result carries %q: %v", k, got)
		}
	}
}

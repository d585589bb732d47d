//go:build unix

package tools_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// A FIFO inside an allowed root (the temporary directory is one by default) used to block the
// open forever, one worker per call, until the server stopped answering. It is refused at once.
func TestFIFOAsInputImageIsRefusedWithoutBlocking(t *testing.T) {
	h := newHarness(t)
	fifo := filepath.Join(h.outDir, "fifo.png")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	// If a call does block (the old behaviour), a writer releases it so the test can end.
	t.Cleanup(func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			_ = f.Close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var req mcp.CallToolRequest
			req.Params.Name = "edit_image"
			req.Params.Arguments = map[string]any{"prompt": "x", "image": fifo}
			res, err := h.client.CallTool(ctx, req)
			switch {
			case err != nil:
				errs <- "call did not return: " + err.Error()
			case !res.IsError || !strings.Contains(text(res), "not a regular file"):
				errs <- "got " + text(res)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("edit_image with a FIFO as its image did not answer within 5 s")
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if res := h.call(t, "list_models", map[string]any{}); res.IsError {
		t.Errorf("the server stopped answering: %s", text(res))
	}
}

// Outside the roots, missing, and unreadable all answer alike: the answer is no oracle for
// what exists elsewhere on the machine, and it says where images may come from.
func TestPathRefusalsRevealNothingOutsideTheRoots(t *testing.T) {
	h := newHarness(t)
	elsewhere := t.TempDir()
	exists := filepath.Join(elsewhere, "real.png")
	if err := os.WriteFile(exists, []byte("\x89PNG\r\n\x1a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(elsewhere, "missing.png")
	locked := filepath.Join(h.outDir, "locked.png")
	if err := os.WriteFile(locked, []byte("\x89PNG\r\n\x1a\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	answer := func(p string) string {
		res := h.call(t, "generate_image", map[string]any{"prompt": "x", "images": []any{p}})
		return strings.ReplaceAll(text(res), p, "PATH")
	}
	want := "Image 1: Not readable here: PATH; images may come from: " + h.outDir + "."
	for _, p := range []string{exists, missing, "/etc/passwd", "/proc/self/environ", filepath.Join(h.outDir, "..", filepath.Base(elsewhere), "real.png")} {
		if got := answer(p); !strings.HasPrefix(got, want) {
			t.Errorf("%s: got %q, want it to start %q", p, got, want)
		}
	}
	if os.Geteuid() != 0 {
		if got := answer(locked); !strings.HasPrefix(got, want) {
			t.Errorf("unreadable file: got %q", got)
		}
	}
}

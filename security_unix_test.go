//go:build unix

package main

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

// The attack's reproduction: a FIFO in the temporary directory (a default root over stdio)
// given as edit_image's image four times with --workers 4 used to freeze the whole server.
func TestStdioFIFOInputDoesNotFreezeTheServer(t *testing.T) {
	tmp := t.TempDir()
	fifo := filepath.Join(tmp, "fifo.png")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	t.Cleanup(func() { // releases blocked opens if the behaviour ever regresses
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			_ = f.Close()
		}
	})
	c := startStdio(t, []string{"HOME=" + t.TempDir(), "TMPDIR=" + tmp}, "--simulate", "--workers", "4")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	problems := make(chan string, 5)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var req mcp.CallToolRequest
			req.Params.Name = "edit_image"
			req.Params.Arguments = map[string]any{"prompt": "x", "image": fifo}
			res, err := c.CallTool(ctx, req)
			if err != nil {
				problems <- "edit_image: " + err.Error()
			} else if !res.IsError || !strings.Contains(res.Content[0].(mcp.TextContent).Text, "not a regular file") {
				problems <- "edit_image answered " + res.Content[0].(mcp.TextContent).Text
			}
		}()
	}
	wg.Wait()
	if _, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil {
		problems <- "the server stopped answering: " + err.Error()
	}
	close(problems)
	for p := range problems {
		t.Error(p)
	}
}

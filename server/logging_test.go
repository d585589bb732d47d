package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/session"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// The server advertises logging, so it logs what a user wants in the client's log — what was
// changed on the way, and failures — at the level the client set. Every tool has a top-level
// title, and progress comes at least every 8 s by default.
func TestLoggingTitlesAndProgressDefaults(t *testing.T) {
	gc := simulatedGemini(t)
	s := New(Options{Name: "t", Version: "1", Tools: tools.New(tools.Wiring{Gemini: gc, Images: &session.Images{Dir: t.TempDir()}}).All()})
	// That an unset interval takes this default is TestProgressEveryDefault in tools.
	if tools.DefaultProgressEvery > 8e9 {
		t.Errorf("progress every %v by default; clients give up after 10 s", tools.DefaultProgressEvery)
	}
	c, err := client.NewInProcessClient(s.mcp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	var mu sync.Mutex
	var logs []string
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == string(mcp.MethodNotificationMessage) {
			mu.Lock()
			logs = append(logs, fmt.Sprint(n.Params.AdditionalFields["level"], " ", n.Params.AdditionalFields["data"]))
			mu.Unlock()
		}
	})
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var init mcp.InitializeRequest
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "t", Version: "0"}
	res, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatal(err)
	}
	if res.Capabilities.Logging == nil {
		t.Fatal("logging is not advertised")
	}
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range list.Tools {
		if tl.Title == "" {
			t.Errorf("%s has no top-level title", tl.Name)
		}
	}
	var lvl mcp.SetLevelRequest
	lvl.Params.Level = mcp.LoggingLevelInfo
	if err := c.SetLevel(ctx, lvl); err != nil {
		t.Fatal(err)
	}
	call := func(args map[string]any) {
		var req mcp.CallToolRequest
		req.Params.Name, req.Params.Arguments = "generate_image", args
		if _, err := c.CallTool(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	call(map[string]any{"prompt": "a kite", "image_size": "2k", "output": "path"})
	call(map[string]any{"prompt": "a kite", "aspectRatio": "16:9"})
	// Notifications arrive on their own goroutine, possibly after the result.
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		got = strings.Join(logs, "\n")
		mu.Unlock()
		if strings.Contains(got, "notice image_size \"2k\" was normalised") && strings.Contains(got, `warning generate_image: unknown argument "aspectRatio"`) {
			return
		}
	}
	t.Errorf("client log:\n%s", got)
}

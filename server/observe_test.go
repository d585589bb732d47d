package server

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

type observed struct {
	mu       sync.Mutex
	inflight int
	ended    []string // tool/outcome/category
}

func (o *observed) CallStarted(string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.inflight++
}

func (o *observed) CallFinished(tool, outcome, category string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.inflight--
	o.ended = append(o.ended, tool+"/"+outcome+"/"+category)
}

// Every tool call is seen to start and end with its outcome: a success, a tool failure with
// its Diagnosis's category, a handler that panics (answered by the recovery) and one whose
// caller cancelled.
func TestCallObserverSeesOutcomesAndCategories(t *testing.T) {
	obs := &observed{}
	list := []tools.Tool{
		{Tool: mcp.NewTool("fine"), Handler: func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("done"), nil
		}},
		{Tool: mcp.NewTool("refused"), Handler: func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{mcp.NewTextContent("no")},
				StructuredContent: apierrors.Diagnosis{Category: apierrors.InvalidRequest}}, nil
		}},
		{Tool: mcp.NewTool("boom"), Handler: func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			panic("a bug")
		}},
		{Tool: mcp.NewTool("gone"), Handler: func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return nil, context.Canceled
		}},
	}
	s := New(Options{Name: "test", Version: "1", Tools: list, Calls: obs})
	c, err := client.NewInProcessClient(s.mcp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	initClient(t, c)
	for _, name := range []string{"fine", "refused", "boom", "gone"} {
		var req mcp.CallToolRequest
		req.Params.Name = name
		_, _ = c.CallTool(context.Background(), req)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	want := []string{"fine/ok/", "refused/error/invalid_request", "boom/error/unknown", "gone/cancelled/"}
	if len(obs.ended) != len(want) {
		t.Fatalf("ended %v, want %v", obs.ended, want)
	}
	for i := range want {
		if obs.ended[i] != want[i] {
			t.Errorf("call %d ended %s, want %s", i, obs.ended[i], want[i])
		}
	}
	if obs.inflight != 0 {
		t.Errorf("%d calls still counted in flight after all ended", obs.inflight)
	}
}

// /metrics on the MCP listener asks for the same bearer token as /mcp.
func TestMetricsBehindTheBearerToken(t *testing.T) {
	s := New(Options{Name: "test", Version: "1"})
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := make(chan string, 1), make(chan error, 1)
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("up 1\n")) })
	go func() {
		done <- s.ServeHTTP(ctx, HTTPOptions{Addr: "127.0.0.1:0", Security: Security{Token: "s3cret"}, Metrics: metrics,
			Ready: func(a string) { addr <- a }})
	}()
	url := "http://" + <-addr + "/metrics"
	t.Cleanup(func() { cancel(); <-done })
	for token, want := range map[string]int{"": http.StatusUnauthorized, "nope": http.StatusUnauthorized, "s3cret": http.StatusOK} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("token %q: status %d, want %d", token, resp.StatusCode, want)
		}
	}
}

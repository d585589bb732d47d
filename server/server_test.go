package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// testTools: "echo" answers at once; "wait" blocks until released or cancelled and records
// which happened.
type testTools struct {
	release   chan struct{}
	started   chan struct{}
	cancelled atomic.Int32
	finished  atomic.Int32
}

func newTestTools() *testTools {
	return &testTools{release: make(chan struct{}), started: make(chan struct{}, 10)}
}

func (tt *testTools) list() []tools.Tool {
	echo := mcp.NewTool("echo", mcp.WithString("text"))
	wait := mcp.NewTool("wait")
	return []tools.Tool{
		{Tool: echo, Handler: func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("echo: " + req.GetString("text", "")), nil
		}},
		{Tool: wait, Handler: func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			tt.started <- struct{}{}
			select {
			case <-tt.release:
				tt.finished.Add(1)
				return mcp.NewToolResultText("done"), nil
			case <-ctx.Done():
				tt.cancelled.Add(1)
				return nil, ctx.Err()
			}
		}},
	}
}

type running struct {
	url  string
	stop context.CancelFunc
	done chan error
}

func serve(t *testing.T, tt *testTools, sec Security, grace time.Duration) *running {
	t.Helper()
	s := New(Options{Name: "test", Version: "1", Tools: tt.list(), Grace: grace})
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.ServeHTTP(ctx, HTTPOptions{Addr: "127.0.0.1:0", Security: sec, KeepAlive: time.Hour,
			Health: func() HealthState { return HealthState{Upstream: "simulator", KeyPresent: true, Ready: true} },
			Ready:  func(a string) { addr <- a }})
	}()
	r := &running{url: "http://" + <-addr, stop: cancel, done: done}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return r
}

func initClient(t *testing.T, c *client.Client) {
	t.Helper()
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var init mcp.InitializeRequest
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "0"}
	if _, err := c.Initialize(context.Background(), init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
}

func echo(t *testing.T, c *client.Client) string {
	t.Helper()
	var req mcp.CallToolRequest
	req.Params.Name = "echo"
	req.Params.Arguments = map[string]any{"text": "hi"}
	res, err := c.CallTool(context.Background(), req)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	return res.Content[0].(mcp.TextContent).Text
}

func TestStreamableHTTPWithToken(t *testing.T) {
	r := serve(t, newTestTools(), Security{Token: "s3cret"}, time.Second)
	c, err := client.NewStreamableHttpClient(r.url+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	initClient(t, c)
	if got := echo(t, c); got != "echo: hi" {
		t.Errorf("echo = %q", got)
	}

	for name, hdr := range map[string]string{"no token": "", "wrong token": "Bearer nope", "basic": "Basic s3cret"} {
		req, _ := http.NewRequest(http.MethodPost, r.url+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		if hdr != "" {
			req.Header.Set("Authorization", hdr)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: status %d", name, resp.StatusCode)
		}
	}
	resp, err := http.Get(r.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Status   string      `json:"status"`
		Upstream HealthState `json:"upstream"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if resp.StatusCode != 200 || h.Status != "ok" || h.Upstream.Upstream != "simulator" {
		t.Errorf("healthz (no token needed): %d %+v", resp.StatusCode, h)
	}
}

// A 2026-07-28 client has no session; mcp-go's Go client negotiates it by default.
func TestStreamableHTTPStatelessClient(t *testing.T) {
	r := serve(t, newTestTools(), Security{}, time.Second)
	c, err := client.NewStreamableHttpClient(r.url + "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var init mcp.InitializeRequest
	init.Params.ClientInfo = mcp.Implementation{Name: "modern", Version: "0"}
	if _, err := c.Initialize(context.Background(), init); err != nil {
		t.Fatal(err)
	}
	if got := echo(t, c); got != "echo: hi" {
		t.Errorf("echo = %q", got)
	}
}

func TestSSETransport(t *testing.T) {
	r := serve(t, newTestTools(), Security{Token: "tok"}, time.Second)
	c, err := client.NewSSEMCPClient(r.url+"/sse", transport.WithHeaders(map[string]string{"Authorization": "Bearer tok"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	initClient(t, c)
	if got := echo(t, c); got != "echo: hi" {
		t.Errorf("echo = %q", got)
	}
	resp, err := http.Get(r.url + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("SSE without token: %d", resp.StatusCode)
	}
}

// mcp-go detaches SSE handlers from the connection; we cancel a client's calls when its
// stream goes away.
func TestSSEDisconnectCancelsRunningCall(t *testing.T) {
	tt := newTestTools()
	r := serve(t, tt, Security{}, time.Second)
	c, err := client.NewSSEMCPClient(r.url + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	initClient(t, c)
	go func() {
		var req mcp.CallToolRequest
		req.Params.Name = "wait"
		_, _ = c.CallTool(context.Background(), req)
	}()
	<-tt.started
	_ = c.Close()
	waitFor(t, func() bool { return tt.cancelled.Load() == 1 }, "the call kept running after its client disconnected")
}

// waitFor polls for something another goroutine does; the bound is generous and only reached
// when the behaviour is missing.
func waitFor(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestGuardRejectsBadOriginsAndBodies(t *testing.T) {
	r := serve(t, newTestTools(), Security{MaxBody: 1024, AllowedOrigins: []string{"https://app.example"}}, time.Second)
	post := func(origin, body string) int {
		req, _ := http.NewRequest(http.MethodPost, r.url+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	initBody := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"0"}}}`
	if got := post("http://evil.example", initBody); got != http.StatusForbidden {
		t.Errorf("foreign origin: %d", got)
	}
	for _, ok := range []string{"", "http://localhost:6274", "https://app.example"} {
		if got := post(ok, initBody); got != http.StatusOK {
			t.Errorf("origin %q: %d", ok, got)
		}
	}
	if got := post("", `{"x":"`+strings.Repeat("a", 2048)+`"}`); got != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", got)
	}
	// A session-less cancellation could hit another client's request with the same id.
	if got := post("", `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`); got != http.StatusAccepted {
		t.Errorf("session-less cancel: %d", got)
	}
}

func TestShutdownLetsCallsFinishThenCancels(t *testing.T) {
	tt := newTestTools()
	r := serve(t, tt, Security{}, 200*time.Millisecond)
	c, err := client.NewStreamableHttpClient(r.url + "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	initClient(t, c)
	results := make(chan error, 1)
	go func() {
		var req mcp.CallToolRequest
		req.Params.Name = "wait"
		_, err := c.CallTool(context.Background(), req)
		results <- err
	}()
	<-tt.started
	r.stop()
	// The listener closes at once: new connections are refused while the call drains.
	waitFor(t, func() bool {
		resp, err := http.Post(r.url+"/mcp", "application/json", bytes.NewReader([]byte("{}")))
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	}, "new connections were still accepted during shutdown")
	close(tt.release) // the call finishes within the grace period
	if err := <-results; err != nil {
		t.Errorf("call in flight during shutdown: %v", err)
	}
	if err := <-r.done; err != nil {
		t.Errorf("ServeHTTP: %v", err)
	}
	r.done <- nil // for Cleanup
	if tt.finished.Load() != 1 || tt.cancelled.Load() != 0 {
		t.Errorf("finished %d cancelled %d", tt.finished.Load(), tt.cancelled.Load())
	}
}

func TestShutdownCancelsCallsPastGrace(t *testing.T) {
	tt := newTestTools()
	s := New(Options{Tools: tt.list(), Grace: 50 * time.Millisecond})
	c, err := client.NewInProcessClient(s.mcp)
	if err != nil {
		t.Fatal(err)
	}
	initClient(t, c)
	go func() {
		var req mcp.CallToolRequest
		req.Params.Name = "wait"
		_, _ = c.CallTool(context.Background(), req)
	}()
	<-tt.started
	s.shutdownCalls()
	waitFor(t, func() bool { return tt.cancelled.Load() == 1 }, "a call past the grace period was not cancelled")
}

func TestIdleSessionsExpire(t *testing.T) {
	s := New(Options{Tools: newTestTools().list(), Grace: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.ServeHTTP(ctx, HTTPOptions{Addr: "127.0.0.1:0", SessionTTL: 50 * time.Millisecond, Ready: func(a string) { addr <- a }})
	}()
	t.Cleanup(func() { cancel(); <-done })
	url := "http://" + <-addr + "/mcp"
	post := func(session, body string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
			req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		}
		return http.DefaultClient.Do(req)
	}
	resp, err := post("", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"0"}}}`)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("Mcp-Session-Id")
	if id == "" {
		t.Fatal("no session id")
	}
	// mcp-go sweeps idle sessions once a second, and any request refreshes the session, so
	// look at most once per sweep interval; a slow machine only takes more rounds.
	for round := 0; ; round++ {
		time.Sleep(1200 * time.Millisecond)
		resp, err = post(id, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return
		}
		if round == 8 {
			t.Fatalf("an idle session still answered %d long after its TTL; want 404", resp.StatusCode)
		}
	}
}

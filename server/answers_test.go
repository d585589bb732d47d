package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/session"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// Over Streamable HTTP, a request the client cancelled gets no response, and an unknown image
// resource is -32002.
func TestHTTPDoesNotAnswerCancelledRequests(t *testing.T) {
	tt := newTestTools()
	set := tools.New(tools.Wiring{Images: &session.Images{Dir: t.TempDir()}})
	s := New(Options{Name: "t", Version: "1", Tools: tt.list(), Templates: set.ResourceTemplates()})
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- s.ServeHTTP(ctx, HTTPOptions{Addr: "127.0.0.1:0", KeepAlive: time.Hour, Ready: func(a string) { addr <- a }})
	}()
	t.Cleanup(func() { cancel(); <-done })
	url := "http://" + <-addr + "/mcp"

	sessionID := ""
	post := func(body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if sessionID != "" {
			req.Header.Set("Mcp-Session-Id", sessionID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if id := resp.Header.Get("Mcp-Session-Id"); id != "" {
			sessionID = id
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"0"}}}`)
	if sessionID == "" {
		t.Fatal("no session")
	}
	post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)

	answer := make(chan string, 1)
	go func() {
		_, body := post(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wait","arguments":{}}}`)
		answer <- body
	}()
	<-tt.started
	post(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2,"reason":"user"}}`)
	if body := <-answer; strings.Contains(body, `"id":2`) {
		t.Errorf("the cancelled request was answered: %s", body)
	}

	_, body := post(`{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"image://` + session.NewID("img") + `"}}`)
	if !strings.Contains(body, `"code":-32002`) || !strings.Contains(body, "no saved image") {
		t.Errorf("unknown image: %s; want code -32002", body)
	}
}

package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("descriptor counting needs /proc")
	}
	return len(ents)
}

// stall sends a request head promising a body it never sends, and returns the status the
// server answered and whether it then closed the connection, both within the bound.
func stall(t *testing.T, addr, head string, bound time.Duration) (status int, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(bound))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		// Closed without an answer (over the connection cap) is fine; held until the bound is not.
		var ne net.Error
		return 0, !(errors.As(err, &ne) && ne.Timeout())
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_, err = br.ReadByte()
	return resp.StatusCode, err == io.EOF
}

// Slowloris: requests that promise a body and never send it are answered and their
// connections closed within the body deadline, on every endpoint, with or without a token,
// and the descriptors they held come back.
func TestStalledBodiesAreCutWithinTheDeadline(t *testing.T) {
	r := serve(t, newTestTools(), Security{Token: "the-token", BodyTimeout: 200 * time.Millisecond}, time.Second)
	addr := strings.TrimPrefix(r.url, "http://")
	before := openFDs(t)
	const bound = 3 * time.Second // far above the 200 ms deadline, far below "never"
	head := func(path, extra string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\n" + extra +
			"Content-Length: 1000\r\n\r\n"
	}
	cases := []struct {
		name, head string
		status     int
	}{
		{"no token", head("/mcp", ""), http.StatusUnauthorized},
		{"token, stalled body", head("/mcp", "Authorization: Bearer the-token\r\n"), http.StatusBadRequest},
		{"legacy SSE endpoint", head("/message?sessionId=x", "Authorization: Bearer the-token\r\n"), http.StatusBadRequest},
		{"health check", head("/healthz", ""), http.StatusOK},
		{"no such endpoint", head("/images/img_x.png", ""), http.StatusNotFound},
	}
	for _, c := range cases {
		start := time.Now()
		status, closed := stall(t, addr, c.head, bound)
		if status != c.status || !closed {
			t.Errorf("%s: status %d, closed %v after %v; want %d and the connection closed", c.name, status, closed,
				time.Since(start).Round(time.Millisecond), c.status)
		}
	}
	// Many at once, as an attacker would.
	done := make(chan bool, 40)
	for i := 0; i < 40; i++ {
		go func() {
			_, closed := stall(t, addr, head("/mcp", ""), bound)
			done <- closed
		}()
	}
	for i := 0; i < 40; i++ {
		if !<-done {
			t.Error("a stalled connection was held past the bound")
		}
	}
	waitFor(t, func() bool { return openFDs(t) <= before+2 }, "descriptors did not return to the baseline")
}

// Connections that have not yet got a request past the guard are capped per address: more are
// closed on arrival, and places come back as they close or authenticate.
func TestUnauthenticatedConnectionsAreCapped(t *testing.T) {
	r := serve(t, newTestTools(), Security{Token: "the-token", MaxUnauthConnsPerIP: 4}, time.Second)
	addr := strings.TrimPrefix(r.url, "http://")
	var idle []net.Conn
	for i := 0; i < 4; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = extra.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the connection over the cap was not closed at once: %v", err)
	}
	extra.Close()
	for _, c := range idle {
		c.Close()
	}
	waitFor(t, func() bool {
		resp, err := http.Get(r.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "places were not released when the idle connections closed")
}

// A JSON-RPC batch gets a JSON-RPC error that says what to do, not "not valid json".
func TestJSONRPCBatchGetsAJSONRPCError(t *testing.T) {
	r := serve(t, newTestTools(), Security{}, time.Second)
	body := ` [{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}]`
	resp, err := http.Post(r.url+"/mcp", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var msg struct {
		JSONRPC string `json:"jsonrpc"`
		ID      any    `json:"id"`
		Error   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&msg); err != nil {
		t.Fatal(err)
	}
	if msg.JSONRPC != "2.0" || msg.ID != nil || msg.Error.Code != -32600 || !strings.Contains(msg.Error.Message, "one request per HTTP POST") {
		t.Errorf("got %d %+v", resp.StatusCode, msg)
	}
}

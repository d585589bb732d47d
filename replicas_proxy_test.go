package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"syscall"
	"testing"
)

// roundRobin is the load balancer of the multi-replica test: a plain round-robin reverse
// proxy with no session affinity, as a 2026-07-28 deployment needs. Like nginx's default
// proxy_next_upstream error, a replica that refuses the connection (killed) is skipped and the
// request goes to the next; a replica that dies after taking a request fails that request.
// It records which replica served each tools/call, so the test can tell that a conversation
// moved between replicas.
type roundRobin struct {
	srv *httptest.Server

	mu       sync.Mutex
	backends []*url.URL
	next     int
	calls    []int // replica index of each tools/call, in order
}

func newRoundRobin(t *testing.T) *roundRobin {
	t.Helper()
	p := &roundRobin{}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.Out.URL.Scheme, r.Out.URL.Host = "http", "replica" },
		Transport:     p,
		FlushInterval: -1, // tool calls may answer as an event stream (progress)
		ErrorLog:      nil,
	}
	p.srv = httptest.NewServer(rp)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *roundRobin) URL() string { return p.srv.URL }

func (p *roundRobin) add(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends = append(p.backends, &url.URL{Scheme: "http", Host: addr})
}

// lastCall is the replica that served the latest tools/call.
func (p *roundRobin) lastCall() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.calls) == 0 {
		return -1
	}
	return p.calls[len(p.calls)-1]
}

// RoundTrip sends the request to the next replica in turn, skipping those that refuse the
// connection. The body is buffered so that it can be sent again.
func (p *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
	}
	p.mu.Lock()
	n := len(p.backends)
	p.mu.Unlock()
	var last error = errors.New("no replicas")
	for range n {
		p.mu.Lock()
		i := p.next % n
		p.next++
		target := p.backends[i]
		p.mu.Unlock()
		out := req.Clone(req.Context())
		out.URL.Scheme, out.URL.Host, out.Host = target.Scheme, target.Host, ""
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil && errors.Is(err, syscall.ECONNREFUSED) {
			last = err
			continue
		}
		if err == nil && bytes.Contains(body, []byte(`"tools/call"`)) {
			p.mu.Lock()
			p.calls = append(p.calls, i)
			p.mu.Unlock()
		}
		return resp, err
	}
	return nil, last
}

package server

import (
	"context"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// inflight tracks running tool calls so that they can be cancelled when their client goes
// away (mcp-go detaches SSE handlers from the connection) and waited for on shutdown.
type inflight struct {
	mu       sync.Mutex
	next     uint64
	calls    map[uint64]call
	draining bool
	idle     chan struct{} // closed and replaced whenever the count drops to zero
}

type call struct {
	session string
	cancel  context.CancelFunc
}

func newInflight() *inflight {
	return &inflight{calls: map[uint64]call{}, idle: make(chan struct{})}
}

// middleware gives every tool call a cancel function registered under its session.
func (f *inflight) middleware(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		ctx, cancel := context.WithCancel(ctx)
		f.mu.Lock()
		f.next++
		key := f.next
		f.calls[key] = call{session: sessionID(ctx), cancel: cancel}
		f.mu.Unlock()
		defer func() {
			cancel()
			f.mu.Lock()
			delete(f.calls, key)
			if len(f.calls) == 0 {
				close(f.idle)
				f.idle = make(chan struct{})
			}
			f.mu.Unlock()
		}()
		return next(ctx, req)
	}
}

// cancelSession cancels the calls of a client that went away, unless the server is draining
// (then in-flight calls are allowed to finish).
func (f *inflight) cancelSession(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.draining || id == "" {
		return
	}
	for _, c := range f.calls {
		if c.session == id {
			c.cancel()
		}
	}
}

// drain stops session-loss cancellation and waits until no call runs or ctx ends; then it
// cancels whatever still runs. It reports how many calls had to be cancelled.
func (f *inflight) drain(ctx context.Context) int {
	f.mu.Lock()
	f.draining = true
	n, idle := len(f.calls), f.idle
	f.mu.Unlock()
	if n == 0 {
		return 0
	}
	select {
	case <-idle:
		return 0
	case <-ctx.Done():
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		c.cancel()
	}
	return len(f.calls)
}

// running returns the number of calls in flight.
func (f *inflight) running() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func sessionID(ctx context.Context) string {
	if cs := mcpserver.ClientSessionFromContext(ctx); cs != nil {
		return cs.SessionID()
	}
	return ""
}

package tools

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// progress sends notifications/progress while a call runs, when the client asked for them
// with a progress token. Clients that reset their timeout on progress (Claude Code, Cherry
// Studio's long-running mode, TS SDK clients with resetTimeoutOnProgress) keep the call alive
// only with these.
type progress struct {
	ctx   context.Context
	token mcp.ProgressToken
	srv   *server.MCPServer
	mu    sync.Mutex
	step  float64
	total float64
	gate  *progressGate // closed when the request was answered and a job goes on
}

func newProgress(ctx context.Context, req mcp.CallToolRequest, total float64, gate *progressGate) *progress {
	p := &progress{ctx: ctx, total: total, srv: server.ServerFromContext(ctx), gate: gate}
	if req.Params.Meta != nil {
		p.token = req.Params.Meta.ProgressToken
	}
	return p
}

// report sends one notification; progress only ever increases, as the spec requires.
func (p *progress) report(step float64, msg string) {
	if p.token == nil || p.srv == nil || (p.gate != nil && p.gate.closed.Load()) || p.ctx.Err() != nil {
		return // nobody waits for progress on a cancelled request
	}
	p.mu.Lock()
	if step <= p.step {
		step = p.step + 0.01
	}
	p.step = step
	p.mu.Unlock()
	_ = p.srv.SendNotificationToClient(p.ctx, "notifications/progress", map[string]any{
		"progressToken": p.token, "progress": step, "total": p.total, "message": msg,
	})
}

// heartbeat reports every interval until stop is called, saying how long the call has run.
func (p *progress) heartbeat(every time.Duration, step float64, what string) (stop func()) {
	if p.token == nil {
		return func() {}
	}
	done := make(chan struct{})
	var once sync.Once
	start := time.Now()
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-p.ctx.Done():
				return
			case <-t.C:
				p.report(step, fmt.Sprintf("%s (%d s so far)", what, int(time.Since(start).Seconds())))
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}

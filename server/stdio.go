package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"

	mcpserver "github.com/mark3labs/mcp-go/server"
)

// ServeStdio serves on in/out until the client closes its end or ctx ends. On ctx's end,
// calls in flight get the grace period to finish before they are cancelled; at the end of
// input they are cancelled at once and nothing more is written. A request the client
// cancelled gets no response. Nothing but protocol reaches out.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	stdio := mcpserver.NewStdioServer(s.mcp)
	workers := s.opts.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	mcpserver.WithWorkerPoolSize(min(workers, 100))(stdio)
	stdio.SetErrorLogger(log.New(slogWriter{s.log}, "", 0))

	listenCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	// At end of input the client is gone: calls in flight are cancelled at once (mcp-go does
	// that as Listen returns; a paid image is still saved and recorded, see tools) and nothing
	// more is written.
	guard := newStdioGuard(out)
	in, out = guard.input(in, nil), guard
	go func() {
		select {
		case <-ctx.Done():
			s.shutdownCalls()
			stop()
		case <-listenCtx.Done():
		}
	}()
	err := stdio.Listen(listenCtx, in, out)
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, io.EOF) {
		return nil
	}
	return fmt.Errorf("serving stdio: %w", err)
}

// shutdownCalls lets calls in flight finish within the grace period, then cancels the rest.
func (s *Server) shutdownCalls() {
	n := s.inflight.running()
	if n > 0 {
		s.log.Info("shutting down: waiting for calls in flight", "calls", n, "grace", s.opts.Grace)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Grace)
	defer cancel()
	if cut := s.inflight.drain(ctx); cut > 0 {
		s.log.Warn("shutting down: cancelled calls still running after the grace period", "calls", cut)
	}
}

// slogWriter routes mcp-go's log.Logger lines into slog (stderr).
type slogWriter struct {
	l interface{ Warn(string, ...any) }
}

func (w slogWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	w.l.Warn("mcp", "message", string(p))
	return n, nil
}

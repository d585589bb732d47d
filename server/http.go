package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	mcpserver "github.com/mark3labs/mcp-go/server"
)

// HTTPOptions configure the HTTP transports. Both are served on one address: Streamable HTTP
// at /mcp (2025-era sessions and 2026-07-28 stateless clients alike) and the legacy HTTP+SSE
// transport at /sse and /message, plus /healthz.
type HTTPOptions struct {
	Addr       string
	Security   Security
	SessionTTL time.Duration      // idle Streamable HTTP sessions expire; default 30 min
	KeepAlive  time.Duration      // SSE keep-alive and GET-stream heartbeat; default 15 s
	Health     func() HealthState // what /healthz reports about the upstream
	// Store, if set, says what /healthz reports about the store: asked on every probe, so it
	// must answer within a couple of seconds.
	StoreHealth func(ctx context.Context) StoreHealth
	// Images serves signed image URLs at /images/; the signature is the permission, so no
	// bearer token is asked for.
	Images http.Handler
	// Metrics serves Prometheus metrics at /metrics, behind the same bearer token as /mcp.
	Metrics http.Handler
	// Ready, if set, is called with the bound address once the listener is up.
	Ready func(addr string)

	// TokenFile (--auth-token-file) and TokensFile (--auth-tokens-file) hold Security's token
	// and principals until LoadTokens reads them.
	TokenFile, TokensFile string
	// InsecureNoAuth allows an Addr other machines can reach without a token.
	InsecureNoAuth bool
}

// HealthState is the upstream part of /healthz.
type HealthState struct {
	Upstream   string `json:"upstream"` // "gemini", "vertex-ai", "simulator"
	KeyPresent bool   `json:"key_present"`
	Ready      bool   `json:"ready"`
}

// StoreHealth is the store part of /healthz: which store, and whether it answered.
type StoreHealth struct {
	Kind   string `json:"kind"`            // "file" or "redis"
	Where  string `json:"where,omitempty"` // the Redis URL without its credentials
	Status string `json:"status"`          // "ok" or "error"
	Error  string `json:"error,omitempty"` // one sentence, never a password
}

// ServeHTTP serves until ctx ends, then shuts down gracefully: it stops accepting, lets calls
// in flight finish within the grace period, cancels the rest, and closes the streams.
func (s *Server) ServeHTTP(ctx context.Context, o HTTPOptions) error {
	o.Security.defaults()
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 15 * time.Second
	}
	streamable := mcpserver.NewStreamableHTTPServer(s.mcp,
		mcpserver.WithEndpointPath("/mcp"),
		mcpserver.WithStateful(true),
		mcpserver.WithSessionIdleTTL(o.SessionTTL),
		mcpserver.WithHeartbeatInterval(o.KeepAlive),
		mcpserver.WithStreamableHTTPLogger(s.log),
	)
	sse := mcpserver.NewSSEServer(s.mcp,
		mcpserver.WithKeepAliveInterval(o.KeepAlive),
		mcpserver.WithUseFullURLForMessageEndpoint(false),
	)
	o.Security.limiter = newConnLimiter(o.Security.MaxUnauthConnsPerIP, o.Security.MaxUnauthConns)
	mux := http.NewServeMux()
	mux.Handle("/mcp", o.Security.guard(s.answers(streamable, mcpSession), true))
	mux.Handle("/sse", o.Security.guard(s.answers(sse.SSEHandler(), messageSession), false))
	mux.Handle("/message", o.Security.guard(s.answers(sse.MessageHandler(), messageSession), false))
	mux.HandleFunc("/healthz", s.healthz(o.Health, o.StoreHealth))
	if o.Images != nil {
		mux.Handle("GET /images/", o.Images)
	}
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Security.guard(o.Metrics, false))
	}

	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.Addr, err)
	}
	srv := &http.Server{
		Handler:           o.Security.bound(mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	o.Security.limiter.install(srv)
	if o.Ready != nil {
		o.Ready(ln.Addr().String())
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String(), "streamable_http", "/mcp", "sse", "/sse", "auth", o.Security.Token != "" || len(o.Security.Principals) > 0)

	select {
	case err := <-served:
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	// Stop accepting at once; Shutdown keeps waiting for busy connections in the background.
	shutCtx, cancel := context.WithTimeout(context.Background(), s.opts.Grace+5*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(shutCtx) }()
	s.shutdownCalls()
	sse.CloseSessions()
	streamable.CloseSessions(shutCtx)
	select {
	case err = <-shut:
	case <-time.After(2 * time.Second):
		err = srv.Close() // streams that never go idle
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

func (s *Server) healthz(state func() HealthState, store func(context.Context) StoreHealth) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body := struct {
			Status   string       `json:"status"`
			Version  string       `json:"version"`
			Inflight int          `json:"inflight"`
			Upstream HealthState  `json:"upstream"`
			Store    *StoreHealth `json:"store,omitempty"`
		}{Status: "ok", Version: s.opts.Version, Inflight: s.inflight.running()}
		if state != nil {
			body.Upstream = state()
		}
		if store != nil {
			// The answer stays 200 with the store's error inside: a load balancer that took every
			// replica out while Redis blinks would make the outage total.
			st := store(r.Context())
			body.Store = &st
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(body)
	}
}

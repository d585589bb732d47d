package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Options are the metrics' own settings.
type Options struct {
	// MetricsAddr (--metrics-addr) is a listener of its own serving only /metrics, without a
	// bearer token: for a scraper on a private network, and the only way to get metrics over
	// stdio. Empty: metrics are served only at /metrics of the HTTP transports, behind the token.
	MetricsAddr string
}

// Validate checks the address's form; whether it can be bound is known only when listening.
func (o Options) Validate() error {
	if o.MetricsAddr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(o.MetricsAddr); err != nil {
		return fmt.Errorf("--metrics-addr %q is not a host:port address (e.g. 10.0.0.5:9464 or :9464)", o.MetricsAddr)
	}
	return nil
}

// Serve listens on addr and serves the metrics at /metrics, without a token, until ctx ends.
// It returns once listening (an address in use fails the start), with the bound address.
func (m *Metrics) Serve(ctx context.Context, addr string, logger *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listening for metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("the metrics listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close() // scrapes are short; nothing to drain
	}()
	bound := ln.Addr().String()
	logger.Info("serving metrics", "addr", bound, "path", "/metrics", "auth", false)
	return bound, nil
}

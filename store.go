package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"

	"github.com/redis/go-redis/v9"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/server"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// stores is where what outlives a call is kept: files in the data directory (the default),
// or one Redis that several replicas share (--store redis://).
type stores struct {
	conv  session.Store
	file  *session.FileStore  // nil with Redis
	redis *session.RedisStore // nil with files
	// shared is the Redis store's records (jobs, idempotency keys, batches, failures, usage,
	// lifecycle, the URL secret); nil with files, where each piece keeps its own files.
	shared *session.RedisRecords
	dir    string // the data directory, with files
}

// openStores opens the store --store names. With Redis nothing is written to the data
// directory: every replica's state is in Redis, and its saved images in --output-dir.
func openStores(ctx context.Context, a *app, cfg *Config, logger *slog.Logger) (*stores, error) {
	if !cfg.StoreOptions.Shared() {
		store, err := openStore(a, cfg, logger)
		if err != nil {
			return nil, err
		}
		return &stores{conv: store, file: store, dir: cfg.StoreDir}, nil
	}
	if u, err := url.Parse(cfg.StoreOptions.Store); err == nil {
		if pw, ok := u.User.Password(); ok {
			apierrors.RegisterSecret(pw) // redacted from every log line and message, whatever quotes it
		}
	}
	redis.SetLogger(redisLogger{logger})
	// One lease for whatever a replica holds while it works, a job or a conversation's lock: a
	// replica killed mid-edit blocks that conversation no longer than its job would stay running.
	rs, err := session.OpenRedis(ctx, cfg.StoreOptions.Store, session.RedisOptions{TTL: cfg.ConvTTL, LockLease: cfg.JobLease})
	if err != nil {
		return nil, fmt.Errorf("--store: %w", err)
	}
	a.closers = append(a.closers, rs.Close)
	return &stores{conv: rs, redis: rs, shared: rs.Records()}, nil
}

// health is what /healthz and /metrics say about the store: Redis is pinged (2 s at most);
// the file store's directory must still be there (a shared volume unmounted under a running
// server is the failure worth an alert).
func (s *stores) health(ctx context.Context) server.StoreHealth {
	if s.redis == nil {
		h := server.StoreHealth{Kind: "file", Status: "ok"}
		if _, err := os.Stat(s.dir); s.dir != "" && err != nil {
			h.Status, h.Error = "error", err.Error()
		}
		return h
	}
	h := server.StoreHealth{Kind: "redis", Where: s.redis.String(), Status: "ok"}
	if err := s.redis.Ping(ctx); err != nil {
		h.Status, h.Error = "error", string(apierrors.RedactSecrets([]byte(err.Error())))
	}
	return h
}

// redisLogger sends go-redis's own messages (it logs failed dials by itself, on stderr) to
// the server's log at debug level: an outage is already reported once, as a warning, by the
// store's errors and by the shared quota (gemini/resilience), and a dial failure repeated per
// connection would drown it. Registered secrets (the URL's password) are redacted by the
// logger's handler.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.Log(ctx, slog.LevelDebug, "redis client", "message", fmt.Sprintf(format, v...))
}

// ping is the store's health as /metrics reports it (store_up).
func (s *stores) ping(ctx context.Context) error {
	if h := s.health(ctx); h.Status != "ok" {
		return errors.New(h.Error)
	}
	return nil
}

// where names the store for the start-up log: the data directory, or the Redis URL without
// its credentials.
func (s *stores) where() string {
	if s.redis != nil {
		return s.redis.String()
	}
	return s.dir
}

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// serveSimulator runs the Gemini simulator as its own process (--serve-simulator): the first
// line on stdout is its base URL, for GOOGLE_GEMINI_BASE_URL. It outlives the servers that use
// it, which is what restart and multi-replica tests need; POST /_simulator/advance?by=90s moves
// its clock (batch states) forward.
func serveSimulator(ctx context.Context, cfg *Config, logger *slog.Logger, stdout io.Writer) error {
	sim, err := geminitest.New(geminitest.Config{Addr: cfg.ServeSimulator, Latency: cfg.SimulateLatency,
		Faults: cfg.SimulateFaults, Logger: logger, RecordLimit: -1, Control: true,
		SignatureSecret: []byte("nanobanana-mcp simulator")})
	if err != nil {
		return fmt.Errorf("starting the simulator: %w", err)
	}
	defer sim.Close()
	if _, err := fmt.Fprintln(stdout, sim.URL()); err != nil {
		return err
	}
	logger.Info("simulator serving", "url", sim.URL())
	<-ctx.Done()
	return nil
}

// startBatches opens the batch records next to the conversation store and starts the poller
// that follows them, so batches submitted before a restart are collected after it.
func startBatches(ctx context.Context, a *app, cfg *Config, st *stores, client *gemini.Client, images *session.Images, logger *slog.Logger) (*tools.Batches, error) {
	var store session.BatchStore = st.shared // with Redis, every replica follows every batch
	if st.shared == nil {
		dir, err := session.OpenBatchDir(cfg.Layout().Batches())
		if err != nil {
			return nil, err
		}
		store = dir
	}
	opts := tools.BatchOptions{API: client, Store: store, Images: images, Logger: logger}
	if st.shared != nil {
		opts.Lock = st.conv.Lock // a batch id never names a conversation: the locks do not meet
	}
	batches := tools.NewBatches(opts)
	pollCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { batches.Run(pollCtx); close(done) }()
	a.closers = append(a.closers, func() error { stop(); <-done; return nil })
	return batches, nil
}

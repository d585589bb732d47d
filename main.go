// Command nanobanana-mcp is an MCP server that gives MCP clients Google's Gemini image models
// ("Nano Banana"): generate_image, list_models, and more, with a built-in simulator.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
	_ "time/tzdata" // daily quotas reset at midnight Pacific, wherever the server runs

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/metrics"
	"github.com/nanobanana-mcp/nanobanana-mcp/server"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode is 0 on success and for --help, which printed what was asked for; 2 otherwise.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintln(stderr, "nanobanana-mcp:", err)
	return 2
}

// run is the whole program: configuration, wiring, serving until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.Version {
		_, err := fmt.Fprintln(stdout, "nanobanana-mcp", version)
		return err
	}
	if cfg.Transport != "stdio" && cfg.ServeSimulator == "" {
		if err := cfg.LoadTokens(); err != nil {
			return err
		}
	}
	// Secrets are redacted by value everywhere text leaves the process, whatever their shape.
	apierrors.RegisterSecret(cfg.APIKey, cfg.Security.Token, cfg.URLSecret)
	for _, p := range cfg.Security.Principals {
		apierrors.RegisterSecret(p.Token)
	}
	logger := newLogger(cfg, stderr)
	tools.LimitMemory(getenv)
	tools.SpareProcs(getenv)
	if cfg.ServeSimulator != "" {
		return serveSimulator(ctx, cfg, logger, stdout)
	}
	app, err := wire(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.close()
	logger.Info("serving", "version", version, "transport", cfg.Transport, "upstream", app.upstream,
		"output_dir", cfg.OutputDir, "store", app.store)
	if cfg.Metrics.MetricsAddr != "" {
		if _, err := app.metrics.Serve(ctx, cfg.Metrics.MetricsAddr, logger); err != nil {
			return err
		}
	}
	if cfg.Transport == "stdio" {
		return app.srv.ServeStdio(ctx, stdin, stdout)
	}
	opts := cfg.HTTPOptions // the operator's choices, plus what only the wired server knows
	opts.Health = app.health
	opts.Metrics = app.metrics.Handler()
	opts.StoreHealth = app.storeHealth
	opts.Images = app.tools.ImageHandler()
	opts.Ready = func(addr string) { app.addr.Store(addr) }
	return app.srv.ServeHTTP(ctx, opts)
}

type app struct {
	srv      *server.Server
	tools    *tools.Set
	metrics  *metrics.Metrics
	upstream string
	health   func() server.HealthState
	// storeHealth is the store part of /healthz.
	storeHealth func(context.Context) server.StoreHealth
	store       string // where the store is, for the start-up log (a Redis URL without credentials)
	closers     []func() error
	addr        atomic.Value // the bound HTTP address, once listening
}

func (a *app) serverURL() string {
	if addr, ok := a.addr.Load().(string); ok {
		return "http://" + addr
	}
	return ""
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		_ = a.closers[i]()
	}
}

// wire builds the registry, the Gemini client (pointed at the simulator with --simulate), the
// tools and the MCP server.
func wire(ctx context.Context, cfg *Config, logger *slog.Logger) (_ *app, err error) {
	a := &app{upstream: "gemini", metrics: metrics.New()}
	defer func() {
		if err != nil {
			a.close() // what was opened before the failure
		}
	}()
	reg := gemini.DefaultRegistry()
	if cfg.Models != "" {
		if reg, err = gemini.LoadRegistry(cfg.Models); err != nil {
			return nil, err
		}
	}
	if cfg.Model != "" {
		if err := reg.SetDefault(cfg.Model); err != nil {
			return nil, fmt.Errorf("--model: %w", err)
		}
		if res, _ := reg.Lookup(cfg.Model); res.Model != nil && res.Model.Unlisted {
			logger.Warn("--model is not in the model registry; it runs with conservative options (1K, standard ratios)",
				"model", res.Model.ID)
		}
	}
	// The store before the state inside it: the store creates, or recognises as its own, the
	// directory the rest of the server's state lives in (session.Layout), so nothing is read or
	// written in a directory the server did not make.
	st, err := openStores(ctx, a, cfg, logger)
	if err != nil {
		return nil, err
	}
	layout := cfg.Layout()
	gcfg := gemini.Config{
		APIKey: cfg.APIKey, Vertex: cfg.Vertex, Project: cfg.Project, Location: cfg.Location, BaseURL: cfg.BaseURL,
		CredentialsFile: cfg.CredentialsFile,
		ConnectTimeout:  cfg.ConnectTimeout, Timeout: cfg.Timeout, Timeout4K: cfg.Timeout4K,
		Registry: reg, Logger: logger, Recorder: a.metrics,
	}
	if st.shared != nil { // replicas: quota, breakers, usage and lifecycle are shared through Redis
		gcfg.Resilience, err = gemini.NewSharedResilience(cfg.ResilienceOptions, reg, st.redis.Client(), logger)
		gcfg.Lifecycle, gcfg.Usage = gemini.NewSharedLifecycle(st.shared, logger), gemini.NewSharedUsageLog(st.shared, logger)
	} else {
		gcfg.Resilience, err = gemini.NewResilience(cfg.ResilienceOptions, reg, layout.RateLimitState(), logger)
		gcfg.Lifecycle = openLifecycle(layout, logger)
	}
	if err != nil {
		return nil, err
	}
	if cfg.Simulate {
		// A fixed signature secret keeps stored conversations valid across restarts; the
		// simulator's signatures protect nothing real.
		sim, err := geminitest.New(geminitest.Config{Latency: cfg.SimulateLatency, Faults: cfg.SimulateFaults, Logger: logger,
			RecordLimit: -1, SignatureSecret: []byte("nanobanana-mcp simulator")})
		if err != nil {
			return nil, fmt.Errorf("starting the simulator: %w", err)
		}
		a.closers = append(a.closers, sim.Close)
		gcfg.APIKey, gcfg.Vertex, gcfg.BaseURL = "simulated", false, sim.URL()
		a.upstream = "simulator at " + sim.URL()
	} else {
		a.upstream = upstreamName(cfg)
	}
	client, err := gemini.NewClient(ctx, gcfg)
	if err != nil {
		return nil, err
	}
	startLoops(ctx, a, st.file, client, logger)
	// After the store exists: the refresh may write the lifecycle state inside it.
	refreshCtx, stopRefresh := context.WithCancel(ctx)
	refreshed := client.RefreshInBackground(refreshCtx) // which models this key can use; never delays the first answer
	// Closing waits for it: it may be writing the lifecycle state into the store just closed.
	a.closers = append(a.closers, func() error { stopRefresh(); <-refreshed; return nil })
	// The client preset resolves into plain options first; the tools are then built once.
	preset, err := tools.ResolvePreset(cfg.Client, cfg.Transport, cfg.Output)
	if err != nil {
		return nil, err
	}
	if cfg.AsyncAfterSet {
		preset.AsyncAfter = cfg.AsyncAfter
	}
	images := &session.Images{Dir: cfg.OutputDir, Shared: cfg.ShareImages}
	delivery := tools.DeliveryOptions{Output: preset.Output, Preview: preset.Preview, Transport: cfg.Transport,
		PublicURL: cfg.PublicURL, ServerURL: a.serverURL}
	if tools.ServesURLs(cfg.Transport) {
		secret := []byte(cfg.URLSecret)
		if len(secret) == 0 && st.shared != nil { // a URL minted on one replica works on every one
			if secret, err = tools.SharedURLSecret(ctx, st.shared); err != nil {
				return nil, err
			}
		}
		delivery.URLs = tools.NewURLSigner(secret, cfg.URLTTL)
		delivery.TrustForwardedHost = cfg.TrustForwardedHost
	}
	jobs, err := openJobs(a, cfg, st, logger)
	if err != nil {
		return nil, err
	}
	batches, err := startBatches(ctx, a, cfg, st, client, images, logger)
	if err != nil {
		return nil, err
	}
	a.tools = tools.New(tools.Wiring{
		Gemini: client, Images: images, Store: st.conv, Logger: logger, Jobs: jobs, Batches: batches, Simulated: cfg.Simulate,
		Inputs:   tools.InputOptions{AllowedRoots: cfg.AllowedRoots, Fetch: tools.FetchOptions{AllowPrivate: cfg.AllowPrivateURLs}},
		Delivery: delivery,
		Turns: tools.TurnOptions{Budget: cfg.Budget(), KeepDrafts: cfg.KeepDrafts, ProgressEvery: cfg.ProgressEvery,
			AsyncAfter: preset.AsyncAfter},
	})
	go func() { // a crash mid-save leaves a temporary file; the images folder is one users browse
		if n := images.RemoveStaleTemps(); n > 0 {
			logger.Info("removed temporary files left by a crash", "dir", cfg.OutputDir, "files", n)
		}
	}()
	a.srv = server.New(server.Options{Name: "nanobanana-mcp", Version: version, Instructions: instructions,
		Tools: a.tools.All(), Resources: tools.Resources(), Templates: a.tools.ResourceTemplates(),
		Logger: logger, Workers: cfg.Workers, Grace: cfg.Grace, Calls: a.metrics})
	a.metrics.Watch(client.Breakers, st.ping)
	state := server.HealthState{Upstream: client.Backend(), KeyPresent: client.HasCredentials(), Ready: client.HasCredentials()}
	if cfg.Simulate { // ready without a key: the simulator needs none
		state.Upstream, state.KeyPresent = "simulator", false
	}
	a.health = func() server.HealthState { return state }
	a.storeHealth = st.health
	a.store = st.where()
	return a, nil
}

// openJobs keeps background jobs in the jobs directory, or with Redis where every replica
// finds them.
func openJobs(a *app, cfg *Config, st *stores, logger *slog.Logger) (*tools.Jobs, error) {
	if st.shared == nil {
		return tools.OpenJobs(cfg.Layout().Jobs(), 24*time.Hour, logger)
	}
	jobs := tools.OpenSharedJobs(st.shared, 24*time.Hour, cfg.JobLease, logger)
	a.closers = append(a.closers, jobs.Close)
	return jobs, nil
}

// upstreamName says where calls go, for the start-up log.
func upstreamName(cfg *Config) string {
	name := "gemini"
	if cfg.Vertex {
		name = "vertex-ai"
		if cfg.Project != "" {
			name += " project " + cfg.Project
		}
		if cfg.Location != "" {
			name += " in " + cfg.Location
		}
	}
	if cfg.BaseURL != "" {
		name += " via " + cfg.BaseURL
	}
	return name
}

// openLifecycle opens the record of models found shut down or retiring, inside the store
// (session.Layout); a damaged record is started afresh.
func openLifecycle(layout session.Layout, logger *slog.Logger) gemini.Lifecycle {
	life, err := gemini.OpenLifecycle(layout.LifecycleState())
	if err != nil {
		logger.Warn("the model lifecycle record could not be read; starting afresh", "err", err)
	}
	return life
}

// openStore opens the conversation store, which owns the server's data directory.
func openStore(a *app, cfg *Config, logger *slog.Logger) (*session.FileStore, error) {
	store, err := session.Open(cfg.StoreDir, session.Options{TTL: cfg.ConvTTL})
	if err != nil {
		return nil, fmt.Errorf("opening the conversation store at %s: %w; move it aside or set --store-dir", cfg.StoreDir, err)
	}
	a.closers = append(a.closers, store.Close)
	if bad := store.Damaged(); len(bad) > 0 {
		logger.Warn("some stored conversations are damaged and cannot be continued", "conversations", bad)
	}
	return store, nil
}

// startLoops starts the hourly eviction (of a file store: Redis expires conversations by
// itself) and usage log.
func startLoops(ctx context.Context, a *app, store *session.FileStore, client *gemini.Client, logger *slog.Logger) {
	loopCtx, stop := context.WithCancel(ctx)
	a.closers = append(a.closers, func() error { stop(); return nil })
	if store != nil {
		go evictLoop(loopCtx, store, logger)
	}
	go usageLoop(loopCtx, client, logger)
}

const instructions = "Generate and edit images with Google's Gemini image models. generate_image returns the " +
	"saved path, an image_id and a conversation_id; edit_image continues that conversation (pass only the id) or " +
	"starts one from any image; get_generation fetches a job that runs in the background; list_models shows what " +
	"each model supports; explain_error explains any failure or pasted error text; check_config checks the setup; " +
	"batch_generate makes many images at half price when they can wait (get_batch collects them)."

// usageLoop logs a one-line usage summary every hour in which calls were made.
func usageLoop(ctx context.Context, client *gemini.Client, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if rep := client.Usage().Report(time.Now().Add(-time.Hour)); rep.Calls > 0 {
				logger.Info("usage", "summary", tools.UsageSummary(rep, 1))
			}
		}
	}
}

// evictLoop deletes expired conversations at start and then hourly.
func evictLoop(ctx context.Context, store *session.FileStore, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if ev, err := store.EvictExpired(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("evicting expired conversations failed", "error", err)
		} else if ev.Conversations > 0 {
			logger.Info("evicted expired conversations", "conversations", ev.Conversations, "blobs", ev.Blobs, "bytes", ev.BlobBytes)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(apierrors.RedactHandler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(apierrors.RedactHandler(slog.NewTextHandler(w, opts)))
}

// Package gemini is the one place that talks to Gemini: the genai client, the model registry,
// validation before a request leaves, and turning an answer into a Result.
package gemini

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/genai"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience"
)

// Config selects the backend and the limits of the Gemini client. Empty fields fall back to
// the SDK's own environment variables (GEMINI_API_KEY, GOOGLE_API_KEY,
// GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION,
// GOOGLE_GEMINI_BASE_URL), read by the SDK unchanged.
type Config struct {
	APIKey   string
	Vertex   bool   // use Vertex AI (ADC or an express-mode API key)
	Project  string // Vertex project
	Location string // Vertex location; "global" when empty (the Gemini 3 image models live there)
	BaseURL  string // a proxy or a fake upstream; empty: the SDK's default or GOOGLE_GEMINI_BASE_URL
	// CredentialsFile is the Application Default Credentials file for Vertex AI (what
	// GOOGLE_APPLICATION_CREDENTIALS names); empty: the usual ADC search (gcloud's file, the
	// metadata server).
	CredentialsFile string

	ConnectTimeout time.Duration // dialing and TLS; default 10 s
	Timeout        time.Duration // per request up to 2K; default 300 s
	Timeout4K      time.Duration // per request at 4K; default 600 s

	Registry   *Registry
	Lifecycle  Lifecycle // what is learned about models at run time; default in memory
	Usage      *UsageLog // the record of calls for usage reports; default in memory (NewSharedUsageLog for replicas)
	Resilience Resilience
	Logger     *slog.Logger
	Now        func() time.Time // injected clock; default time.Now
	Recorder   Recorder         // sees each call, for metrics; default records nothing

	ListPageSize int // models.list page size; 0: the API's default
}

// Client generates images. It is safe for concurrent use.
type Client struct {
	sdk      *genai.Client
	reg      *Registry
	log      *slog.Logger
	now      func() time.Time
	timeout  time.Duration
	timeout4 time.Duration
	backend  string
	location string // Vertex only
	res      Resilience
	exec     *resilience.Executor
	usage    *UsageLog
	rec      Recorder
	credErr  error // why Vertex AI credentials could not be found, explained on each call
	churnState
}

// NewClient builds the genai client with our own HTTP client and the SDK's retries off
// (retries belong to one layer of ours).
func NewClient(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Registry == nil {
		cfg.Registry = DefaultRegistry()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cc := &genai.ClientConfig{
		APIKey:     cfg.APIKey,
		HTTPClient: NewHTTPClient(orDefault(cfg.ConnectTimeout, DefaultConnectTimeout)),
		HTTPOptions: genai.HTTPOptions{
			BaseURL: cfg.BaseURL,
		},
	}
	backend := "gemini-api"
	if cfg.Vertex {
		backend = "vertex-ai"
		cc.Backend = genai.BackendVertexAI
		cc.Project = cfg.Project
		cc.Location = cfg.Location
		if cc.Location == "" && cfg.APIKey == "" {
			cc.Location = "global"
		}
	} else {
		cc.Backend = genai.BackendGeminiAPI
	}
	res := cfg.Resilience
	if res.MaxAttempts <= 0 {
		res.MaxAttempts = resilience.DefaultMaxAttempts
	}
	if res.CallTimeout <= 0 {
		res.CallTimeout = DefaultCallTimeout
	}
	if cfg.Lifecycle == nil {
		cfg.Lifecycle = NewMemoryLifecycle()
	}
	if cfg.Usage == nil {
		cfg.Usage = NewUsageLog(0)
	}
	base := &Client{reg: cfg.Registry, log: cfg.Logger, now: cfg.Now, backend: "none", res: res, usage: cfg.Usage, rec: cfg.Recorder,
		timeout: orDefault(cfg.Timeout, DefaultTimeout), timeout4: orDefault(cfg.Timeout4K, DefaultTimeout4K),
		churnState: churnState{life: cfg.Lifecycle, listPageSize: cfg.ListPageSize, warned: map[string]time.Time{}}}
	base.exec = &resilience.Executor{Limiter: res.Limiter, Breaker: res.Breaker, Clock: res.Clock, MaxAttempts: res.MaxAttempts,
		ClassifyWith: []apierrors.Option{apierrors.WithReplacements(cfg.Registry.Replacement)}}
	if !cfg.Vertex && cfg.APIKey == "" {
		// Start anyway: tools/list, list_models and validation work without a key, and each
		// generation explains what is missing.
		return base, nil
	}
	if cfg.Vertex && cfg.APIKey == "" {
		// genai adds ADC only to an HTTP client it makes itself; ours needs it attached.
		creds, err := vertexCredentials(ctx, cc.HTTPClient, cfg.CredentialsFile)
		if err != nil {
			base.credErr = err
			cfg.Logger.Warn("no Vertex AI credentials; every generation will explain this", "err", apierrors.Sanitize(err.Error()))
			return base, nil
		}
		cc.Credentials = creds
	}
	sdk, err := genai.NewClient(ctx, cc)
	if err != nil {
		// The SDK prints the whole ClientConfig (API key included) into some of these errors.
		return nil, apierrors.New(apierrors.Auth,
			"The Gemini client could not be created: "+apierrors.Sanitize(err.Error()))
	}
	base.sdk, base.backend, base.location = sdk, backend, cc.Location
	return base, nil
}

// Usage returns the log of recent calls, for usage reports.
func (c *Client) Usage() *UsageLog { return c.usage }

// Registry returns the model registry the client validates against.
func (c *Client) Registry() *Registry { return c.reg }

// Backend names the backend in use: "gemini-api" or "vertex-ai".
func (c *Client) Backend() string { return c.backend }

// NewHTTPClient returns the HTTP client used for Gemini: HTTP/1.1 (long uploads and downloads
// behave better without HTTP/2 flow control on some proxies), a bounded connect time, and no
// overall timeout — each request carries its own deadline.
func NewHTTPClient(connect time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   connect,
		ForceAttemptHTTP2:     false,
		TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: &captureTransport{next: &liftTransport{next: tr}}}
}

// deadline returns the per-request timeout for an image size.
func (c *Client) deadline(size string) time.Duration {
	if size == "4K" {
		return c.timeout4
	}
	return c.timeout
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/metrics"
	"github.com/nanobanana-mcp/nanobanana-mcp/server"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// Config is everything the server needs, built once from flags and their NANOBANANA_*
// environment twins, and validated before anything starts. Each package owns its options,
// their defaults and their validation; Config only gathers them.
type Config struct {
	Transport string

	gemini.ClientOptions     // --model, --models-file, request deadlines
	gemini.ResilienceOptions // fallback, attempts, quotas, breaker
	session.StoreOptions     // --output-dir, --store-dir, conversations and history
	server.HTTPOptions       // --addr, tokens, origins, body limit, session TTL
	tools.Options            // delivery, client preset, inputs, progress, jobs

	Metrics metrics.Options // --metrics-addr

	Workers int           // concurrent tool calls over stdio
	Grace   time.Duration // how long calls in flight may finish on shutdown

	Simulate        bool
	SimulateFaults  string
	SimulateLatency time.Duration
	ServeSimulator  string // run only the simulator, on this address (batch tests, replicas)

	LogLevel  string
	LogFormat string
	Version   bool

	// From the SDK's own environment variables, read unchanged.
	APIKey   string
	Vertex   bool
	Project  string
	Location string
	BaseURL  string
	// GOOGLE_APPLICATION_CREDENTIALS: the ADC file for Vertex AI.
	CredentialsFile string
}

// envPrefix is the prefix of every flag's environment twin: --output-dir is
// NANOBANANA_OUTPUT_DIR.
const envPrefix = "NANOBANANA_"

// parseConfig reads flags, then fills every flag not given on the command line from its
// environment twin, then validates. Each bad value gets one sentence. It reads no files: the
// token files are read by HTTPOptions.LoadTokens when the server starts.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	c := &Config{ClientOptions: gemini.DefaultClientOptions(), ResilienceOptions: gemini.DefaultResilienceOptions(),
		StoreOptions: session.DefaultStoreOptions(), HTTPOptions: server.DefaultHTTPOptions(), Options: tools.DefaultOptions(),
		Workers: server.DefaultWorkers, Grace: server.DefaultGrace}
	fs := flag.NewFlagSet("nanobanana-mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var roots, origins string
	fallback := strings.Join(c.Fallback, ",")
	maxBodyMB := int(c.Security.MaxBody >> 20)
	fs.StringVar(&c.Transport, "transport", "stdio", "how clients connect: stdio, sse or http (HTTP serves /mcp and /sse together)")
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address for HTTP transports")
	fs.StringVar(&c.OutputDir, "output-dir", "", "where images are saved (default: the user's data directory)")
	fs.StringVar(&c.StoreDir, "store-dir", "", "where conversations are kept (default: the user's data directory)")
	fs.StringVar(&c.StoreOptions.Store, "store", "", "keep conversations, jobs, quotas and the server's other state in Redis that several replicas share: redis://[:password@]host:port/db (rediss:// for TLS) (default: files in --store-dir)")
	fs.DurationVar(&c.JobLease, "job-lease", c.JobLease, "with --store redis://, a running job whose replica stopped is reported interrupted after this, and a conversation it was editing is free again")
	fs.DurationVar(&c.ConvTTL, "conversation-ttl", c.ConvTTL, "conversations unused this long are deleted")
	fs.IntVar(&c.HistTurns, "history-turns", c.HistTurns, "turns a conversation replays before continuing from a fresh context")
	fs.IntVar(&c.HistMB, "history-mb", c.HistMB, fmt.Sprintf("request size (MiB, images as base64, as Gemini counts) before a turn's history is trimmed; at most %d (Gemini refuses over 100)", session.MaxHistoryMB))
	fs.StringVar(&c.Output, "output", "", "default image delivery: "+strings.Join(tools.OutputModes, "|")+" (default: the --client preset's)")
	fs.StringVar(&c.Client, "client", c.Client, "client preset: "+strings.Join(tools.PresetNames(), "|"))
	fs.StringVar(&c.PublicURL, "public-url", "", "how clients reach this server, for image URLs (default: the listen address)")
	fs.DurationVar(&c.URLTTL, "url-ttl", c.URLTTL, "how long signed image URLs work")
	fs.StringVar(&c.URLSecret, "url-secret", "", "secret for signing image URLs, so links survive a restart (default: random per start; with --store redis://, one kept in Redis for every replica)")
	fs.BoolVar(&c.TrustForwardedHost, "trust-forwarded-host", false, "build image URLs from X-Forwarded-Host (only behind your own reverse proxy, which must set it)")
	fs.StringVar(&c.Model, "model", "", "default model alias or id (default "+gemini.DefaultRegistry().Default()+"); an id the registry lacks (gemini-…) runs with conservative options")
	fs.StringVar(&c.Models, "models-file", "", "a JSON model registry replacing the built-in one")
	fs.BoolVar(&c.Simulate, "simulate", false, "answer from the built-in Gemini simulator: no key, no network")
	fs.StringVar(&c.SimulateFaults, "simulate-faults", "", "simulator faults, e.g. 503@0.3,429@0.1 or gemini-3-pro-image:503x5")
	fs.DurationVar(&c.SimulateLatency, "simulate-latency", 0, "simulator latency per call, e.g. 2s")
	fs.StringVar(&c.ServeSimulator, "serve-simulator", "", "run only the Gemini simulator on this address (e.g. 127.0.0.1:0), print its URL, and serve until stopped")
	fs.BoolVar(&c.KeepDrafts, "keep-drafts", false, "also save the model's thought images (drafts)")
	fs.BoolVar(&c.ShareImages, "share-images", false, "save images readable by other users (0644 in 0755 directories) instead of private to you (0600 in 0700)")
	fs.StringVar(&roots, "allowed-roots", "", "directories input image paths may come from, separated by "+string(os.PathListSeparator)+" (default over stdio: the working, output, home and temporary directories; over HTTP: the output directory)")
	fs.BoolVar(&c.AllowPrivateURLs, "allow-private-urls", false, "allow input image URLs on loopback and private networks")
	fs.StringVar(&fallback, "fallback", fallback, "fallback chain in order of preference (a model falls back to those after it), or none")
	fs.BoolVar(&c.FallbackQuota, "fallback-on-quota", false, "also fall back when the requested model's quota is spent")
	fs.IntVar(&c.MaxAttempts, "max-attempts", c.MaxAttempts, "upstream calls per tool call, retries and fallbacks included")
	fs.DurationVar(&c.CallTimeout, "call-timeout", c.CallTimeout, "everything one call may take, waits included")
	fs.StringVar(&c.Tier, "tier", "", "your project's Gemini tier, for local rate limits: free, 1, 2 or 3 (default: none, learn from 429s)")
	fs.IntVar(&c.RPM, "rpm", 0, "requests per minute per model (overrides --tier)")
	fs.IntVar(&c.IPM, "ipm", 0, "images per minute per model (overrides --tier)")
	fs.IntVar(&c.RPD, "rpd", 0, "requests per day per model, reset at midnight Pacific (overrides --tier)")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "concurrent upstream calls per model")
	fs.IntVar(&c.BreakerAfter, "breaker-threshold", c.BreakerAfter, "consecutive server-side failures that open a model's circuit breaker")
	fs.DurationVar(&c.BreakerCool, "breaker-cooldown", c.BreakerCool, "how long an open breaker stays open")
	fs.DurationVar(&c.AsyncAfter, "async-after", 0, "a call still running after this answers with a job_id for get_generation (default: the --client preset's; 0 never)")
	fs.DurationVar(&c.ProgressEvery, "progress-every", c.ProgressEvery, "how often a long call sends progress notifications (under the 10 s some clients give up after)")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "per-request deadline up to 2K")
	fs.DurationVar(&c.Timeout4K, "timeout-4k", c.Timeout4K, "per-request deadline at 4K")
	fs.DurationVar(&c.ConnectTimeout, "connect-timeout", c.ConnectTimeout, "connect and TLS handshake deadline")
	fs.IntVar(&c.Workers, "workers", c.Workers, "concurrent tool calls over stdio")
	fs.StringVar(&c.Security.Token, "auth-token", "", "bearer token HTTP clients must send (Authorization: Bearer …)")
	fs.StringVar(&c.TokenFile, "auth-token-file", "", "a file holding the bearer token")
	fs.StringVar(&c.TokensFile, "auth-tokens-file", "", "a file of named tokens, one name=token a line (# comments): each name is a principal that sees only its own conversations, images and jobs")
	fs.BoolVar(&c.InsecureNoAuth, "insecure-no-auth", false, "allow a non-loopback --addr without a token")
	fs.StringVar(&origins, "allowed-origins", "", "comma-separated browser origins allowed besides loopback ones")
	fs.DurationVar(&c.SessionTTL, "session-ttl", c.SessionTTL, "idle Streamable HTTP sessions expire after this")
	fs.IntVar(&maxBodyMB, "max-body-mb", maxBodyMB, "largest HTTP request body in MiB")
	fs.DurationVar(&c.Grace, "shutdown-grace", c.Grace, "how long calls in flight may finish on shutdown")
	fs.StringVar(&c.Metrics.MetricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this address too, without a token (for a scraper on a private network; the only way over stdio)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug|info|warn|error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text|json")
	fs.BoolVar(&c.Version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q; flags start with --", fs.Arg(0))
	}
	var problems []error
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	fs.VisitAll(func(f *flag.Flag) {
		env := envPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" && !set[f.Name] {
			if err := f.Value.Set(v); err != nil {
				problems = append(problems, fmt.Errorf("%s=%q is not valid for --%s (%s)", env, v, f.Name, f.Usage))
			}
		}
	})
	if c.Version || c.ServeSimulator != "" {
		return c, nil
	}
	c.AsyncAfterSet = set["async-after"] || getenv(envPrefix+"ASYNC_AFTER") != ""
	c.readSDKEnv(getenv)
	c.AllowedRoots = filepath.SplitList(roots)
	c.Security.MaxBody = int64(maxBodyMB) << 20
	c.Fallback = nil
	if !strings.EqualFold(strings.TrimSpace(fallback), "none") {
		for _, f := range strings.Split(fallback, ",") {
			if f = strings.TrimSpace(f); f != "" {
				c.Fallback = append(c.Fallback, f)
			}
		}
	}
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.Security.AllowedOrigins = append(c.Security.AllowedOrigins, o)
		}
	}
	problems = append(problems, c.resolve(getenv), c.validate())
	return c, errors.Join(problems...)
}

// readSDKEnv reads the genai SDK's variables with the SDK's own precedence.
func (c *Config) readSDKEnv(getenv func(string) string) {
	c.APIKey = getenv("GOOGLE_API_KEY")
	if c.APIKey == "" {
		c.APIKey = getenv("GEMINI_API_KEY")
	}
	v := getenv("GOOGLE_GENAI_USE_ENTERPRISE")
	if v == "" {
		v = getenv("GOOGLE_GENAI_USE_VERTEXAI")
	}
	c.Vertex = strings.EqualFold(v, "true") || v == "1"
	c.Project = getenv("GOOGLE_CLOUD_PROJECT")
	c.Location = getenv("GOOGLE_CLOUD_LOCATION")
	if c.Location == "" {
		c.Location = getenv("GOOGLE_CLOUD_REGION")
	}
	c.CredentialsFile = getenv("GOOGLE_APPLICATION_CREDENTIALS")
	if c.Vertex {
		c.BaseURL = getenv("GOOGLE_VERTEX_BASE_URL")
	} else {
		c.BaseURL = getenv("GOOGLE_GEMINI_BASE_URL")
	}
}

// resolve fills what the operator left to the environment: the data-directory layout
// (session) and the input roots (tools).
func (c *Config) resolve(getenv func(string) string) error {
	if err := c.ResolveDirs(getenv); err != nil {
		return err
	}
	return c.ResolveRoots(c.Transport, c.OutputDir, getenv)
}

// validate checks main's own choices and asks each package to check its options.
func (c *Config) validate() error {
	var p []error
	bad := func(format string, args ...any) { p = append(p, fmt.Errorf(format, args...)) }
	switch c.Transport {
	case "stdio":
	case "sse", "http":
		p = append(p, c.HTTPOptions.Validate())
	default:
		bad("--transport %q is not known; use stdio, sse or http", c.Transport)
	}
	p = append(p, c.Options.Validate(c.Transport), c.ClientOptions.Validate(), c.ResilienceOptions.Validate(),
		c.StoreOptions.Validate(), server.Options{Workers: c.Workers, Grace: c.Grace}.Validate(), c.Metrics.Validate())
	if !oneOf(c.LogLevel, []string{"debug", "info", "warn", "error"}) {
		bad("--log-level %q is not known; use debug, info, warn or error", c.LogLevel)
	}
	if !oneOf(c.LogFormat, []string{"text", "json"}) {
		bad("--log-format %q is not known; use text or json", c.LogFormat)
	}
	if c.SimulateLatency < 0 {
		bad("--simulate-latency must not be negative")
	}
	if (c.SimulateFaults != "" || c.SimulateLatency > 0) && !c.Simulate {
		bad("--simulate-faults and --simulate-latency only apply with --simulate; add --simulate")
	}
	if c.SimulateFaults != "" {
		if _, err := geminitest.ParseFaults(c.SimulateFaults); err != nil {
			bad("--simulate-faults: %v", err)
		}
	}
	return errors.Join(p...)
}

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience"
	"github.com/nanobanana-mcp/nanobanana-mcp/server"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// Config is everything the server needs, built once from flags and their NANOBANANA_*
// environment twins, and validated before anything starts.
type Config struct {
	Transport string
	Addr      string
	OutputDir string
	StoreDir  string
	ConvTTL   time.Duration
	HistTurns int
	HistMB    int
	Output    string
	Client    string
	PublicURL string
	URLTTL    time.Duration
	URLSecret string
	Model     string
	Models    string // --models-file

	Simulate        bool
	SimulateFaults  string
	SimulateLatency time.Duration
	ServeSimulator  string // run only the simulator, on this address (batch tests, replicas)

	KeepDrafts       bool
	ShareImages      bool
	AllowedRoots     []string
	AllowPrivateURLs bool

	TrustForwardedHost bool // X-Forwarded-Host comes from the operator's own reverse proxy

	ProgressEvery  time.Duration
	AsyncAfter     time.Duration
	AsyncAfterSet  bool // given explicitly, so the --client preset's value does not apply
	Fallback       []string
	FallbackQuota  bool
	MaxAttempts    int
	CallTimeout    time.Duration
	Tier           string
	RPM, IPM, RPD  int
	Concurrency    int
	BreakerAfter   int
	BreakerCool    time.Duration
	Timeout        time.Duration
	Timeout4K      time.Duration
	ConnectTimeout time.Duration
	Workers        int

	AuthToken      string
	AuthTokenFile  string
	AuthTokensFile string             // named tokens, one principal each
	Principals     []server.Principal // read from AuthTokensFile
	InsecureNoAuth bool
	AllowedOrigins []string
	SessionTTL     time.Duration
	MaxBody        int64
	Grace          time.Duration

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

// maxHistMB is the largest --history-mb: the server never lets a request grow past what
// Gemini accepts (session.DefaultBudget), so a larger value would be silently lowered.
const maxHistMB = 96

// parseConfig reads flags, then fills every flag not given on the command line from its
// environment twin, then validates. Each bad value gets one sentence.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("nanobanana-mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var roots, origins, fallback string
	var maxBodyMB int
	fs.StringVar(&c.Transport, "transport", "stdio", "how clients connect: stdio, sse or http (HTTP serves /mcp and /sse together)")
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen address for HTTP transports")
	fs.StringVar(&c.OutputDir, "output-dir", "", "where images are saved (default: the user's data directory)")
	fs.StringVar(&c.StoreDir, "store-dir", "", "where conversations are kept (default: the user's data directory)")
	fs.DurationVar(&c.ConvTTL, "conversation-ttl", 7*24*time.Hour, "conversations unused this long are deleted")
	fs.IntVar(&c.HistTurns, "history-turns", 20, "turns a conversation replays before continuing from a fresh context")
	fs.IntVar(&c.HistMB, "history-mb", maxHistMB, "request size (MiB, images as base64, as Gemini counts) before a turn's history is trimmed; at most 96 (Gemini refuses over 100)")
	fs.StringVar(&c.Output, "output", "", "default image delivery: "+strings.Join(tools.OutputModes, "|")+" (default: the --client preset's)")
	fs.StringVar(&c.Client, "client", "generic", "client preset: "+strings.Join(tools.PresetNames(), "|"))
	fs.StringVar(&c.PublicURL, "public-url", "", "how clients reach this server, for image URLs (default: the listen address)")
	fs.DurationVar(&c.URLTTL, "url-ttl", time.Hour, "how long signed image URLs work")
	fs.StringVar(&c.URLSecret, "url-secret", "", "secret for signing image URLs, so links survive a restart (default: random per start)")
	fs.BoolVar(&c.TrustForwardedHost, "trust-forwarded-host", false, "build image URLs from X-Forwarded-Host (only behind your own reverse proxy, which must set it)")
	fs.StringVar(&c.Model, "model", "", "default model alias or id (default nano-banana-2.1); an id the registry lacks (gemini-…) runs with conservative options")
	fs.StringVar(&c.Models, "models-file", "", "a JSON model registry replacing the built-in one")
	fs.BoolVar(&c.Simulate, "simulate", false, "answer from the built-in Gemini simulator: no key, no network")
	fs.StringVar(&c.SimulateFaults, "simulate-faults", "", "simulator faults, e.g. 503@0.3,429@0.1 or gemini-3-pro-image:503x5")
	fs.DurationVar(&c.SimulateLatency, "simulate-latency", 0, "simulator latency per call, e.g. 2s")
	fs.StringVar(&c.ServeSimulator, "serve-simulator", "", "run only the Gemini simulator on this address (e.g. 127.0.0.1:0), print its URL, and serve until stopped")
	fs.BoolVar(&c.KeepDrafts, "keep-drafts", false, "also save the model's thought images (drafts)")
	fs.BoolVar(&c.ShareImages, "share-images", false, "save images readable by other users (0644 in 0755 directories) instead of private to you (0600 in 0700)")
	fs.StringVar(&roots, "allowed-roots", "", "directories input image paths may come from, separated by "+string(os.PathListSeparator)+" (default over stdio: the working, output, home and temporary directories; over HTTP: the output directory)")
	fs.BoolVar(&c.AllowPrivateURLs, "allow-private-urls", false, "allow input image URLs on loopback and private networks")
	fs.StringVar(&fallback, "fallback", strings.Join(gemini.DefaultFallbacks, ","), "fallback chain in order of preference (a model falls back to those after it), or none")
	fs.BoolVar(&c.FallbackQuota, "fallback-on-quota", false, "also fall back when the requested model's quota is spent")
	fs.IntVar(&c.MaxAttempts, "max-attempts", 4, "upstream calls per tool call, retries and fallbacks included")
	fs.DurationVar(&c.CallTimeout, "call-timeout", 10*time.Minute, "everything one call may take, waits included")
	fs.StringVar(&c.Tier, "tier", "", "your project's Gemini tier, for local rate limits: free, 1, 2 or 3 (default: none, learn from 429s)")
	fs.IntVar(&c.RPM, "rpm", 0, "requests per minute per model (overrides --tier)")
	fs.IntVar(&c.IPM, "ipm", 0, "images per minute per model (overrides --tier)")
	fs.IntVar(&c.RPD, "rpd", 0, "requests per day per model, reset at midnight Pacific (overrides --tier)")
	fs.IntVar(&c.Concurrency, "concurrency", 4, "concurrent upstream calls per model")
	fs.IntVar(&c.BreakerAfter, "breaker-threshold", 5, "consecutive server-side failures that open a model's circuit breaker")
	fs.DurationVar(&c.BreakerCool, "breaker-cooldown", 120*time.Second, "how long an open breaker stays open")
	fs.DurationVar(&c.AsyncAfter, "async-after", 0, "a call still running after this answers with a job_id for get_generation (default: the --client preset's; 0 never)")
	fs.DurationVar(&c.ProgressEvery, "progress-every", 8*time.Second, "how often a long call sends progress notifications (under the 10 s some clients give up after)")
	fs.DurationVar(&c.Timeout, "timeout", 300*time.Second, "per-request deadline up to 2K")
	fs.DurationVar(&c.Timeout4K, "timeout-4k", 600*time.Second, "per-request deadline at 4K")
	fs.DurationVar(&c.ConnectTimeout, "connect-timeout", 10*time.Second, "connect and TLS handshake deadline")
	fs.IntVar(&c.Workers, "workers", 32, "concurrent tool calls over stdio")
	fs.StringVar(&c.AuthToken, "auth-token", "", "bearer token HTTP clients must send (Authorization: Bearer …)")
	fs.StringVar(&c.AuthTokenFile, "auth-token-file", "", "a file holding the bearer token")
	fs.StringVar(&c.AuthTokensFile, "auth-tokens-file", "", "a file of named tokens, one name=token a line (# comments): each name is a principal that sees only its own conversations, images and jobs")
	fs.BoolVar(&c.InsecureNoAuth, "insecure-no-auth", false, "allow a non-loopback --addr without a token")
	fs.StringVar(&origins, "allowed-origins", "", "comma-separated browser origins allowed besides loopback ones")
	fs.DurationVar(&c.SessionTTL, "session-ttl", 30*time.Minute, "idle Streamable HTTP sessions expire after this")
	fs.IntVar(&maxBodyMB, "max-body-mb", 32, "largest HTTP request body in MiB")
	fs.DurationVar(&c.Grace, "shutdown-grace", 30*time.Second, "how long calls in flight may finish on shutdown")
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
	c.MaxBody = int64(maxBodyMB) << 20
	if !strings.EqualFold(strings.TrimSpace(fallback), "none") {
		for _, f := range strings.Split(fallback, ",") {
			if f = strings.TrimSpace(f); f != "" {
				c.Fallback = append(c.Fallback, f)
			}
		}
	}
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.AllowedOrigins = append(c.AllowedOrigins, o)
		}
	}
	problems = append(problems, c.validate(getenv)...)
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

func (c *Config) validate(getenv func(string) string) []error {
	var p []error
	bad := func(format string, args ...any) { p = append(p, fmt.Errorf(format, args...)) }
	switch c.Transport {
	case "stdio":
	case "sse", "http":
		p = append(p, c.validateHTTP()...)
	default:
		bad("--transport %q is not known; use stdio, sse or http", c.Transport)
	}
	if c.Output != "" && !oneOf(c.Output, tools.OutputModes) {
		bad("--output %q is not known; use one of %s", c.Output, strings.Join(tools.OutputModes, ", "))
	}
	if c.Output == tools.OutputURL && c.Transport == "stdio" {
		bad("--output url needs an HTTP transport to serve the links; add --transport http, or use preview, resource or path")
	}
	if _, ok := tools.Presets[c.Client]; !ok {
		bad("--client %q is not known; use one of %s", c.Client, strings.Join(tools.PresetNames(), ", "))
	}
	if c.URLTTL <= 0 {
		bad("--url-ttl must be a positive duration such as 1h")
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		bad("--public-url %q must start with http:// or https://", c.PublicURL)
	}
	if !oneOf(c.LogLevel, []string{"debug", "info", "warn", "error"}) {
		bad("--log-level %q is not known; use debug, info, warn or error", c.LogLevel)
	}
	if !oneOf(c.LogFormat, []string{"text", "json"}) {
		bad("--log-format %q is not known; use text or json", c.LogFormat)
	}
	for name, d := range map[string]time.Duration{"timeout": c.Timeout, "timeout-4k": c.Timeout4K,
		"connect-timeout": c.ConnectTimeout, "progress-every": c.ProgressEvery} {
		if d <= 0 {
			bad("--%s must be a positive duration such as 300s, not %s", name, d)
		}
	}
	if c.SimulateLatency < 0 {
		bad("--simulate-latency must not be negative")
	}
	if c.Workers < 1 || c.Workers > 100 {
		bad("--workers must be between 1 and 100, not %d", c.Workers)
	}
	if (c.SimulateFaults != "" || c.SimulateLatency > 0) && !c.Simulate {
		bad("--simulate-faults and --simulate-latency only apply with --simulate; add --simulate")
	}
	if c.SimulateFaults != "" {
		if _, err := geminitest.ParseFaults(c.SimulateFaults); err != nil {
			bad("--simulate-faults: %v", err)
		}
	}
	if c.OutputDir == "" {
		c.OutputDir = defaultOutputDir(getenv)
	}
	if c.OutputDir == "" {
		bad("no data directory could be found for images; set --output-dir or NANOBANANA_OUTPUT_DIR")
	} else if abs, err := filepath.Abs(c.OutputDir); err == nil {
		c.OutputDir = abs
	}
	if c.StoreDir == "" {
		if d := defaultOutputDir(getenv); d != "" {
			c.StoreDir = filepath.Join(filepath.Dir(d), "conversations")
		} else if c.OutputDir != "" {
			c.StoreDir = filepath.Join(c.OutputDir, ".conversations")
		}
	}
	if c.Tier != "" {
		if _, err := resilience.Tier(c.Tier, ""); err != nil {
			bad("--tier %q is not known; use free, 1, 2 or 3", c.Tier)
		}
	}
	if c.RPM < 0 || c.IPM < 0 || c.RPD < 0 || c.MaxAttempts < 1 || c.Concurrency < 1 || c.BreakerAfter < 1 {
		bad("--rpm, --ipm and --rpd must not be negative; --max-attempts, --concurrency and --breaker-threshold must be at least 1")
	}
	if c.AsyncAfter < 0 {
		bad("--async-after must not be negative")
	}
	if c.CallTimeout <= 0 || c.BreakerCool <= 0 {
		bad("--call-timeout and --breaker-cooldown must be positive durations")
	}
	if c.ConvTTL <= 0 {
		bad("--conversation-ttl must be a positive duration such as 168h")
	}
	if c.HistTurns < 1 || c.HistMB < 1 {
		bad("--history-turns and --history-mb must be at least 1")
	}
	if c.HistMB > maxHistMB {
		bad("--history-mb is %d but can be at most %d (Gemini refuses requests over 100 MB); use %d or less", c.HistMB, maxHistMB, maxHistMB)
	}
	if len(c.AllowedRoots) == 0 {
		c.AllowedRoots = defaultRoots(c.Transport, c.OutputDir, getenv)
	}
	for i, r := range c.AllowedRoots {
		abs, err := filepath.Abs(r)
		if err != nil {
			bad("--allowed-roots entry %q is not a usable path", r)
			continue
		}
		c.AllowedRoots[i] = abs
	}
	return p
}

// defaultRoots are where input image paths may come from unless --allowed-roots says
// otherwise. A remote (HTTP) client has no business with the operator's files, so it gets the
// output directory only. A local (stdio) client gets the user's usual places: the working
// directory (unless it is /, as MCP clients often start servers), the output, home and
// temporary directories.
func defaultRoots(transport, outputDir string, getenv func(string) string) []string {
	if transport != "stdio" {
		return []string{outputDir}
	}
	var roots []string
	if wd, err := os.Getwd(); err == nil && filepath.Dir(wd) != wd {
		roots = append(roots, wd)
	}
	roots = append(roots, outputDir)
	if h := getenv("HOME"); h != "" {
		roots = append(roots, h)
	} else if h := getenv("USERPROFILE"); h != "" {
		roots = append(roots, h)
	}
	return append(roots, os.TempDir())
}

// validateHTTP checks the network settings: a server reachable from other machines must have
// a token unless the user says otherwise in so many words.
func (c *Config) validateHTTP() []error {
	var p []error
	if c.AuthToken == "" && c.AuthTokenFile != "" {
		data, err := os.ReadFile(c.AuthTokenFile)
		if err != nil {
			p = append(p, fmt.Errorf("--auth-token-file %s cannot be read: %v", c.AuthTokenFile, errors.Unwrap(err)))
		}
		c.AuthToken = strings.TrimSpace(string(data))
		if err == nil && c.AuthToken == "" {
			p = append(p, fmt.Errorf("--auth-token-file %s is empty; put the token in it", c.AuthTokenFile))
		}
	}
	if c.AuthTokensFile != "" {
		data, err := os.ReadFile(c.AuthTokensFile)
		if err != nil {
			p = append(p, fmt.Errorf("--auth-tokens-file %s cannot be read: %v", c.AuthTokensFile, errors.Unwrap(err)))
		} else if c.Principals, err = server.ParseTokens(data); err != nil {
			p = append(p, fmt.Errorf("--auth-tokens-file %s: %w; each line is name=token", c.AuthTokensFile, err))
		}
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil || port == "" {
		return append(p, fmt.Errorf("--addr %q is not host:port, e.g. 127.0.0.1:8080", c.Addr))
	}
	ip := net.ParseIP(host)
	loopback := strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback())
	if !loopback && c.AuthToken == "" && c.AuthTokensFile == "" && !c.InsecureNoAuth {
		p = append(p, fmt.Errorf("--addr %s is reachable from other machines and no token is set; set --auth-token (or NANOBANANA_AUTH_TOKEN), bind 127.0.0.1, or pass --insecure-no-auth", c.Addr))
	}
	if c.SessionTTL <= 0 {
		p = append(p, fmt.Errorf("--session-ttl must be a positive duration such as 30m"))
	}
	if c.MaxBody <= 0 {
		p = append(p, fmt.Errorf("--max-body-mb must be at least 1"))
	}
	if c.Grace < 0 {
		p = append(p, fmt.Errorf("--shutdown-grace must not be negative"))
	}
	return p
}

// defaultOutputDir is under the user's data directory, never the working directory: an MCP
// client's working directory is often / or the app bundle.
func defaultOutputDir(getenv func(string) string) string {
	const sub = "nanobanana-mcp/images"
	switch runtime.GOOS {
	case "windows":
		if d := getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, filepath.FromSlash(sub))
		}
	case "darwin":
		if h := getenv("HOME"); h != "" {
			return filepath.Join(h, "Library", "Application Support", filepath.FromSlash(sub))
		}
	}
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, filepath.FromSlash(sub))
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", filepath.FromSlash(sub))
	}
	return ""
}

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

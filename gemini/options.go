package gemini

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience"
)

// The client's defaults: what NewClient applies to a zero value, and what the flags show.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultTimeout        = 300 * time.Second // per request up to 2K
	DefaultTimeout4K      = 600 * time.Second // per request at 4K
	DefaultCallTimeout    = 10 * time.Minute  // one tool call, waits and retries included
)

// ClientOptions are the operator's choices about the client: the model registry, the default
// model and the request deadlines. Validation errors name the flags that set them (--timeout),
// the words the operator knows.
type ClientOptions struct {
	Model          string // default model alias or id; empty: the registry's default
	Models         string // a JSON model registry replacing the built-in one (--models-file)
	ConnectTimeout time.Duration
	Timeout        time.Duration
	Timeout4K      time.Duration
}

// DefaultClientOptions are the defaults of ClientOptions.
func DefaultClientOptions() ClientOptions {
	return ClientOptions{ConnectTimeout: DefaultConnectTimeout, Timeout: DefaultTimeout, Timeout4K: DefaultTimeout4K}
}

// Validate reports every bad value, one sentence each.
func (o ClientOptions) Validate() error {
	var p []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"timeout", o.Timeout}, {"timeout-4k", o.Timeout4K}, {"connect-timeout", o.ConnectTimeout}} {
		if d.v <= 0 {
			p = append(p, fmt.Errorf("--%s must be a positive duration such as 300s, not %s", d.name, d.v))
		}
	}
	return errors.Join(p...)
}

// ResilienceOptions are the operator's choices about the one retry layer: the fallback chain,
// the bounds of a call, local rate limits and the circuit breaker. NewResilience builds the
// pieces from them.
type ResilienceOptions struct {
	Fallback      []string // the chain in order of preference; empty: no fallback
	FallbackQuota bool     // a spent quota of the requested model moves to the next one
	MaxAttempts   int
	CallTimeout   time.Duration
	Tier          string // the project's Gemini tier for local limits; empty: learn from 429s
	RPM, IPM, RPD int    // per-model overrides of the tier; 0: the tier's
	Concurrency   int
	BreakerAfter  int           // consecutive server-side failures that open a breaker
	BreakerCool   time.Duration // how long an open breaker stays open
}

// DefaultResilienceOptions are the defaults of ResilienceOptions.
func DefaultResilienceOptions() ResilienceOptions {
	return ResilienceOptions{
		Fallback:     append([]string(nil), DefaultFallbacks...),
		MaxAttempts:  resilience.DefaultMaxAttempts,
		CallTimeout:  DefaultCallTimeout,
		Concurrency:  resilience.DefaultConcurrency,
		BreakerAfter: resilience.DefaultBreakerThreshold,
		BreakerCool:  resilience.DefaultBreakerCooldown,
	}
}

// Validate reports every bad value, one sentence each. Whether the fallback models exist is
// the registry's question, answered by NewResilience.
func (o ResilienceOptions) Validate() error {
	var p []error
	if o.Tier != "" {
		if _, err := resilience.Tier(o.Tier, ""); err != nil {
			p = append(p, fmt.Errorf("--tier %q is not known; use free, 1, 2 or 3", o.Tier))
		}
	}
	if o.RPM < 0 || o.IPM < 0 || o.RPD < 0 || o.MaxAttempts < 1 || o.Concurrency < 1 || o.BreakerAfter < 1 {
		p = append(p, errors.New("--rpm, --ipm and --rpd must not be negative; --max-attempts, --concurrency and --breaker-threshold must be at least 1"))
	}
	if o.CallTimeout <= 0 || o.BreakerCool <= 0 {
		p = append(p, errors.New("--call-timeout and --breaker-cooldown must be positive durations"))
	}
	return errors.Join(p...)
}

// NewResilience builds the limiter, the breaker and the fallback chain. statePath is the file
// of the daily quota counts (session.Layout decides where; empty keeps them in memory); the
// breaker's state changes are logged.
func NewResilience(o ResilienceOptions, reg *Registry, statePath string, logger *slog.Logger) (Resilience, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return newResilience(o, reg, statePath, nil, logger)
}

// NewSharedResilience is NewResilience for one of several replicas sharing the Redis of
// client: the per-minute and daily quotas are counted, and open breakers seen, across all of
// them (resilience.NewRedisShared). While Redis does not answer each replica keeps to its own
// limits, with one warning.
func NewSharedResilience(o ResilienceOptions, reg *Registry, client redis.UniversalClient, logger *slog.Logger) (Resilience, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	shared := resilience.NewRedisShared(resilience.RedisOptions{Client: client, Logger: logger})
	return newResilience(o, reg, "", &shared, logger)
}

func newResilience(o ResilienceOptions, reg *Registry, statePath string, shared *resilience.RedisShared, logger *slog.Logger) (Resilience, error) {
	for _, name := range o.Fallback {
		if _, err := reg.Lookup(name); err != nil {
			return Resilience{}, fmt.Errorf("--fallback: %w", err)
		}
	}
	lcfg := resilience.LimiterConfig{Tier: o.Tier,
		Override: resilience.Limits{RPM: o.RPM, IPM: o.IPM, RPD: o.RPD}, Concurrency: o.Concurrency,
		StatePath: statePath, Logger: logger}
	bcfg := resilience.BreakerConfig{Threshold: o.BreakerAfter, Cooldown: o.BreakerCool,
		OnChange: func(model string, from, to resilience.BreakerState) {
			logger.Warn("circuit breaker", "model", model, "from", from, "to", to)
		}}
	if shared != nil {
		lcfg.Window, lcfg.Daily, bcfg.Shared = shared.Window, shared.Daily, shared.Breakers
	}
	limiter, err := resilience.NewLimiter(lcfg)
	if err != nil {
		return Resilience{}, fmt.Errorf("setting up rate limits: %w", err)
	}
	breaker := resilience.NewBreaker(bcfg)
	return Resilience{Fallbacks: o.Fallback, FallbackOnQuota: o.FallbackQuota, MaxAttempts: o.MaxAttempts,
		CallTimeout: o.CallTimeout, Limiter: limiter, Breaker: breaker}, nil
}

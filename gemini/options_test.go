package gemini

import (
	"strings"
	"testing"
	"time"
)

// The defaults pass; each bad value is refused in one sentence naming its flag.
func TestOptionsValidate(t *testing.T) {
	if err := DefaultClientOptions().Validate(); err != nil {
		t.Errorf("default client options: %v", err)
	}
	if err := DefaultResilienceOptions().Validate(); err != nil {
		t.Errorf("default resilience options: %v", err)
	}
	client := map[string]func(*ClientOptions){
		"--timeout must be a positive duration such as 300s, not 0s":         func(o *ClientOptions) { o.Timeout = 0 },
		"--timeout-4k must be a positive duration such as 300s, not -1s":     func(o *ClientOptions) { o.Timeout4K = -time.Second },
		"--connect-timeout must be a positive duration such as 300s, not 0s": func(o *ClientOptions) { o.ConnectTimeout = 0 },
	}
	for want, change := range client {
		o := DefaultClientOptions()
		change(&o)
		if err := o.Validate(); err == nil || err.Error() != want {
			t.Errorf("got %v, want %q", err, want)
		}
	}
	const limits = "--rpm, --ipm and --rpd must not be negative; --max-attempts, --concurrency and --breaker-threshold must be at least 1"
	const durations = "--call-timeout and --breaker-cooldown must be positive durations"
	res := []struct {
		want   string
		change func(*ResilienceOptions)
	}{
		{`--tier "7" is not known; use free, 1, 2 or 3`, func(o *ResilienceOptions) { o.Tier = "7" }},
		{limits, func(o *ResilienceOptions) { o.RPD = -1 }},
		{limits, func(o *ResilienceOptions) { o.MaxAttempts = 0 }},
		{limits, func(o *ResilienceOptions) { o.Concurrency = 0 }},
		{limits, func(o *ResilienceOptions) { o.BreakerAfter = 0 }},
		{durations, func(o *ResilienceOptions) { o.CallTimeout = 0 }},
		{durations, func(o *ResilienceOptions) { o.BreakerCool = -time.Second }},
	}
	for _, tc := range res {
		o := DefaultResilienceOptions()
		tc.change(&o)
		if err := o.Validate(); err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	o := DefaultResilienceOptions()
	o.Tier = "free"
	if err := o.Validate(); err != nil {
		t.Errorf("--tier free: %v", err)
	}
}

// NewResilience builds what the client runs with, and refuses a fallback the registry lacks.
func TestNewResilience(t *testing.T) {
	reg := DefaultRegistry()
	o := DefaultResilienceOptions()
	o.Fallback = []string{"nano-banana-pro", "no-such-model"}
	if _, err := NewResilience(o, reg, "", nil); err == nil || !strings.HasPrefix(err.Error(), "--fallback: ") {
		t.Errorf("an unknown fallback: %v", err)
	}
	o = DefaultResilienceOptions()
	o.FallbackQuota, o.MaxAttempts, o.CallTimeout = true, 2, time.Minute
	res, err := NewResilience(o, reg, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Fallbacks, ",") != strings.Join(DefaultFallbacks, ",") || !res.FallbackOnQuota ||
		res.MaxAttempts != 2 || res.CallTimeout != time.Minute || res.Limiter == nil || res.Breaker == nil {
		t.Errorf("resilience %+v does not carry the options", res)
	}
}

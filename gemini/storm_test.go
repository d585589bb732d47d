package gemini

import (
	"context"
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience/resiliencetest"
)

// TestOverloadStorm: every call to Pro answers 503 for the whole run. Calls keep coming, one
// simulated second apart; the fallback serves them and the breaker keeps the calls wasted on
// Pro to a probe per cool-down. DESIGN.md: ≥ 99% still served, wasted calls ≤ 20% of successes.
func TestOverloadStorm(t *testing.T) {
	sim, err := geminitest.New(geminitest.Config{Faults: "gemini-3-pro-image:503", RecordLimit: 4096})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	clock := resiliencetest.NewFakeClock(time.Now())
	c, err := NewClient(context.Background(), Config{APIKey: "k", BaseURL: sim.URL(), Resilience: Resilience{
		Fallbacks: DefaultFallbacks, Clock: clock,
		Breaker: resilience.NewBreaker(resilience.BreakerConfig{Clock: clock}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	calls := 300
	if testing.Short() {
		calls = 100 // the breaker's share of waste is already visible after a few cool-downs
	}
	served := 0
	for range calls {
		if res, err, _ := runFake(t, c, clock, Request{Prompt: "storm", Options: Options{Model: "nano-banana-pro"}}); err == nil && res != nil {
			served++
		}
		clock.Advance(time.Second)
	}
	wasted := 0
	for _, r := range sim.Requests() {
		if r.Model == "gemini-3-pro-image" {
			wasted++
		}
	}
	share, waste := float64(served)/float64(calls), float64(wasted)/float64(max(served, 1))
	t.Logf("503 storm on Pro: %d/%d calls served (%.1f%%), %d calls wasted on Pro (%.1f%% of successes)", served, calls, 100*share, wasted, 100*waste)
	if share < 0.99 || waste > 0.20 {
		t.Errorf("served %.3f (want ≥ 0.99), wasted %.3f of successes (want ≤ 0.20)", share, waste)
	}
}

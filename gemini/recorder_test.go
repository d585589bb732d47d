package gemini

import (
	"sync"
	"testing"
	"time"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience/resiliencetest"
)

type recorded struct {
	mu        sync.Mutex
	calls     []CallRecord
	fallbacks [][2]string
}

func (r *recorded) Generation(c CallRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

func (r *recorded) Fallback(from, to string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fallbacks = append(r.fallbacks, [2]string{from, to})
}

// What metrics are built from: an overloaded Pro falls back to Nano Banana 2.1, whose first
// answer is a proxy's 502 and whose retry succeeds. The recorder sees one generation carrying
// all three upstream calls with their failures, and the move from Pro to 2.1.
func TestRecorderSeesEveryTryAndFallback(t *testing.T) {
	rec := &recorded{}
	clock := resiliencetest.NewFakeClock(time.Now())
	c, sim := newTestClient(t, Config{Recorder: rec, Resilience: Resilience{Fallbacks: DefaultFallbacks, Clock: clock,
		Breaker: resilience.NewBreaker(resilience.BreakerConfig{Clock: clock})}})
	sim.Enqueue("gemini-3-pro-image", geminitest.Overloaded())
	sim.Enqueue("gemini-nano-banana-2.1", geminitest.BadGateway())
	if _, err, _ := runFake(t, c, clock, Request{Prompt: "p", Options: Options{Model: "nano-banana-pro"}}); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) != 1 {
		t.Fatalf("%d generations recorded, want 1", len(rec.calls))
	}
	got := rec.calls[0]
	if got.Model != "gemini-nano-banana-2.1" || got.FallbackFrom != "gemini-3-pro-image" || got.Category != "" || got.CostUSD <= 0 {
		t.Errorf("recorded %s (from %s, category %q, cost %v); want a paid success of 2.1 from Pro",
			got.Model, got.FallbackFrom, got.Category, got.CostUSD)
	}
	if len(got.Tries) != 3 || got.Tries[0].Category != apierrors.Overloaded || got.Tries[1].Model != "gemini-nano-banana-2.1" ||
		got.Tries[1].Category == "" || got.Tries[2].Category != "" {
		t.Errorf("tries %+v; want Pro overloaded, 2.1 failing, 2.1 succeeding", got.Tries)
	}
	if len(rec.fallbacks) != 1 || rec.fallbacks[0] != [2]string{"gemini-3-pro-image", "gemini-nano-banana-2.1"} {
		t.Errorf("fallbacks %v; want one from Pro to 2.1", rec.fallbacks)
	}
}

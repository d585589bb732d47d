package gemini

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience/resiliencetest"
)

// maxInMinute is the most requests the simulator saw in any rolling minute [t, t+60 s).
func maxInMinute(at []time.Time) int {
	best := 0
	for _, a := range at {
		n := 0
		for _, b := range at {
			if !b.Before(a) && b.Before(a.Add(time.Minute)) {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}

// Twelve calls fired together with --rpm 6 against a simulator enforcing 6 requests per
// rolling minute: six go at once, six a window later, and Gemini never answers 429. Even
// spacing (the old token bucket) sent the 12th 111 s after the first.
func TestBurstOfTwelveAtRPM6UsesTheWholeQuota(t *testing.T) {
	clock := resiliencetest.NewFakeClock(time.Now())
	const model = "gemini-nano-banana-2.1"
	sim, err := geminitest.New(geminitest.Config{Clock: clock.Now,
		Quotas: map[string]geminitest.Quota{model: {RPM: 6}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	lim, err := resilience.NewLimiter(resilience.LimiterConfig{Override: resilience.Limits{RPM: 6},
		Concurrency: -1, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(context.Background(), Config{APIKey: "k", BaseURL: sim.URL(),
		Resilience: Resilience{Limiter: lim, Clock: clock, MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 12
	var live atomic.Int64
	live.Store(n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer live.Add(-1)
			_, errs[i] = c.Generate(context.Background(), Request{Prompt: "a burst", Options: Options{Model: model}})
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	// The clock moves only when every unfinished call is parked on a timer, never under a
	// request that is on the wire.
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			if p := clock.Pending(); p > 0 && int64(p) >= live.Load() {
				clock.AdvanceNext()
			} else {
				runtime.Gosched()
			}
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i+1, err)
		}
	}
	var at []time.Time
	for _, r := range sim.Requests() {
		if r.Action != "generateContent" {
			continue
		}
		if r.Status != 200 {
			t.Errorf("the simulator answered %d", r.Status)
		}
		at = append(at, r.Time)
	}
	if len(at) != n {
		t.Fatalf("%d upstream calls, want %d", len(at), n)
	}
	if got := maxInMinute(at); got > 6 {
		t.Errorf("%d requests in one rolling minute at the simulator, limit 6", got)
	}
	first, last := at[0], at[0]
	for _, a := range at {
		first, last = minTime(first, a), maxTime(last, a)
	}
	if span := last.Sub(first); span < time.Minute || span > 62*time.Second {
		t.Errorf("the 12th call reached Gemini %v after the first, want about 60 s", span)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

package gemini

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience/resiliencetest"
)

// run calls Generate while moving the fake clock to each timer the executor waits on, so waits
// of seconds take none; it returns the result and how far the clock moved.
func runFake(t *testing.T, c *Client, clock *resiliencetest.FakeClock, req Request) (*Result, error, time.Duration) {
	t.Helper()
	start := clock.Now()
	done := make(chan struct{})
	var res *Result
	var err error
	go func() {
		defer close(done)
		res, err = c.Generate(context.Background(), req)
	}()
	for {
		select {
		case <-done:
			return res, err, clock.Now().Sub(start)
		default:
		}
		if clock.Pending() > 0 {
			clock.AdvanceNext()
		} else {
			runtime.Gosched()
		}
	}
}

func resilientClient(t *testing.T, fallbacks ...string) (*Client, *geminitest.Server, *resiliencetest.FakeClock) {
	t.Helper()
	clock := resiliencetest.NewFakeClock(time.Now())
	c, sim := newTestClient(t, Config{Resilience: Resilience{Fallbacks: fallbacks, Clock: clock,
		Breaker: resilience.NewBreaker(resilience.BreakerConfig{Clock: clock})}})
	return c, sim, clock
}

func TestRetryHonoursRetryInfo(t *testing.T) {
	c, sim, clock := resilientClient(t)
	sim.Enqueue("", geminitest.RateLimited(1500*time.Millisecond))
	res, err, waited := runFake(t, c, clock, Request{Prompt: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || waited < 1500*time.Millisecond {
		t.Errorf("attempts %d after waiting %v; want 2 after at least the 1.5 s RetryInfo asked for", res.Attempts, waited)
	}
}

func TestRetryOnceOnBadGateway(t *testing.T) {
	c, sim, clock := resilientClient(t)
	sim.Enqueue("", geminitest.BadGateway())
	res, err, _ := runFake(t, c, clock, Request{Prompt: "p"})
	if err != nil || res.Attempts != 2 {
		t.Errorf("attempts %v err %v", res, err)
	}
}

func TestDailyQuotaIsNotRetried(t *testing.T) {
	c, sim, clock := resilientClient(t)
	sim.Enqueue("", geminitest.DailyQuota())
	_, err, _ := runFake(t, c, clock, Request{Prompt: "p"})
	if d := apierrors.Classify(err); d.Category != apierrors.DailyQuota || len(sim.Requests()) != 1 {
		t.Errorf("category %s after %d calls; want daily_quota after exactly one", d.Category, len(sim.Requests()))
	}
}

func TestOverloadedProFallsBack(t *testing.T) {
	c, sim, clock := resilientClient(t, DefaultFallbacks...)
	sim.Enqueue("gemini-3-pro-image", geminitest.Overloaded())
	res, err, _ := runFake(t, c, clock, Request{Prompt: "p", Options: Options{Model: "nano-banana-pro", ImageSize: "4K", AspectRatio: "21:9"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Model != "gemini-nano-banana-2.1" || res.FallbackFrom != "gemini-3-pro-image" {
		t.Errorf("served by %s from %s", res.Model, res.FallbackFrom)
	}
	var pro int
	for _, r := range sim.Requests() {
		if r.Model == "gemini-3-pro-image" {
			pro++
		}
	}
	if pro != 1 {
		t.Errorf("%d calls wasted on the overloaded model; a 503 goes to the fallback at once", pro)
	}
	if !strings.Contains(strings.Join(res.Notes, "|"), "served this call") {
		t.Errorf("notes %v", res.Notes)
	}
}

func TestFallbackAdaptsParametersWithANote(t *testing.T) {
	c, sim, clock := resilientClient(t, "nano-banana")
	sim.Enqueue("gemini-3-pro-image", geminitest.Overloaded())
	res, err, _ := runFake(t, c, clock, Request{Prompt: "p", Options: Options{Model: "nano-banana-pro", ImageSize: "4K", AspectRatio: "16:9"}})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(res.Notes, "|")
	if res.Model != "gemini-2.5-flash-image" || !strings.Contains(notes, "size 4K is not supported, 1K was used") {
		t.Errorf("model %s notes %s", res.Model, notes)
	}
	if res.Width != 1344 || res.Height != 768 {
		t.Errorf("%d×%d; the ratio is kept where the fallback supports it", res.Width, res.Height)
	}
}

func TestPinnedConversationNeverFallsBack(t *testing.T) {
	c, sim, clock := resilientClient(t, DefaultFallbacks...)
	for range 4 {
		sim.Enqueue("gemini-3-pro-image", geminitest.Overloaded())
	}
	_, err, _ := runFake(t, c, clock, Request{Prompt: "p", UpstreamID: "gemini-3-pro-image", Options: Options{Model: "gemini-3-pro-image"}})
	d := apierrors.Classify(err)
	if d.Category != apierrors.Overloaded {
		t.Fatalf("%+v", d)
	}
	for _, r := range sim.Requests() {
		if r.Model != "gemini-3-pro-image" {
			t.Errorf("a pinned conversation went to %s", r.Model)
		}
	}
	if !strings.Contains(d.Summary+strings.Join(d.Fix, " "), "conversation") {
		t.Errorf("the error should say how to carry on: %s %v", d.Summary, d.Fix)
	}
}

func TestProgressMessagesDuringWaits(t *testing.T) {
	c, sim, clock := resilientClient(t)
	sim.Enqueue("", geminitest.RateLimited(37*time.Second))
	var msgs []string
	req := Request{Prompt: "p", Options: Options{Model: "nano-banana-pro"}, Progress: func(m string) { msgs = append(msgs, m) }}
	done := make(chan error)
	go func() { _, err := c.Generate(context.Background(), req); done <- err }()
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
			if clock.Pending() > 0 {
				clock.AdvanceNext()
			} else {
				runtime.Gosched()
			}
		}
	}
	joined := strings.Join(msgs, "\n")
	if !strings.Contains(joined, "per-minute quota of gemini-3-pro-image") || !strings.Contains(joined, "attempt 2 of 4") || len(msgs) < 4 {
		t.Errorf("progress messages:\n%s", joined)
	}
}

func TestUsageReport(t *testing.T) {
	c, sim, clock := resilientClient(t, DefaultFallbacks...)
	runFake(t, c, clock, Request{Prompt: "ok"})
	sim.Enqueue("", geminitest.DailyQuota())
	runFake(t, c, clock, Request{Prompt: "fails"})
	sim.Enqueue("gemini-3-pro-image", geminitest.Overloaded())
	runFake(t, c, clock, Request{Prompt: "falls back", Options: Options{Model: "nano-banana-pro"}})
	rep := c.Usage().Report(time.Time{})
	if rep.Calls != 3 || rep.Images != 2 || rep.Errors["daily_quota"] != 1 || rep.Fallbacks != 1 ||
		rep.UpstreamErrs["overloaded"] != 1 || rep.CostPerImage <= 0 || len(rep.Hours) == 0 {
		t.Errorf("%+v", rep)
	}
}

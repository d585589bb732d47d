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

// Each upstream failure gets the retry its kind deserves: a 429 waits as long as RetryInfo
// asks, a 502 is tried once more, and a spent daily quota is not retried at all.
func TestRetryPerFault(t *testing.T) {
	for _, tc := range []struct {
		name         string
		fault        geminitest.Fault
		wantAttempts int                // upstream calls, and Result.Attempts when it succeeds
		wantWait     time.Duration      // at least this long on the fake clock
		wantCategory apierrors.Category // "" when the call succeeds
	}{
		{"RetryHonoursRetryInfo", geminitest.RateLimited(1500 * time.Millisecond), 2, 1500 * time.Millisecond, ""},
		{"RetryOnceOnBadGateway", geminitest.BadGateway(), 2, 0, ""},
		{"DailyQuotaIsNotRetried", geminitest.DailyQuota(), 1, 0, apierrors.DailyQuota},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, sim, clock := resilientClient(t)
			sim.Enqueue("", tc.fault)
			res, err, waited := runFake(t, c, clock, Request{Prompt: "p"})
			if d := apierrors.Classify(err); err != nil && d.Category != tc.wantCategory || err == nil && tc.wantCategory != "" {
				t.Fatalf("error %v (%s); want category %q", err, d.Category, tc.wantCategory)
			}
			if err == nil && res.Attempts != tc.wantAttempts {
				t.Errorf("result says %d attempts; want %d", res.Attempts, tc.wantAttempts)
			}
			if n := len(sim.Requests()); n != tc.wantAttempts || waited < tc.wantWait {
				t.Errorf("%d upstream calls after waiting %v; want exactly %d after at least %v", n, waited, tc.wantAttempts, tc.wantWait)
			}
		})
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

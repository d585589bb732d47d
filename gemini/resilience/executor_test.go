package resilience

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

var (
	pro   = Candidate{ID: "gemini-3-pro-image", Family: "pro"}
	nb2   = Candidate{ID: "gemini-3.1-flash-image", Family: "flash"}
	nb    = Candidate{ID: "gemini-2.5-flash-image", Family: "flash"}
	chain = []Candidate{nb2, nb}
)

func TestExecutorSequences(t *testing.T) {
	tests := []struct {
		name     string
		plan     Plan
		answers  map[string][]error
		deadline time.Duration // 0: none
		// expected
		attempts  int
		calls     map[string]int
		model     string
		from      string
		category  apierrors.Category // "" for success
		minWait   time.Duration
		maxWait   time.Duration
		retryMin  float64 // minimum RetryAfterSeconds of the failure
		summaryIn string
	}{
		{name: "429 with RetryInfo 1.5 s then 200", plan: Plan{Model: nb2},
			answers:  map[string][]error{nb2.ID: {errPerMinute("1.5s")}},
			attempts: 2, calls: map[string]int{nb2.ID: 2}, model: nb2.ID, minWait: 1500 * time.Millisecond, maxWait: 2 * time.Second},
		{name: "429 without RetryInfo on flash backs off from 1 s", plan: Plan{Model: nb2},
			answers:  map[string][]error{nb2.ID: {errPerMinute(""), errPerMinute("")}},
			attempts: 3, calls: map[string]int{nb2.ID: 3}, model: nb2.ID, minWait: 2250 * time.Millisecond, maxWait: 3750 * time.Millisecond},
		{name: "429 without RetryInfo on pro backs off from 5 s", plan: Plan{Model: pro},
			answers:  map[string][]error{pro.ID: {errPerMinute("")}},
			attempts: 2, calls: map[string]int{pro.ID: 2}, model: pro.ID, minWait: 3750 * time.Millisecond, maxWait: 6250 * time.Millisecond},
		{name: "per-day 429 is daily_quota after one call", plan: Plan{Model: pro, Fallbacks: chain},
			answers:  map[string][]error{pro.ID: {errPerDay}},
			attempts: 1, calls: map[string]int{pro.ID: 1}, category: apierrors.DailyQuota, retryMin: 1},
		{name: "per-day 429 falls back when quota fallback is on", plan: Plan{Model: pro, Fallbacks: chain, FallbackOnQuota: true},
			answers:  map[string][]error{pro.ID: {errPerDay}},
			attempts: 2, calls: map[string]int{pro.ID: 1, nb2.ID: 1}, model: nb2.ID, from: pro.ID},
		{name: "503 on pro goes to the fallback at once", plan: Plan{Model: pro, Fallbacks: chain},
			answers:  map[string][]error{pro.ID: {err503, err503, err503}},
			attempts: 2, calls: map[string]int{pro.ID: 1, nb2.ID: 1}, model: nb2.ID, from: pro.ID},
		{name: "503 on pro and nb2 reaches the last fallback", plan: Plan{Model: pro, Fallbacks: chain},
			answers:  map[string][]error{pro.ID: {err503}, nb2.ID: {err503}},
			attempts: 3, calls: map[string]int{pro.ID: 1, nb2.ID: 1, nb.ID: 1}, model: nb.ID, from: pro.ID},
		{name: "503 without fallback waits in long steps", plan: Plan{Model: pro},
			answers:  map[string][]error{pro.ID: {err503, err503, err503, err503}},
			attempts: 4, calls: map[string]int{pro.ID: 4}, category: apierrors.Overloaded,
			minWait: 50 * time.Second, maxWait: 50 * time.Second, summaryIn: "gave up after 4 attempts"},
		{name: "503 on a pinned conversation says how to carry on", plan: Plan{Model: pro, Fallbacks: chain, Pinned: true, MaxAttempts: 2},
			answers:  map[string][]error{pro.ID: {err503, err503}},
			attempts: 2, calls: map[string]int{pro.ID: 2}, category: apierrors.Overloaded, summaryIn: "pinned to gemini-3-pro-image"},
		{name: "503 without fallback stops when the next step passes the deadline", plan: Plan{Model: pro},
			answers: map[string][]error{pro.ID: {err503, err503, err503}}, deadline: 12 * time.Second,
			attempts: 2, calls: map[string]int{pro.ID: 2}, category: apierrors.Overloaded, minWait: 5 * time.Second, maxWait: 5 * time.Second,
			retryMin: 15, summaryIn: "would pass this call's deadline"},
		{name: "502 once is retried", plan: Plan{Model: nb2},
			answers:  map[string][]error{nb2.ID: {err502}},
			attempts: 2, calls: map[string]int{nb2.ID: 2}, model: nb2.ID, minWait: time.Second, maxWait: time.Second},
		{name: "500 twice then the fallback", plan: Plan{Model: pro, Fallbacks: chain},
			answers:  map[string][]error{pro.ID: {err500, err500, err500}},
			attempts: 4, calls: map[string]int{pro.ID: 3, nb2.ID: 1}, model: nb2.ID, from: pro.ID, minWait: 4 * time.Second, maxWait: 4 * time.Second},
		{name: "504 is retried", plan: Plan{Model: nb2, AttemptTimeout: time.Minute},
			answers:  map[string][]error{nb2.ID: {err504}},
			attempts: 2, calls: map[string]int{nb2.ID: 2}, model: nb2.ID},
		{name: "network error is retried quickly", plan: Plan{Model: nb2},
			answers:  map[string][]error{nb2.ID: {errNetwork, errNetwork}},
			attempts: 3, calls: map[string]int{nb2.ID: 3}, model: nb2.ID, minWait: 1500 * time.Millisecond, maxWait: 1500 * time.Millisecond},
		{name: "400 is one call", plan: Plan{Model: pro, Fallbacks: chain},
			answers:  map[string][]error{pro.ID: {err400}},
			attempts: 1, calls: map[string]int{pro.ID: 1}, category: apierrors.InvalidRequest},
		{name: "safety block is one call", plan: Plan{Model: pro, Fallbacks: chain},
			answers:  map[string][]error{pro.ID: {errSafety}},
			attempts: 1, calls: map[string]int{pro.ID: 1}, category: apierrors.SafetyBlocked},
		{name: "max attempts bound 429s", plan: Plan{Model: nb2, MaxAttempts: 2},
			answers:  map[string][]error{nb2.ID: {errPerMinute("1s"), errPerMinute("1s"), errPerMinute("1s")}},
			attempts: 2, calls: map[string]int{nb2.ID: 2}, category: apierrors.RateLimited, retryMin: 1, summaryIn: "gave up after 2 attempts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			up := &script{answers: tc.answers}
			ex := &Executor{Clock: clock}
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, clock.Now().Add(tc.deadline))
				defer cancel()
			}
			var out Outcome
			var got string
			var err error
			drive(t, clock, func() { got, out, err = Do(ctx, ex, tc.plan, up.call) })
			if want := "image from " + out.Model; err == nil && got != want || err != nil && got != "" {
				t.Errorf("Do returned %q with err %v; want %q from the call that succeeded, nothing on failure", got, err, want)
			}
			if out.Attempts != tc.attempts || len(up.calls) != tc.attempts {
				t.Errorf("attempts %d, calls %v; want %d", out.Attempts, up.calls, tc.attempts)
			}
			for m, n := range tc.calls {
				if got := up.count(m); got != n {
					t.Errorf("calls to %s: %d, want %d", m, got, n)
				}
			}
			if out.Waited < tc.minWait || (tc.maxWait > 0 && out.Waited > tc.maxWait) {
				t.Errorf("waited %v, want %v..%v", out.Waited, tc.minWait, tc.maxWait)
			}
			if tc.category == "" {
				if err != nil {
					t.Fatalf("err %v", err)
				}
				if out.Model != tc.model || out.FallbackFrom != tc.from {
					t.Errorf("model %q from %q; want %q from %q", out.Model, out.FallbackFrom, tc.model, tc.from)
				}
				return
			}
			ae, ok := apierrors.As(err)
			if !ok {
				t.Fatalf("err %T %v is not an *apierrors.Error", err, err)
			}
			d := ae.Diagnosis
			if d.Category != tc.category || out.Diagnosis == nil || out.Diagnosis.Category != tc.category {
				t.Errorf("category %q, want %q", d.Category, tc.category)
			}
			if d.RetryAfterSeconds < tc.retryMin {
				t.Errorf("retry after %v, want ≥ %v", d.RetryAfterSeconds, tc.retryMin)
			}
			if !strings.Contains(d.Summary, tc.summaryIn) {
				t.Errorf("summary %q lacks %q", d.Summary, tc.summaryIn)
			}
			if len(out.Tries) != tc.attempts {
				t.Errorf("tries %+v", out.Tries)
			}
		})
	}
}

func TestExecutorEvents(t *testing.T) {
	clock := newClock()
	up := &script{answers: map[string][]error{pro.ID: {quota429("GenerateRequestsPerMinutePerProjectPerModel", "10", "37s")}}}
	var events []Event
	plan := Plan{Model: pro, OnEvent: func(e Event) { events = append(events, e) }}
	ex := &Executor{Clock: clock}
	var err error
	drive(t, clock, func() { _, _, err = Do(context.Background(), ex, plan, up.call) })
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	waits := 0
	for _, e := range events {
		msgs = append(msgs, e.Message)
		if e.Kind == EventWaiting {
			waits++
		}
	}
	want := "waiting 37 s for the per-minute quota of gemini-3-pro-image (10 requests/min), attempt 2 of 4"
	if !strings.Contains(strings.Join(msgs, "\n"), want) {
		t.Errorf("events:\n%s\nlack %q", strings.Join(msgs, "\n"), want)
	}
	// 37 s of waiting reports at 37, 27, 17 and 7 s: at least every ProgressInterval.
	if waits != 4 {
		t.Errorf("%d waiting events, want 4: %q", waits, msgs)
	}
}

func TestExecutorCancelMidWait(t *testing.T) {
	clock := newClock()
	up := &script{answers: map[string][]error{pro.ID: {err503, err503}}}
	ctx, cancel := context.WithCancel(context.Background())
	ex := &Executor{Clock: clock}
	done := make(chan error)
	var out Outcome
	go func() {
		var err error
		_, out, err = Do(ctx, ex, Plan{Model: pro}, up.call)
		done <- err
	}()
	clock.BlockUntil(1) // waiting 5 s before attempt 2
	clock.Advance(2 * time.Second)
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v does not wrap context.Canceled", err)
	}
	if ae, ok := apierrors.As(err); !ok || ae.Diagnosis.Category != apierrors.Cancelled {
		t.Errorf("diagnosis %+v", ae)
	}
	if out.Attempts != 1 || clock.Pending() != 0 {
		t.Errorf("attempts %d, pending timers %d", out.Attempts, clock.Pending())
	}
}

func TestExecutorBreakerOpen(t *testing.T) {
	clock := newClock()
	br := NewBreaker(BreakerConfig{Clock: clock, Threshold: 2, Cooldown: 2 * time.Minute})
	ex := &Executor{Clock: clock, Breaker: br}
	// A 503 storm on pro: the breaker opens after two, then pro is skipped without a call.
	storm := &script{answers: map[string][]error{pro.ID: {err503, err503, err503, err503, err503}}}
	for i := 0; i < 5; i++ {
		got, out, err := Do(context.Background(), ex, Plan{Model: pro, Fallbacks: chain}, storm.call)
		if err != nil || out.Model != nb2.ID || out.FallbackFrom != pro.ID || got != "image from "+nb2.ID {
			t.Fatalf("call %d: %+v %v", i, out, err)
		}
	}
	if n := storm.count(pro.ID); n != 2 {
		t.Errorf("%d calls wasted on pro, want 2", n)
	}
	if s := br.Status(pro.ID); s.State != Open {
		t.Errorf("breaker %+v", s)
	}
	// Pinned to pro: fail fast, saying when.
	clock.Advance(30 * time.Second)
	_, _, err := Do(context.Background(), ex, Plan{Model: pro, Fallbacks: chain, Pinned: true}, storm.call)
	ae, ok := apierrors.As(err)
	if !ok || ae.Diagnosis.RetryAfterSeconds != 90 || !strings.Contains(ae.Diagnosis.Summary, "tried again in 90 s") ||
		!strings.Contains(ae.Diagnosis.Summary, "pinned") {
		t.Fatalf("err %v", err)
	}
	if n := storm.count(pro.ID); n != 2 {
		t.Errorf("pinned call reached pro")
	}
	// After the cool-down one probe goes through and, succeeding, closes the breaker.
	clock.Advance(90 * time.Second)
	ok2 := &script{answers: map[string][]error{}}
	_, out, err := Do(context.Background(), ex, Plan{Model: pro, Fallbacks: chain}, ok2.call)
	if err != nil || out.Model != pro.ID || br.Status(pro.ID).State != Closed {
		t.Fatalf("probe: %+v %v %+v", out, err, br.Status(pro.ID))
	}
}

func TestExecutorLimiterFailFast(t *testing.T) {
	clock := newClock()
	lim, err := NewLimiter(LimiterConfig{Tier: "1", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ex := &Executor{Clock: clock, Limiter: lim}
	up := &script{answers: map[string][]error{}}
	for range 10 { // Tier 1 takes a burst of 10 at once
		if _, _, err := Do(context.Background(), ex, Plan{Model: pro}, up.call); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(3 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), clock.Now().Add(3*time.Second))
	defer cancel()
	_, out, err := Do(ctx, ex, Plan{Model: pro}, up.call)
	ae, ok := apierrors.As(err)
	if !ok || ae.Diagnosis.Category != apierrors.RateLimited || out.Attempts != 0 || len(up.calls) != 10 {
		t.Fatalf("out %+v err %v", out, err)
	}
	want := "The per-minute quota of gemini-3-pro-image (10 requests/min) is used up here; the next slot is in 58 s"
	if !strings.HasPrefix(ae.Diagnosis.Summary, want) || ae.Diagnosis.RetryAfterSeconds != 58 {
		t.Errorf("summary %q retry %v", ae.Diagnosis.Summary, ae.Diagnosis.RetryAfterSeconds)
	}
	// With quota fallback, the same wait moves to the next model instead.
	_, out, err = Do(ctx, ex, Plan{Model: pro, Fallbacks: chain, FallbackOnQuota: true}, up.call)
	if err != nil || out.Model != nb2.ID {
		t.Fatalf("out %+v err %v", out, err)
	}
}

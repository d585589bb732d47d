package resilience

import (
	"testing"
	"time"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience/resiliencetest"
)

func TestBreakerStateMachine(t *testing.T) {
	clock := resiliencetest.NewFakeClock(t0)
	var changes []string
	b := NewBreaker(BreakerConfig{Clock: clock, OnChange: func(m string, from, to BreakerState) {
		changes = append(changes, string(from)+">"+string(to))
	}})
	const m = "gemini-3-pro-image"
	type step struct {
		advance time.Duration
		allow   bool               // expected Allow answer (checked before record)
		retryIn time.Duration      // expected when refused
		record  apierrors.Category // recorded when allowed; "-" abandons
		state   BreakerState       // after the step
	}
	steps := []step{
		{allow: true, record: apierrors.Overloaded, state: Closed},
		{allow: true, record: apierrors.BadGateway, state: Closed},
		{allow: true, record: apierrors.InvalidRequest, state: Closed}, // an answer resets the count
		{allow: true, record: apierrors.Overloaded, state: Closed},
		{allow: true, record: apierrors.ServerError, state: Closed},
		{allow: true, record: apierrors.Cancelled, state: Closed}, // neutral: neither counts nor resets
		{allow: true, record: apierrors.Timeout, state: Closed},
		{allow: true, record: apierrors.Overloaded, state: Closed},
		{allow: true, record: apierrors.Overloaded, state: Open}, // fifth in a row
		{advance: 30 * time.Second, allow: false, retryIn: 90 * time.Second, state: Open},
		{advance: 90 * time.Second, allow: true, record: "-", state: HalfOpen}, // probe granted, never sent
		{allow: true, record: apierrors.Overloaded, state: Open},               // the next probe fails: re-open
		{advance: 119 * time.Second, allow: false, retryIn: time.Second, state: Open},
		{advance: time.Second, allow: true, record: "", state: Closed}, // the probe succeeds
		{allow: true, record: apierrors.Overloaded, state: Closed},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		ok, retryIn := b.Allow(m)
		if ok != s.allow || (!ok && retryIn != s.retryIn) {
			t.Fatalf("step %d: Allow = %v, %v; want %v, %v", i, ok, retryIn, s.allow, s.retryIn)
		}
		if ok {
			if s.record == "-" {
				b.Abandon(m)
			} else {
				b.Record(m, s.record)
			}
		}
		if got := b.Status(m).State; got != s.state {
			t.Fatalf("step %d: state %s, want %s", i, got, s.state)
		}
	}
	want := []string{"closed>open", "open>half_open", "half_open>open", "open>half_open", "half_open>closed"}
	if len(changes) != len(want) {
		t.Fatalf("changes %v, want %v", changes, want)
	}
	for i := range want {
		if changes[i] != want[i] {
			t.Fatalf("changes %v, want %v", changes, want)
		}
	}
	if s := b.Snapshot(); len(s) != 1 || s[0].Opens != 2 || s[0].Failures != 1 {
		t.Errorf("snapshot %+v", s)
	}
}

func TestBreakerOneProbe(t *testing.T) {
	clock := resiliencetest.NewFakeClock(t0)
	b := NewBreaker(BreakerConfig{Clock: clock, Threshold: 1, Cooldown: time.Minute})
	b.Record("m", apierrors.Overloaded)
	clock.Advance(time.Minute)
	if ok, _ := b.Allow("m"); !ok {
		t.Fatal("no probe after the cool-down")
	}
	if ok, retryIn := b.Allow("m"); ok || retryIn != time.Minute {
		t.Fatalf("a second probe: %v %v", ok, retryIn)
	}
	// A probe that never reports is presumed lost after another cool-down.
	clock.Advance(time.Minute)
	if ok, _ := b.Allow("m"); !ok {
		t.Fatal("lost probe never replaced")
	}
	b.Record("m", apierrors.RateLimited) // a 429 is an answer: the model is up
	if s := b.Status("m"); s.State != Closed {
		t.Errorf("state %s", s.State)
	}
}

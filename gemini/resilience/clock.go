// Package resilience keeps calls to Gemini within the project's quota and gets them through an
// unreliable upstream: a per-model limiter (RPM, IPM, RPD, concurrency), a per-model circuit
// breaker, a retry policy driven by the Diagnosis category, and an executor that ties them
// together with model fallback. All time comes from an injected Clock so that tests never sleep.
package resilience

import (
	"context"
	"time"
)

// Clock is the source of time. RealClock is the wall clock; tests drive
// resiliencetest.FakeClock. It satisfies backoff.Clock.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer from a Clock. It is an alias of an unnamed interface so that a
// clock in another package (resiliencetest.FakeClock) satisfies Clock without importing this
// one, which lets this package's own tests use that clock.
type Timer = interface {
	// C delivers the time once the timer fires.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it was still pending.
	Stop() bool
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// ProgressInterval is how often a wait reports its remaining time. Clients that keep a call
// alive only while progress arrives (Cherry Studio resets a 10 s timer) are covered by the
// tools' heartbeat (--progress-every, 8 s by default), which runs during waits too.
const ProgressInterval = 10 * time.Second

// sleep waits d on clock, returning ctx.Err() at once if ctx ends first. When tick is not nil
// it is called every ProgressInterval with the time still to wait.
func sleep(ctx context.Context, clock Clock, d time.Duration, tick func(remaining time.Duration)) error {
	if d <= 0 {
		return ctx.Err()
	}
	return sleepUntil(ctx, clock, clock.Now().Add(d), tick)
}

// sleepUntil is sleep to an instant. The limiter uses it so that a slot booked for time T is
// used at T even if the goroutine reaches the wait late.
func sleepUntil(ctx context.Context, clock Clock, end time.Time, tick func(remaining time.Duration)) error {
	for {
		step := end.Sub(clock.Now())
		if step <= 0 {
			return ctx.Err()
		}
		if tick != nil && step > ProgressInterval {
			step = ProgressInterval
		}
		t := clock.NewTimer(step)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C():
		}
		if tick != nil {
			if rem := end.Sub(clock.Now()); rem > 0 {
				tick(rem)
			}
		}
	}
}

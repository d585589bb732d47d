package tools

import (
	"testing"
	"time"
)

// Memory goes back to the OS once, after the last call of a burst, and never while a call runs.
func TestReleaserWaitsForQuiet(t *testing.T) {
	var timers []func()
	released := 0
	r := &releaser{after: time.Second, release: func() { released++ },
		afterFunc: func(d time.Duration, f func()) { timers = append(timers, f) }}
	fire := func() {
		for _, f := range timers {
			f()
		}
		timers = nil
	}

	a, b := r.busy(), r.busy()
	a()
	if len(timers) != 0 {
		t.Fatal("a timer started while a call was still running")
	}
	b()
	c := r.busy() // a new call before the quiet second is over
	fire()
	if released != 0 {
		t.Fatal("released while a call was running")
	}
	c()
	fire()
	if released != 1 {
		t.Fatalf("released %d times after the burst, want 1", released)
	}
	d := r.busy()
	d()
	e := r.busy()
	e()
	fire() // the first timer is stale, the second fires
	if released != 2 {
		t.Fatalf("released %d times, want 2", released)
	}
}

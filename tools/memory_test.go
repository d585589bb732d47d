package tools

import (
	"math"
	"runtime/debug"
	"testing"
	"time"
)

// The heap gets a soft limit unless GOMEMLIMIT says otherwise.
func TestLimitMemory(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	debug.SetMemoryLimit(math.MaxInt64)
	LimitMemory(func(k string) string {
		if k == "GOMEMLIMIT" {
			return "1GiB"
		}
		return ""
	})
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("GOMEMLIMIT was set, yet the limit changed to %d", got)
	}
	LimitMemory(func(string) string { return "" })
	if got := debug.SetMemoryLimit(-1); got != DefaultMemoryLimit {
		t.Fatalf("limit %d, want %d", got, DefaultMemoryLimit)
	}
}

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

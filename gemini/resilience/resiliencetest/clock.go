// Package resiliencetest holds the fake clock that tests of resilience, gemini and tools drive,
// so that no test sleeps for real and no production binary carries a fake clock.
package resiliencetest

import (
	"sort"
	"sync"
	"time"
)

// Timer is resilience.Timer: the same unnamed interface, so FakeClock satisfies
// resilience.Clock without this package importing resilience.
type Timer = interface {
	C() <-chan time.Time
	Stop() bool
}

// FakeClock is a resilience.Clock that moves only when Advance or Set is called. Timers fire
// when the clock reaches them. BlockUntil lets a test wait until the code under test is waiting.
type FakeClock struct {
	mu      sync.Mutex
	cond    *sync.Cond
	now     time.Time
	timers  []*fakeTimer
	created int
}

// NewFakeClock returns a FakeClock reading start.
func NewFakeClock(start time.Time) *FakeClock {
	c := &FakeClock{now: start}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires when the clock reaches Now()+d; d <= 0 fires at once.
func (c *FakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clock: c, when: c.now.Add(d), ch: make(chan time.Time, 1)}
	c.created++
	if d <= 0 {
		t.ch <- c.now
		c.cond.Broadcast()
		return t
	}
	c.timers = append(c.timers, t)
	c.cond.Broadcast()
	return t
}

// Advance moves the clock forward by d, firing every timer due on the way, in order.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	c.Set(target)
}

// Set moves the clock to t (never backwards), firing every timer due on the way, in order.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.now) {
		return
	}
	sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].when.Before(c.timers[j].when) })
	kept := c.timers[:0]
	for _, tm := range c.timers {
		if !tm.when.After(t) {
			if tm.when.After(c.now) {
				c.now = tm.when
			}
			tm.ch <- c.now
			continue
		}
		kept = append(kept, tm)
	}
	c.timers = kept
	c.now = t
	c.cond.Broadcast()
}

// Pending returns how many timers are waiting to fire.
func (c *FakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// BlockUntil waits until at least n timers are pending.
func (c *FakeClock) BlockUntil(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.timers) < n {
		c.cond.Wait()
	}
}

// AdvanceNext moves the clock to the earliest pending timer and fires it (with any others due
// at that instant). It returns how far the clock moved, and false when no timer was pending.
// Tests use it to run a waiting goroutine to its next step without knowing how long it waits;
// BlockUntil(1) first makes sure it is waiting.
func (c *FakeClock) AdvanceNext() (time.Duration, bool) {
	c.mu.Lock()
	if len(c.timers) == 0 {
		c.mu.Unlock()
		return 0, false
	}
	next := c.timers[0].when
	for _, t := range c.timers[1:] {
		if t.when.Before(next) {
			next = t.when
		}
	}
	d := next.Sub(c.now)
	c.mu.Unlock()
	c.Set(next)
	return d, true
}

type fakeTimer struct {
	clock *FakeClock
	when  time.Time
	ch    chan time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, tm := range c.timers {
		if tm == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			c.cond.Broadcast()
			return true
		}
	}
	return false
}

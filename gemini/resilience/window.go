package resilience

import (
	"sync"
	"time"
)

// Span is the rolling window the per-minute limits are kept in. Google counts requests per
// rolling minute; the extra 1 % is a margin so that network jitter between us and Google
// cannot squeeze Q+1 of our requests into one of their minutes.
const Span = time.Minute * 101 / 100

// Want is one limit a request must fit: N events under Key, at most Limit of them in any
// rolling Span. A request books its RPM and IPM wants together.
type Want struct {
	Key   string // e.g. "rpm/gemini-3-pro-image"
	Limit int    // > 0
	N     int    // events this request adds; clamped to Limit (more could never fit)
}

// Window is the log of send times behind the per-minute limits: a sliding-window log, not a
// token bucket, so a burst up to the limit goes at once and no rolling window ever holds more
// than the limit. The in-memory log serves the callers of one process; RedisShared.Window serves
// several replicas sharing a quota, with one sorted set per key (score = send time) and a Lua
// script doing exactly what memWindow.Book does: trim, find the instant, ZADD, in one step.
type Window interface {
	// Book reserves every want at the earliest instant not before now (nor before any send
	// already booked under the same keys) at which each key's log holds fewer than Limit-N+1
	// sends in the Span before it. It returns that instant and a func that gives the booking
	// back (for a caller that stops waiting); cancel is safe to call more than once.
	Book(now time.Time, span time.Duration, wants []Want) (at time.Time, cancel func())
}

// NewMemoryWindow returns the in-process Window.
func NewMemoryWindow() Window { return &memWindow{log: map[string][]time.Time{}} }

type memWindow struct {
	mu  sync.Mutex
	log map[string][]time.Time // booked send times per key, ascending, possibly in the future
}

func (w *memWindow) Book(now time.Time, span time.Duration, wants []Want) (time.Time, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	at := now
	for _, x := range wants {
		ts := trim(w.log[x.Key], now.Add(-span))
		w.log[x.Key] = ts
		if len(ts) > 0 && ts[len(ts)-1].After(at) {
			at = ts[len(ts)-1] // FIFO: never jump ahead of a booked send
		}
		// Every send booked so far is at or before at, so the windows that hold at are
		// covered by the one ending at it: at most Limit-N sends may lie in (at-span, at].
		if k := len(ts) - (x.Limit - clampN(x)); k > 0 {
			if t := ts[k-1].Add(span); t.After(at) {
				at = t
			}
		}
	}
	for _, x := range wants {
		for range clampN(x) {
			w.log[x.Key] = append(w.log[x.Key], at)
		}
	}
	var once sync.Once
	return at, func() {
		once.Do(func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			for _, x := range wants {
				w.log[x.Key] = remove(w.log[x.Key], at, clampN(x))
			}
		})
	}
}

func clampN(x Want) int { return max(1, min(x.N, x.Limit)) }

// trim drops the sends at or before cut: they can no longer share a window with a new one.
func trim(ts []time.Time, cut time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	if i == 0 {
		return ts
	}
	return append(ts[:0], ts[i:]...)
}

// remove deletes n sends booked at at (fewer if trimmed meanwhile), keeping the order.
func remove(ts []time.Time, at time.Time, n int) []time.Time {
	out := ts[:0]
	for _, t := range ts {
		if n > 0 && t.Equal(at) {
			n--
			continue
		}
		out = append(out, t)
	}
	return out
}

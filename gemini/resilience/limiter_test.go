package resilience

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience/resiliencetest"
)

// maxInWindow is the most events in any half-open window [t, t+w).
func maxInWindow(at []time.Time, w time.Duration) int {
	best := 0
	for i := range at {
		n := 0
		for j := range at {
			if !at[j].Before(at[i]) && at[j].Before(at[i].Add(w)) {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}

func TestLimiterNeverExceedsRollingMinute(t *testing.T) {
	for _, q := range []int{1, 10, 30, 60} {
		clock := resiliencetest.NewFakeClock(t0)
		lim, _ := NewLimiter(LimiterConfig{Override: Limits{RPM: q}, Concurrency: -1, Clock: clock})
		const n = 90
		var mu sync.Mutex
		var at []time.Time
		var live atomic.Int64
		live.Store(n)
		driveQuiet(t, clock, func() int { return int(live.Load()) }, func() {
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					release, _, err := lim.Acquire(context.Background(), "m", 1)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					at = append(at, clock.Now())
					mu.Unlock()
					live.Add(-1)
					release()
				}()
			}
			wg.Wait()
		})
		if got := maxInWindow(at, time.Minute); got > q {
			t.Errorf("Q=%d: %d requests in one rolling minute", q, got)
		}
		if got := maxInWindow(at, time.Millisecond); got != q {
			t.Errorf("Q=%d: a burst sent %d at once, want the whole quota", q, got)
		}
		span := at[len(at)-1].Sub(t0)
		for _, a := range at {
			if a.Sub(t0) > span {
				span = a.Sub(t0)
			}
		}
		ideal := time.Duration(n-1) * time.Minute / time.Duration(q)
		if span > ideal*102/100 {
			t.Errorf("Q=%d: %d requests took %v, ideal %v", q, n, span, ideal)
		}
	}
}

func TestLimiterFailsFastPastDeadline(t *testing.T) {
	clock := newClock()
	lim, _ := NewLimiter(LimiterConfig{Tier: "1", Clock: clock})
	for range 10 { // the whole minute's quota at once
		r, w, err := lim.Acquire(context.Background(), "gemini-3-pro-image", 1)
		if err != nil || w != 0 {
			t.Fatalf("burst call waited %v: %v", w, err)
		}
		r()
	}
	clock.Advance(10 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), clock.Now().Add(5*time.Second))
	defer cancel()
	_, waited, err := lim.Acquire(ctx, "gemini-3-pro-image", 1)
	ae, ok := apierrors.As(err)
	if !ok || ae.Diagnosis.Category != apierrors.RateLimited || waited != 0 || clock.Pending() != 0 {
		t.Fatalf("err %v waited %v", err, waited)
	}
	d := ae.Diagnosis
	if d.RetryAfterSeconds != 51 || d.Quota == nil || d.Quota.Dimension != "RPM" || d.Quota.Limit != 10 ||
		!strings.Contains(d.Summary, "per-minute quota of gemini-3-pro-image (10 requests/min) is used up here; the next slot is in 51 s") {
		t.Errorf("diagnosis %+v", d)
	}
	// The refused booking was given back: a caller with time can still have the slot.
	var queued []time.Duration
	var waitedOK time.Duration
	drive(t, clock, func() {
		_, waitedOK, err = lim.Acquire(context.Background(), "gemini-3-pro-image", 1,
			OnQueued(func(w time.Duration, _ string) { queued = append(queued, w) }))
	})
	if err != nil || waitedOK != 50600*time.Millisecond {
		t.Errorf("waited %v err %v", waitedOK, err)
	}
	if len(queued) == 0 || queued[0] != 50600*time.Millisecond {
		t.Errorf("queued reports %v", queued)
	}
	if lim.UsedToday("gemini-3-pro-image") != 11 {
		t.Errorf("used today %d, want 11", lim.UsedToday("gemini-3-pro-image"))
	}
}

func TestLimiterDailyResetPacificMidnight(t *testing.T) {
	if pacific.String() != "America/Los_Angeles" {
		t.Skip("no zoneinfo for America/Los_Angeles")
	}
	la := pacific
	tests := []struct {
		name      string
		spend     time.Time // when the day's quota is spent
		stillOut  time.Time // still refused
		wantRetry time.Duration
		fresh     time.Time // allowed again
	}{
		{"ordinary day", time.Date(2026, 3, 2, 23, 59, 0, 0, la), time.Date(2026, 3, 2, 23, 59, 30, 0, la), 30 * time.Second,
			time.Date(2026, 3, 3, 0, 0, 0, 0, la)},
		// 8 March 2026 starts daylight saving time: that day has 23 hours. A fixed UTC−8
		// reset would wrongly keep refusing until 01:00 PDT on the 9th.
		{"spring forward", time.Date(2026, 3, 8, 0, 0, 30, 0, la), time.Date(2026, 3, 8, 23, 59, 0, 0, la), time.Minute,
			time.Date(2026, 3, 9, 0, 30, 0, 0, la)},
		// 1 November 2026 ends it: 25 hours.
		{"fall back", time.Date(2026, 11, 1, 0, 10, 0, 0, la), time.Date(2026, 11, 1, 0, 10, 0, 0, la), 24*time.Hour + 50*time.Minute,
			time.Date(2026, 11, 2, 0, 0, 1, 0, la)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := resiliencetest.NewFakeClock(tc.spend)
			lim, _ := NewLimiter(LimiterConfig{Override: Limits{RPD: 2}, Clock: clock})
			for i := 0; i < 2; i++ {
				r, _, err := lim.Acquire(context.Background(), "m", 1)
				if err != nil {
					t.Fatal(err)
				}
				r()
			}
			clock.Set(tc.stillOut)
			_, _, err := lim.Acquire(context.Background(), "m", 1)
			ae, ok := apierrors.As(err)
			if !ok || ae.Diagnosis.Category != apierrors.DailyQuota {
				t.Fatalf("err %v", err)
			}
			if got := time.Duration(ae.Diagnosis.RetryAfterSeconds) * time.Second; got != tc.wantRetry {
				t.Errorf("retry after %v, want %v (%s)", got, tc.wantRetry, ae.Diagnosis.Summary)
			}
			clock.Set(tc.fresh)
			if _, _, err := lim.Acquire(context.Background(), "m", 1); err != nil {
				t.Errorf("after midnight: %v", err)
			}
		})
	}
}

func TestLimiterStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "limits.json")
	clock := resiliencetest.NewFakeClock(t0)
	cfg := LimiterConfig{Override: Limits{RPD: 3}, Clock: clock, StatePath: path}
	lim, _ := NewLimiter(cfg)
	for i := 0; i < 2; i++ {
		r, _, err := lim.Acquire(context.Background(), "m", 1)
		if err != nil {
			t.Fatal(err)
		}
		r()
	}
	again, _ := NewLimiter(cfg)
	if got := again.UsedToday("m"); got != 2 {
		t.Fatalf("after restart used %d, want 2", got)
	}
	if _, _, err := again.Acquire(context.Background(), "m", 1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := again.Acquire(context.Background(), "m", 1); err == nil {
		t.Fatal("fourth request of an RPD of 3 was allowed")
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*.tmp")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestLimiterDamagedState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limits.json")
	if err := os.WriteFile(path, []byte(`{"version":1,"models":{"m":`), 0o600); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	lim, err := NewLimiter(LimiterConfig{Override: Limits{RPD: 5}, Clock: resiliencetest.NewFakeClock(t0), StatePath: path,
		Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), "damaged") {
		t.Errorf("log %q", buf.String())
	}
	if _, _, err := lim.Acquire(context.Background(), "m", 1); err != nil || lim.UsedToday("m") != 1 {
		t.Fatalf("fresh start: %v", err)
	}
	if data, _ := os.ReadFile(path); !strings.Contains(string(data), `"count": 1`) {
		t.Errorf("file not rewritten: %s", data)
	}
}

func TestLimiterLearn(t *testing.T) {
	clock := resiliencetest.NewFakeClock(t0)
	lim, _ := NewLimiter(LimiterConfig{Tier: "3", Clock: clock, Logger: slog.New(slog.DiscardHandler)})
	m := "gemini-3-pro-image"
	if got := lim.Limits(m); got != (Limits{RPM: 60, IPM: 60, RPD: 10000}) {
		t.Fatalf("tier 3 %+v", got)
	}
	d := apierrors.Classify(errPerMinute("30s"), apierrors.ForModel(m))
	lim.Learn(m, d)
	lim.Learn(m, apierrors.Diagnosis{Category: apierrors.RateLimited, Quota: &apierrors.Quota{Dimension: "RPM", Limit: 100}})
	lim.Learn(m, apierrors.Diagnosis{Category: apierrors.RateLimited, Quota: &apierrors.Quota{Dimension: "IPM", Limit: 8}})
	lim.Learn(m, apierrors.Diagnosis{Category: apierrors.RateLimited, Quota: &apierrors.Quota{Dimension: "RPD", Limit: 500}})
	if got := lim.Limits(m); got != (Limits{RPM: 10, IPM: 8, RPD: 500}) {
		t.Fatalf("learnt %+v", got)
	}
	// The lowered limit lets 8 images through in a minute, then waits for the window.
	var waits []time.Duration
	drive(t, clock, func() {
		for i := 0; i < 9; i++ {
			r, w, err := lim.Acquire(context.Background(), m, 1)
			if err != nil {
				t.Error(err)
				return
			}
			r()
			waits = append(waits, w)
		}
	})
	if len(waits) != 9 || waits[7] != 0 || waits[8] != Span {
		t.Errorf("waits %v, want 8 at once and the ninth a window later", waits)
	}
	// A per-day 429 does not spend the day locally: Gemini's next answer stays the authority.
	lim.Learn(m, apierrors.Classify(errPerDay, apierrors.ForModel(m)))
	if used := lim.UsedToday(m); used > 9 {
		t.Errorf("a daily_quota answer marked %d requests used", used)
	}
}

func TestLimiterConcurrency(t *testing.T) {
	clock := resiliencetest.NewFakeClock(t0)
	lim, _ := NewLimiter(LimiterConfig{Concurrency: 2, Clock: clock})
	r1, _, _ := lim.Acquire(context.Background(), "m", 1)
	r2, _, _ := lim.Acquire(context.Background(), "m", 1)
	queued := make(chan string, 1)
	got := make(chan struct{})
	go func() {
		r3, _, err := lim.Acquire(context.Background(), "m", 1, OnQueued(func(_ time.Duration, why string) { queued <- why }))
		if err == nil {
			r3()
		}
		close(got)
	}()
	if why := <-queued; !strings.Contains(why, "2 calls to m are already running") {
		t.Errorf("reason %q", why)
	}
	select {
	case <-got:
		t.Fatal("third call ran beside two")
	default:
	}
	r1()
	r1() // twice is harmless
	<-got
	r2()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ra, _, _ := lim.Acquire(context.Background(), "m", 1)
	rb, _, _ := lim.Acquire(context.Background(), "m", 1)
	defer ra()
	defer rb()
	if _, _, err := lim.Acquire(ctx, "m", 1); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("cancelled wait: %v", err)
	}
}

func TestTierPresets(t *testing.T) {
	for _, tc := range []struct {
		tier, model string
		want        Limits
	}{
		{"1", "gemini-3.1-flash-image-preview", Limits{10, 10, 1000}},
		{"tier2", "gemini-3-pro-image", Limits{30, 30, 5000}},
		{"Tier-3", "gemini-2.5-flash-image", Limits{60, 60, 10000}},
		{"free", "some-new-model", Limits{2, 2, 100}},
	} {
		got, err := Tier(tc.tier, tc.model)
		if err != nil || got != tc.want {
			t.Errorf("Tier(%q, %q) = %+v, %v", tc.tier, tc.model, got, err)
		}
	}
	if _, err := Tier("4", "x"); err == nil {
		t.Error("tier 4 accepted")
	}
	if _, err := NewLimiter(LimiterConfig{Tier: "gold"}); err == nil {
		t.Error("NewLimiter accepted tier gold")
	}
}

func TestLimiterImagesPerMinuteBurst(t *testing.T) {
	clock := resiliencetest.NewFakeClock(t0)
	lim, _ := NewLimiter(LimiterConfig{Override: Limits{RPM: 10, IPM: 4}, Concurrency: -1, Clock: clock})
	// Four single-image calls (n = 4 variants) at an IPM of 4 go at once; a fifth waits a
	// whole window, and says it waits for the image quota.
	for range 4 {
		r, w, err := lim.Acquire(context.Background(), "m", 1)
		if err != nil || w != 0 {
			t.Fatalf("waited %v: %v", w, err)
		}
		r()
	}
	var why string
	var waited time.Duration
	drive(t, clock, func() {
		var err error
		_, waited, err = lim.Acquire(context.Background(), "m", 1, OnQueued(func(_ time.Duration, r string) { why = r }))
		if err != nil {
			t.Error(err)
		}
	})
	if waited != Span || !strings.Contains(why, "image quota of m (4 images/min)") {
		t.Errorf("waited %v for %q", waited, why)
	}
}

func TestWindowBooksTogetherAndGivesBack(t *testing.T) {
	w := NewMemoryWindow()
	rpm := func(n int) []Want { return []Want{{Key: "rpm", Limit: 2, N: 1}, {Key: "ipm", Limit: 3, N: n}} }
	a, _ := w.Book(t0, Span, rpm(2))
	b, _ := w.Book(t0, Span, rpm(1))
	c, cancel := w.Book(t0, Span, rpm(1)) // both limits are full: one window later
	if !a.Equal(t0) || !b.Equal(t0) || !c.Equal(t0.Add(Span)) {
		t.Fatalf("booked at %v %v %v", a.Sub(t0), b.Sub(t0), c.Sub(t0))
	}
	cancel()
	cancel() // twice is harmless
	// The given-back slot is free again; bookings never jump ahead of an earlier one.
	d, _ := w.Book(t0.Add(time.Second), Span, rpm(1))
	if !d.Equal(t0.Add(Span)) {
		t.Errorf("after cancel booked at %v", d.Sub(t0))
	}
	// More images than the limit can never fit: they count as the whole limit, not forever.
	e, _ := w.Book(t0.Add(10*time.Minute), Span, []Want{{Key: "x", Limit: 2, N: 5}})
	if !e.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("oversized booking at %v", e.Sub(t0))
	}
}

// Two limiters on one Window (as two replicas would share a Redis log) keep the quota between
// them: a burst of the limit in total, the rest a window later.
func TestLimitersSharingAWindowShareTheQuota(t *testing.T) {
	clock := resiliencetest.NewFakeClock(t0)
	w := NewMemoryWindow()
	a, _ := NewLimiter(LimiterConfig{Override: Limits{RPM: 4}, Concurrency: -1, Clock: clock, Window: w})
	b, _ := NewLimiter(LimiterConfig{Override: Limits{RPM: 4}, Concurrency: -1, Clock: clock, Window: w})
	var waits []time.Duration
	drive(t, clock, func() {
		for i := range 6 {
			lim := a
			if i%2 == 1 {
				lim = b
			}
			r, waited, err := lim.Acquire(context.Background(), "m", 1)
			if err != nil {
				t.Error(err)
				return
			}
			r()
			waits = append(waits, waited)
		}
	})
	if len(waits) != 6 || waits[3] != 0 || waits[4] != Span || waits[5] != 0 {
		t.Errorf("waits %v; want four at once, then the fifth a window later and the sixth with it", waits)
	}
}

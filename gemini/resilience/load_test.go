package resilience

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience/resiliencetest"
)

// upstreamQuota is a fake Gemini quota: at most q requests in any rolling minute, else a 429.
type upstreamQuota struct {
	mu       sync.Mutex
	q        int
	clock    Clock
	sent     []time.Time
	rejected int
}

func (u *upstreamQuota) call(context.Context, Candidate) (struct{}, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.clock.Now()
	n := 0
	for _, s := range u.sent {
		if now.Sub(s) < time.Minute {
			n++
		}
	}
	if n >= u.q {
		u.rejected++
		return struct{}{}, quota429("GenerateRequestsPerMinutePerProjectPerModel", strconv.Itoa(u.q), "")
	}
	u.sent = append(u.sent, now)
	return struct{}{}, nil
}

// TestLoadShareOfQuota bursts many clients against a simulated quota of Q requests a minute
// for five simulated minutes, through the Executor and the Limiter, and reports the share of
// the quota achieved and the upstream 429s our own bursts caused.
func TestLoadShareOfQuota(t *testing.T) {
	for _, tc := range []struct{ q, clients int }{{10, 50}, {60, 200}} {
		clock := resiliencetest.NewFakeClock(t0)
		lim, _ := NewLimiter(LimiterConfig{Override: Limits{RPM: tc.q, IPM: tc.q}, Concurrency: -1, Clock: clock})
		ex := &Executor{Clock: clock, Limiter: lim}
		up := &upstreamQuota{q: tc.q, clock: clock}
		const minutes = 5
		end := t0.Add(minutes * time.Minute)
		ctx, cancel := context.WithCancel(context.Background())
		var live atomic.Int64
		live.Store(int64(tc.clients))
		var served atomic.Int64
		driveQuiet(t, clock, func() int { return int(live.Load()) }, func() {
			var wg sync.WaitGroup
			for i := 0; i < tc.clients; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer live.Add(-1)
					for {
						if _, _, err := Do(ctx, ex, Plan{Model: nb2}, up.call); err != nil {
							return
						}
						served.Add(1)
						if !clock.Now().Before(end) {
							cancel()
							return
						}
					}
				}()
			}
			wg.Wait()
		})
		cancel()
		inWindow := 0
		for _, s := range up.sent {
			if s.Before(end) {
				inWindow++
			}
		}
		share := float64(inWindow) / float64(tc.q*minutes)
		t.Logf("Q=%d/min, %d clients, %d simulated min: %d sent (%.1f%% of quota), %d upstream 429s, max %d in a rolling minute",
			tc.q, tc.clients, minutes, inWindow, 100*share, up.rejected, maxInWindow(up.sent, time.Minute))
		if share < 0.95 || up.rejected != 0 {
			t.Errorf("share %.3f, 429s %d", share, up.rejected)
		}
	}
}

// BenchmarkAcquire measures the limiter's own cost per call on the real clock, uncontended.
func BenchmarkAcquire(b *testing.B) {
	lim, _ := NewLimiter(LimiterConfig{Concurrency: -1, Override: Limits{RPM: 1 << 30, IPM: 1 << 30}})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r, _, err := lim.Acquire(ctx, "m", 1)
		if err != nil {
			b.Fatal(err)
		}
		r()
	}
}

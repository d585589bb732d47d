package resilience

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience/resiliencetest"
	"github.com/nanobanana-mcp/nanobanana-mcp/internal/redistest"
)

// redisServer is a private redis-server (internal/redistest) as these tests use it: clients
// per replica, and a crash and a restart on the same address for the outage tests.
type redisServer struct {
	*redistest.Server
	t testing.TB
}

func startRedis(t testing.TB) *redisServer { return &redisServer{Server: redistest.Start(t), t: t} }

// client returns a new connection, closed when the test ends: one per replica.
func (s *redisServer) client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	s.t.Cleanup(func() { c.Close() })
	return c
}

func (s *redisServer) stop()  { s.Kill() }
func (s *redisServer) start() { s.Restart(s.t) }

// logBuffer collects log lines from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

func redisOpts(s *redisServer) RedisOptions {
	// A generous round-trip bound: on a loaded CI machine (the race detector, other packages'
	// tests) even the 2 s default can expire, and the replica would then fail open and count alone,
	// which is the outage tests' subject, not these.
	return RedisOptions{Client: s.client(), Timeout: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)}
}

// TestRedisWindowBooksLikeMemory feeds the same random bookings and cancellations to the
// in-process window and to three replicas' Redis windows: every booking lands at the same
// instant, so the Redis window has exactly the documented semantics.
func TestRedisWindowBooksLikeMemory(t *testing.T) {
	srv := startRedis(t)
	mem := NewMemoryWindow()
	replicas := []Window{NewRedisShared(redisOpts(srv)).Window, NewRedisShared(redisOpts(srv)).Window, NewRedisShared(redisOpts(srv)).Window}
	rng := rand.New(rand.NewPCG(1, 2))
	now := t0
	type booking struct{ mem, red func() }
	var open []booking
	for i := range 600 {
		now = now.Add(time.Duration(rng.IntN(4000)) * time.Millisecond)
		if rng.IntN(50) == 0 { // a quiet spell: the logs drain and are trimmed
			now = now.Add(10 * time.Minute)
		}
		wants := []Want{{Key: "rpm/m", Limit: 5, N: 1}}
		if rng.IntN(2) == 0 {
			wants = append(wants, Want{Key: "ipm/m", Limit: 8, N: 1 + rng.IntN(10)})
		}
		want, cm := mem.Book(now, Span, wants)
		got, cr := replicas[i%3].Book(now, Span, wants)
		if !got.Equal(want) {
			t.Fatalf("booking %d at +%v of %+v: Redis says +%v, memory +%v", i, now.Sub(t0), wants, got.Sub(t0), want.Sub(t0))
		}
		open = append(open, booking{cm, cr})
		if rng.IntN(4) == 0 { // a caller gives up: from any replica, maybe twice
			j := rng.IntN(len(open))
			open[j].mem()
			open[j].red()
			open[j].red()
		}
	}
}

// TestRedisWindowThreeReplicas runs three limiters sharing one Redis, under a burst and then
// a steady load above the limit: no rolling minute ever holds more than the limit, the first
// `limit` requests go at once, and the shared queue drains as fast as one limiter's would.
func TestRedisWindowThreeReplicas(t *testing.T) {
	srv := startRedis(t)
	const q = 10
	clock := resiliencetest.NewFakeClock(t0)
	var lims []*Limiter
	for range 3 {
		shared := NewRedisShared(redisOpts(srv)) // one replica
		lim, err := NewLimiter(LimiterConfig{Override: Limits{RPM: q}, Concurrency: -1, Clock: clock,
			Window: shared.Window, Daily: shared.Daily})
		if err != nil {
			t.Fatal(err)
		}
		lims = append(lims, lim)
	}
	// 30 callers at t0 (a burst), then one every 2 s for 3 minutes (three times the limit).
	var arrivals []time.Duration
	for range 30 {
		arrivals = append(arrivals, 0)
	}
	for i := range 90 {
		arrivals = append(arrivals, time.Duration(i)*2*time.Second)
	}
	var mu sync.Mutex
	var sent []time.Time
	var live atomic.Int64
	live.Store(int64(len(arrivals)))
	driveQuiet(t, clock, func() int { return int(live.Load()) }, func() {
		var wg sync.WaitGroup
		for i, a := range arrivals {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer live.Add(-1)
				if err := sleepUntil(context.Background(), clock, t0.Add(a), nil); err != nil {
					t.Error(err)
					return
				}
				release, _, err := lims[i%3].Acquire(context.Background(), "gemini-3-pro-image", 1)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				sent = append(sent, clock.Now())
				mu.Unlock()
				release()
			}()
		}
		wg.Wait()
	})
	if len(sent) != len(arrivals) {
		t.Fatalf("%d of %d requests went out", len(sent), len(arrivals))
	}
	if got := maxInWindow(sent, time.Minute); got > q {
		t.Errorf("three replicas sent %d requests in one rolling minute, limit %d", got, q)
	}
	atOnce := 0
	for _, s := range sent {
		if s.Equal(t0) {
			atOnce++
		}
	}
	if atOnce != q {
		t.Errorf("%d requests went at once, want the whole quota of %d", atOnce, q)
	}
	last := t0
	for _, s := range sent {
		if s.After(last) {
			last = s
		}
	}
	// 120 requests at 10 per Span: the last one leaves in the twelfth window.
	if want := t0.Add(11 * Span); !last.Equal(want) {
		t.Errorf("the last request left at +%v, want +%v", last.Sub(t0), want.Sub(t0))
	}
	for _, lim := range lims {
		if got := lim.UsedToday("gemini-3-pro-image"); got != len(arrivals) {
			t.Errorf("a replica counts %d requests today, want all %d", got, len(arrivals))
		}
	}
}

// TestRedisReplicasZero429s: three replicas with 40 busy clients each, sharing one RPM and
// IPM through Redis for five simulated minutes against an upstream that allows Q requests in
// any rolling minute: no self-caused 429, and nearly all of the quota used.
func TestRedisReplicasZero429s(t *testing.T) {
	srv := startRedis(t)
	const q, clients, minutes = 20, 120, 5
	clock := resiliencetest.NewFakeClock(t0)
	var lims []*Limiter
	for range 3 {
		shared := NewRedisShared(redisOpts(srv))
		lim, _ := NewLimiter(LimiterConfig{Override: Limits{RPM: q, IPM: q}, Concurrency: -1, Clock: clock,
			Window: shared.Window, Daily: shared.Daily})
		lims = append(lims, lim)
	}
	up := &upstreamQuota{q: q, clock: clock}
	end := t0.Add(minutes * time.Minute)
	var live atomic.Int64
	live.Store(clients)
	driveQuiet(t, clock, func() int { return int(live.Load()) }, func() {
		var wg sync.WaitGroup
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer live.Add(-1)
				for clock.Now().Before(end) {
					release, _, err := lims[i%3].Acquire(context.Background(), "m", 1)
					if err != nil {
						t.Error(err)
						return
					}
					_, _ = up.call(context.Background(), Candidate{ID: "m"}) // a 429 is counted in up.rejected
					release()
				}
			}()
		}
		wg.Wait()
	})
	inTime := 0
	for _, s := range up.sent {
		if s.Before(end) {
			inTime++
		}
	}
	share := float64(inTime) / float64(q*minutes)
	t.Logf("3 replicas, Q=%d/min, %d clients, %d simulated min: %.1f%% of the quota, %d upstream 429s", q, clients, minutes, 100*share, up.rejected)
	if up.rejected != 0 || share < 0.95 {
		t.Errorf("%d upstream 429s, %.1f%% of the quota used", up.rejected, 100*share)
	}
}

// TestRedisWindowCancelReturnsSlot: a caller on one replica that stops waiting gives its slot
// back to the callers on the others.
func TestRedisWindowCancelReturnsSlot(t *testing.T) {
	srv := startRedis(t)
	a, b := NewRedisShared(redisOpts(srv)).Window, NewRedisShared(redisOpts(srv)).Window
	rpm := []Want{{Key: "rpm/m", Limit: 2, N: 1}}
	if at, _ := a.Book(t0, Span, rpm); !at.Equal(t0) {
		t.Fatalf("first booking at +%v", at.Sub(t0))
	}
	at, cancel := a.Book(t0, Span, rpm)
	if !at.Equal(t0) {
		t.Fatalf("second booking at +%v", at.Sub(t0))
	}
	if at, _ := b.Book(t0, Span, rpm); !at.Equal(t0.Add(Span)) {
		t.Fatalf("third booking at +%v, want +%v", at.Sub(t0), Span)
	}
	cancel()
	cancel()
	now := t0.Add(time.Second)
	if at, _ := b.Book(now, Span, rpm); !at.Equal(t0.Add(Span)) {
		t.Errorf("after a cancel the next booking is at +%v, want the freed slot's +%v (FIFO behind the third)", at.Sub(t0), Span)
	}
	// The log expires a little after its last send leaves the span: Redis does not grow.
	ttl := srv.client().PTTL(context.Background(), "nanobanana:quota:rpm/m").Val()
	if ttl <= Span || ttl > 2*Span+2*time.Second {
		t.Errorf("the log expires in %v, want between %v and %v", ttl, Span, 2*Span+2*time.Second)
	}
}

// TestRedisDailyCountAddsUp: two replicas' daily counts are one count.
func TestRedisDailyCountAddsUp(t *testing.T) {
	srv := startRedis(t)
	clock := resiliencetest.NewFakeClock(t0)
	newLim := func() *Limiter {
		lim, err := NewLimiter(LimiterConfig{Override: Limits{RPD: 3}, Clock: clock, Daily: NewRedisShared(redisOpts(srv)).Daily})
		if err != nil {
			t.Fatal(err)
		}
		return lim
	}
	a, b := newLim(), newLim()
	for _, lim := range []*Limiter{a, b, a} {
		release, _, err := lim.Acquire(context.Background(), "m", 1)
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	if a.UsedToday("m") != 3 || b.UsedToday("m") != 3 {
		t.Errorf("used today: %d and %d, want 3 on both", a.UsedToday("m"), b.UsedToday("m"))
	}
	_, _, err := b.Acquire(context.Background(), "m", 1)
	if ae, ok := apierrors.As(err); !ok || ae.Diagnosis.Category != apierrors.DailyQuota {
		t.Fatalf("the fourth request of an RPD of 3 over two replicas: %v", err)
	}
	// A request counted but never sent is given back for every replica.
	days := NewRedisShared(redisOpts(srv)).Daily
	days.give("m", clock.Now())
	if a.UsedToday("m") != 2 {
		t.Errorf("after a give: %d, want 2", a.UsedToday("m"))
	}
	if _, _, err := b.Acquire(context.Background(), "m", 1); err != nil {
		t.Errorf("the freed request: %v", err)
	}
	ttl := srv.client().PTTL(context.Background(), "nanobanana:rpd/m/"+pacificDay(t0)).Val()
	if want := untilPacificMidnight(t0) + time.Hour; ttl <= untilPacificMidnight(t0) || ttl > want {
		t.Errorf("the day's count expires in %v, want after the reset and within %v", ttl, want)
	}
	clock.Set(t0.Add(untilPacificMidnight(t0)))
	if a.UsedToday("m") != 0 {
		t.Errorf("a new Pacific day starts at %d", a.UsedToday("m"))
	}
}

// TestRedisBreakerSeenByPeers: a breaker that opens on one replica is open on the others
// until the same instant, and each replica then probes on its own.
func TestRedisBreakerSeenByPeers(t *testing.T) {
	srv := startRedis(t)
	clock := resiliencetest.NewFakeClock(t0)
	var mu sync.Mutex
	var changes []string
	newBreaker := func(name string) *Breaker {
		return NewBreaker(BreakerConfig{Clock: clock, Shared: NewRedisShared(redisOpts(srv)).Breakers,
			OnChange: func(_ string, from, to BreakerState) {
				mu.Lock()
				changes = append(changes, name+":"+string(from)+">"+string(to))
				mu.Unlock()
			}})
	}
	a, b := newBreaker("a"), newBreaker("b")
	const m = "gemini-3-pro-image"
	if ok, _ := b.Allow(m); !ok {
		t.Fatal("a fresh breaker refused")
	}
	b.Record(m, "")
	for range DefaultBreakerThreshold {
		if ok, _ := a.Allow(m); !ok {
			t.Fatal("refused before the threshold")
		}
		a.Record(m, apierrors.Overloaded)
	}
	clock.Advance(30 * time.Second)
	ok, retryIn := b.Allow(m)
	if ok || retryIn != DefaultBreakerCooldown-30*time.Second {
		t.Fatalf("replica b after a opened: allow %v, retry in %v; want refused for %v", ok, retryIn, DefaultBreakerCooldown-30*time.Second)
	}
	if st := b.Status(m); st.State != Open || st.Opens != 1 || !st.RetryAt.Equal(t0.Add(DefaultBreakerCooldown)) {
		t.Errorf("replica b's status %+v", st)
	}
	clock.Advance(DefaultBreakerCooldown - 30*time.Second)
	if ok, _ := b.Allow(m); !ok {
		t.Fatal("replica b sends no probe after the cool-down")
	}
	b.Record(m, apierrors.Overloaded) // b's probe fails: b re-opens, and a sees it
	if ok, retryIn := a.Allow(m); ok || retryIn != DefaultBreakerCooldown {
		t.Errorf("replica a after b's probe failed: allow %v, retry in %v", ok, retryIn)
	}
	want := "a:closed>open b:closed>open b:open>half_open b:half_open>open"
	if got := strings.Join(changes, " "); got != want {
		t.Errorf("state changes %q, want %q", got, want)
	}
}

// TestRedisOutageFailsOpen: when Redis dies mid-run, calls neither stall nor fail: each
// replica limits itself alone and says so once, and shares again once Redis is back.
func TestRedisOutageFailsOpen(t *testing.T) {
	srv := startRedis(t)
	clock := resiliencetest.NewFakeClock(t0)
	var logs logBuffer
	shared := NewRedisShared(RedisOptions{Client: srv.client(), Logger: logs.logger()})
	lim, _ := NewLimiter(LimiterConfig{Override: Limits{RPM: 2, RPD: 100}, Clock: clock,
		Window: shared.Window, Daily: shared.Daily})
	br := NewBreaker(BreakerConfig{Clock: clock, Shared: shared.Breakers})
	acquire := func() time.Duration {
		t.Helper()
		ctx, cancel := context.WithDeadline(context.Background(), clock.Now().Add(time.Second))
		defer cancel()
		start := time.Now()
		release, waited, err := lim.Acquire(ctx, "m", 1)
		if err != nil {
			t.Fatalf("acquire: %v", err)
		}
		release()
		if real := time.Since(start); real > 3*time.Second {
			t.Errorf("acquire took %v of real time", real)
		}
		return waited
	}
	acquire()
	srv.stop()
	if w := acquire(); w != 0 {
		t.Errorf("with Redis down, the second request of an RPM of 2 waited %v", w)
	}
	// Alone, the replica still keeps the limit of 2: its second request alone goes, its third
	// must wait a minute.
	acquire()
	ctx, cancel := context.WithDeadline(context.Background(), clock.Now().Add(time.Second))
	defer cancel()
	_, _, err := lim.Acquire(ctx, "m", 1)
	if ae, ok := apierrors.As(err); !ok || ae.Diagnosis.Category != apierrors.RateLimited {
		t.Errorf("with Redis down, the third request alone within a minute: %v, want rate_limited", err)
	}
	if ok, _ := br.Allow("m"); !ok {
		t.Error("with Redis down, a closed breaker refused")
	}
	if n := strings.Count(logs.String(), "Redis is unreachable; this replica keeps its own rate limits and circuit breakers"); n != 1 {
		t.Errorf("%d outage warnings, want one:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("an outage is not an error here:\n%s", logs.String())
	}
	srv.start()
	clock.Advance(RedisRetryEvery)
	acquire()
	if !strings.Contains(logs.String(), "Redis answers again; rate limits and circuit breakers are shared") {
		t.Errorf("no recovery notice:\n%s", logs.String())
	}
	// Shared again: what this replica books now, another replica sees.
	other := NewRedisShared(redisOpts(srv)).Window
	at, _ := other.Book(clock.Now(), Span, []Want{{Key: "rpm/m", Limit: 1, N: 1}})
	if !at.After(clock.Now()) {
		t.Error("after the outage a second replica does not see the first one's booking")
	}
}

// TestRedisSilentFailsOpen: a Redis that accepts connections but never answers (a hung server,
// a black-holed network) holds a call no longer than RedisOptions.Timeout, even though
// go-redis by default ignores context deadlines; the next calls do not wait at all.
func TestRedisSilentFailsOpen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	client := redis.NewClient(&redis.Options{Addr: ln.Addr().String()})
	t.Cleanup(func() { client.Close() })
	var logs logBuffer
	shared := NewRedisShared(RedisOptions{Client: client, Timeout: 200 * time.Millisecond, Logger: logs.logger()})
	clock := resiliencetest.NewFakeClock(t0)
	lim, _ := NewLimiter(LimiterConfig{Override: Limits{RPM: 5, RPD: 10}, Clock: clock, Window: shared.Window, Daily: shared.Daily})
	start := time.Now()
	for range 5 {
		release, waited, err := lim.Acquire(context.Background(), "m", 1)
		if err != nil || waited != 0 {
			t.Fatalf("with Redis silent: waited %v, %v", waited, err)
		}
		release()
	}
	if real := time.Since(start); real > 2*time.Second {
		t.Errorf("five calls with a silent Redis took %v of real time, want about one 200 ms timeout", real)
	}
	if !strings.Contains(logs.String(), "redis did not answer within 200ms") {
		t.Errorf("the warning does not say Redis did not answer:\n%s", logs.String())
	}
}

// BenchmarkRedisBook is one booking of an RPM and an IPM want against a local redis-server
// (one round trip and the script), with logs of about a minute's sends.
func BenchmarkRedisBook(b *testing.B) {
	srv := startRedis(b)
	w := NewRedisShared(redisOpts(srv)).Window
	wants := []Want{{Key: "rpm/m", Limit: 100, N: 1}, {Key: "ipm/m", Limit: 100, N: 1}}
	now := t0
	b.ResetTimer()
	for b.Loop() {
		now = now.Add(time.Second) // 61 sends in each log: never a wait
		if at, _ := w.Book(now, Span, wants); !at.Equal(now) {
			b.Fatalf("booking waited until +%v", at.Sub(now))
		}
	}
}

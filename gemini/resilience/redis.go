package resilience

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisShared is the quota and breaker state that replicas share through one Redis: every
// replica whose pieces use the same Redis and Prefix keeps within one quota together.
//
//	shared := resilience.NewRedisShared(resilience.RedisOptions{Client: rdb, Logger: logger})
//	limiter, err := resilience.NewLimiter(resilience.LimiterConfig{..., Window: shared.Window, Daily: shared.Daily})
//	breaker := resilience.NewBreaker(resilience.BreakerConfig{..., Shared: shared.Breakers})
//
// Every timestamp written comes from the caller's Clock, not Redis TIME, so the replicas'
// clocks must agree (NTP) and tests drive a fake one.
//
// When Redis does not answer, the pieces fall back to this replica alone (fail open), log one
// warning, and try Redis again every RedisRetryEvery: a call is never stalled or refused
// because the shared store is down. Meanwhile N replicas may together send up to N times the
// per-minute quota; Gemini's own 429 stays the authority and the executor retries it.
// Bookings made alone are not copied to Redis when it answers again.
type RedisShared struct {
	Window   Window       // for LimiterConfig.Window: RPM and IPM
	Daily    DailyCounter // for LimiterConfig.Daily: RPD and UsedToday
	Breakers BreakerShare // for BreakerConfig.Shared
}

// NewRedisShared returns the shared pieces on o.Client. They share one view of Redis's
// health, so an outage costs one timeout per RedisRetryEvery, not one per piece.
func NewRedisShared(o RedisOptions) RedisShared {
	link := newRedisLink(o)
	return RedisShared{
		Window:   &redisWindow{link: link, alone: NewMemoryWindow()},
		Daily:    &redisDays{link: link, alone: loadDays("", link.log)},
		Breakers: &redisBreakers{link: link},
	}
}

// RedisOptions configures RedisShared.
type RedisOptions struct {
	// Client is the Redis connection; required. A cluster needs Prefix to hold a hash tag
	// ("{nanobanana}:") so that one booking's keys share a slot.
	Client redis.UniversalClient
	// Prefix starts every key; empty means "nanobanana:".
	Prefix string
	// Timeout bounds one round trip; 0 means DefaultRedisTimeout.
	Timeout time.Duration
	// Logger receives the outage warning and the recovery notice; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultRedisTimeout bounds one round trip to Redis. The scripts are a few dozen operations
// on sets of at most a minute's sends, well under a millisecond, but a busy replica (a GC
// pause, a loaded host) can take far longer to read the answer; giving up too early makes
// the replica count alone and overrun the shared quota, which costs a 429 from Gemini, so the
// bound is generous: it only has to stop a hung Redis from stalling calls.
const DefaultRedisTimeout = 2 * time.Second

// RedisRetryEvery is how long the shared pieces work alone after Redis failed to answer before
// they try it again, so that an outage costs one timeout per interval, not one per call.
const RedisRetryEvery = 5 * time.Second

// redisLink is the shared pieces' view of Redis: its keys, and whether Redis answered lately.
type redisLink struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration
	log     *slog.Logger

	mu        sync.Mutex
	down      bool
	downUntil time.Time // do not try Redis before this instant
}

// errRedisSkipped says that Redis was not tried: it failed less than RedisRetryEvery ago.
var errRedisSkipped = errors.New("redis was unreachable moments ago")

func newRedisLink(o RedisOptions) *redisLink {
	l := &redisLink{client: o.Client, prefix: o.Prefix, timeout: o.Timeout, log: o.Logger}
	if l.prefix == "" {
		l.prefix = "nanobanana:"
	}
	if l.timeout <= 0 {
		l.timeout = DefaultRedisTimeout
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	return l
}

// roundTrip runs f with a bounded context, unless Redis failed moments ago. A failure (other
// than redis.Nil, which is an answer) starts an outage: one warning, then RedisRetryEvery
// alone. The first success after an outage logs that Redis is back.
func roundTrip[T any](l *redisLink, now time.Time, f func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	if l.client == nil {
		return zero, errRedisSkipped
	}
	l.mu.Lock()
	skip := l.down && now.Before(l.downUntil)
	l.mu.Unlock()
	if skip {
		return zero, errRedisSkipped
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	// go-redis ignores the context's deadline unless the client was built with
	// ContextTimeoutEnabled; without it a Redis that accepts but never answers would hold the
	// call for its read timeout times its retries. So the wait is bounded here, and f is left
	// to finish on its own (a booking it still makes only keeps a slot taken for a span).
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f(ctx)
		done <- result{v, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		r.err = fmt.Errorf("redis did not answer within %v: %w", l.timeout, ctx.Err())
	}
	err := r.err
	if errors.Is(err, redis.Nil) {
		err, r.v = nil, zero
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil:
		if !l.down {
			// go-redis errors name the address, never the password.
			l.log.Warn("Redis is unreachable; this replica keeps its own rate limits and circuit breakers until Redis answers again",
				"err", err, "retry_every", RedisRetryEvery)
		}
		l.down, l.downUntil = true, now.Add(RedisRetryEvery)
	case l.down:
		l.log.Info("Redis answers again; rate limits and circuit breakers are shared with the other replicas again")
		l.down = false
	}
	return r.v, err
}

package resilience

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configures the quota and breaker state that replicas share through Redis
// (NewRedisWindow, NewRedisDailyCounter, NewRedisBreakerShare). Every timestamp written comes
// from the caller's Clock, not Redis TIME, so the replicas' clocks must agree (NTP) and tests
// drive a fake one.
//
// When Redis does not answer, each piece falls back to this replica alone (fails open) and
// logs one warning, then tries Redis again every RedisRetryEvery: a call is never stalled or
// refused because the shared store is down. While it is down, N replicas may together send up
// to N times the per-minute quota; Gemini's own 429 stays the authority and the executor
// retries it. Bookings made alone are not copied to Redis when it answers again.
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
// on keys of at most a few hundred members, well under a millisecond; a slower answer means
// Redis is in trouble, and waiting longer would only delay the call it guards.
const DefaultRedisTimeout = 500 * time.Millisecond

// RedisRetryEvery is how long a piece that found Redis unreachable works alone before it
// tries Redis again, so that an outage costs one timeout per interval, not one per call.
const RedisRetryEvery = 5 * time.Second

// redisLink is one piece's view of Redis: its keys, and whether Redis answered lately.
type redisLink struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration
	log     *slog.Logger
	what    string // names the piece in logs: "the per-minute quota"

	mu        sync.Mutex
	down      bool
	downUntil time.Time // do not try Redis before this instant
}

// errRedisSkipped says that Redis was not tried: it failed less than RedisRetryEvery ago.
var errRedisSkipped = errors.New("redis was unreachable moments ago")

func newRedisLink(o RedisOptions, what string) *redisLink {
	l := &redisLink{client: o.Client, prefix: o.Prefix, timeout: o.Timeout, log: o.Logger, what: what}
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

// do runs f with a bounded context, unless Redis failed moments ago. A failure (other than
// redis.Nil, which is an answer) starts an outage: one warning, then RedisRetryEvery alone.
// The first success after an outage logs that Redis is back.
func (l *redisLink) do(now time.Time, f func(ctx context.Context) error) error {
	if l.client == nil {
		return errRedisSkipped
	}
	l.mu.Lock()
	skip := l.down && now.Before(l.downUntil)
	l.mu.Unlock()
	if skip {
		return errRedisSkipped
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	err := f(ctx)
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil:
		if !l.down {
			// go-redis errors name the address, never the password.
			l.log.Warn("Redis is unreachable; "+l.what+" is kept by this replica alone until Redis answers again",
				"err", err, "retry_every", RedisRetryEvery)
		}
		l.down, l.downUntil = true, now.Add(RedisRetryEvery)
	case l.down:
		l.log.Info("Redis answers again; " + l.what + " is shared with the other replicas again")
		l.down = false
	}
	return err
}

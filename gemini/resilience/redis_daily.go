package resilience

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DailyCounter counts each model's requests per Pacific day, for the RPD limit and
// Limiter.UsedToday. The file-backed counter (LimiterConfig.StatePath) is the default;
// RedisShared.Daily shares the count between replicas.
type DailyCounter interface {
	// take counts one request, or returns errDaySpent when the day's limit (0: none) is reached.
	take(model string, limit int, now time.Time) error
	// give returns a request that was counted but never sent.
	give(model string, now time.Time)
	// used is the day's count so far.
	used(model string, now time.Time) int
}

// takeScript counts one request unless the limit is reached, in one step so that two replicas
// cannot both take the last one. KEYS[1]: the model's count for one Pacific day. ARGV: limit
// (0: none), expiry in ms. It returns -1 when the day is spent.
var takeScript = redis.NewScript(`
local limit = tonumber(ARGV[1])
if limit > 0 and tonumber(redis.call('GET', KEYS[1]) or '0') >= limit then
  return -1
end
local c = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return c
`)

// giveScript takes one request back, never below zero.
var giveScript = redis.NewScript(`
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
`)

// redisDays is the DailyCounter that every replica using the same Redis and Prefix shares: one
// key per model per Pacific day, expiring an hour after the day's reset. While Redis is
// unreachable it counts in memory, for this replica alone (see RedisShared).
type redisDays struct {
	link  *redisLink
	alone *dayCounter
}

func (d *redisDays) key(model string, now time.Time) string {
	return d.link.prefix + "rpd/" + model + "/" + pacificDay(now)
}

func (d *redisDays) take(model string, limit int, now time.Time) error {
	// An hour past the reset, so that a replica whose clock lags a little still finds it.
	ttl := untilPacificMidnight(now) + time.Hour
	n, err := roundTrip(d.link, now, func(ctx context.Context) (int64, error) {
		n, err := takeScript.Run(ctx, d.link.client, []string{d.key(model, now)}, limit, ttl.Milliseconds()).Int64()
		if err != nil {
			return 0, fmt.Errorf("counting today's requests to %s: %w", model, err)
		}
		return n, nil
	})
	switch {
	case err != nil:
		return d.alone.take(model, limit, now)
	case n < 0:
		return errDaySpent
	}
	return nil
}

func (d *redisDays) give(model string, now time.Time) {
	_, err := roundTrip(d.link, now, func(ctx context.Context) (any, error) {
		return nil, giveScript.Run(ctx, d.link.client, []string{d.key(model, now)}).Err()
	})
	if err != nil {
		d.alone.give(model, now)
	}
}

func (d *redisDays) used(model string, now time.Time) int {
	n, err := roundTrip(d.link, now, func(ctx context.Context) (int, error) {
		return d.link.client.Get(ctx, d.key(model, now)).Int()
	})
	if err != nil {
		return d.alone.used(model, now)
	}
	return n
}

package resilience

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// BreakerShare tells replicas about each other's open breakers (BreakerConfig.Shared). A
// replica publishes when its breaker opens; before a call, a replica whose breaker is not open
// asks, and opens its own until the peer's cool-down ends. Each replica then sends its own
// half-open probe, so N replicas send at most N probes per cool-down.
type BreakerShare interface {
	// Opened publishes that model's breaker is open until until.
	Opened(model string, until, now time.Time)
	// OpenUntil returns when the latest cool-down a peer published for model ends; the zero
	// time when none is known.
	OpenUntil(model string, now time.Time) time.Time
}

// openScript keeps the later of two cool-downs, so that a replica opening late never shortens
// a peer's. KEYS[1]: the model's open-until (Unix ms). ARGV: until, expiry in ms.
var openScript = redis.NewScript(`
if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 0
`)

// redisBreakers is the BreakerShare on Redis: one key per model holding when its cool-down
// ends, expiring shortly after. While Redis is unreachable nothing is shared and every breaker
// works on its own (see RedisShared).
type redisBreakers struct{ link *redisLink }

func (r *redisBreakers) key(model string) string { return r.link.prefix + "breaker/" + key(model) }

func (r *redisBreakers) Opened(model string, until, now time.Time) {
	ttl := until.Sub(now) + time.Second
	if ttl <= time.Second {
		return
	}
	_, _ = roundTrip(r.link, now, func(ctx context.Context) (any, error) { // a failure is logged there
		err := openScript.Run(ctx, r.link.client, []string{r.key(model)}, until.UnixMilli(), ttl.Milliseconds()).Err()
		if err != nil {
			return nil, fmt.Errorf("publishing the open breaker of %s: %w", model, err)
		}
		return nil, nil
	})
}

func (r *redisBreakers) OpenUntil(model string, now time.Time) time.Time {
	ms, err := roundTrip(r.link, now, func(ctx context.Context) (int64, error) {
		return r.link.client.Get(ctx, r.key(model)).Int64()
	})
	if err != nil || ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

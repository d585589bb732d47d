package resilience

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// bookScript is memWindow.Book on Redis, in one atomic step: a sorted set per key, score = send
// time in microseconds (exact in a Lua double until the year 2255), member = booking token and
// ordinal so that cancel removes exactly its own sends. Unlike a GCRA limiter with a burst, it
// never lets more than the limit into any rolling span.
//
// KEYS: one sorted set per want. ARGV: now, span, token, then limit and n for each key.
var bookScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
local at = now
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 + 2*i])
  local n = tonumber(ARGV[3 + 2*i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
  local count = redis.call('ZCARD', key)
  if count > 0 then
    -- FIFO: never jump ahead of a booked send.
    local last = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2])
    if last > at then at = last end
    -- Every send is at or before at, so at most limit-n may lie in (at-span, at].
    local k = count - (limit - n)
    if k > 0 then
      local t = tonumber(redis.call('ZRANGE', key, k - 1, k - 1, 'WITHSCORES')[2]) + span
      if t > at then at = t end
    end
  end
end
for i, key in ipairs(KEYS) do
  local n = tonumber(ARGV[3 + 2*i])
  for j = 1, n do
    redis.call('ZADD', key, at, ARGV[3] .. ':' .. j)
  end
  -- The log matters until its last send leaves the span; a second's margin for the trip.
  redis.call('PEXPIRE', key, math.floor((at - now + span) / 1000) + 1000)
end
return at
`)

// redisWindow is the Window that every replica using the same Redis and Prefix shares:
// together they never send more than a limit in any Span, and a burst up to the limit goes at
// once. It falls back to an in-process window while Redis is unreachable (see RedisShared).
type redisWindow struct {
	link  *redisLink
	alone Window // while Redis is unreachable
}

func (w *redisWindow) Book(now time.Time, span time.Duration, wants []Want) (time.Time, func()) {
	keys := make([]string, len(wants))
	args := []any{now.UnixMicro(), span.Microseconds(), newToken()}
	for i, x := range wants {
		keys[i] = w.link.prefix + "quota:" + x.Key
		args = append(args, x.Limit, clampN(x))
	}
	atUS, err := roundTrip(w.link, now, func(ctx context.Context) (int64, error) {
		at, err := bookScript.Run(ctx, w.link.client, keys, args...).Int64()
		if err != nil {
			return 0, fmt.Errorf("booking %s: %w", wants[0].Key, err)
		}
		return at, nil
	})
	if err != nil {
		return w.alone.Book(now, span, wants)
	}
	at := now
	if atUS > now.UnixMicro() {
		at = time.UnixMicro(atUS)
	}
	token := args[2].(string)
	var once sync.Once
	return at, func() {
		once.Do(func() {
			// A failed removal only keeps the slot taken until it leaves the span.
			_, _ = roundTrip(w.link, now, func(ctx context.Context) ([]redis.Cmder, error) {
				return w.link.client.Pipelined(ctx, func(p redis.Pipeliner) error {
					for _, x := range wants {
						members := make([]any, clampN(x))
						for j := range members {
							members[j] = fmt.Sprintf("%s:%d", token, j+1)
						}
						p.ZRem(ctx, w.link.prefix+"quota:"+x.Key, members...)
					}
					return nil
				})
			})
		})
	}
}

// newToken names one booking's members; 64 random bits make a clash between replicas moot.
func newToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

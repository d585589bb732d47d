package session

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of a RedisStore.
const (
	// DefaultRedisPrefix starts every key the store writes, so it can share a database.
	DefaultRedisPrefix = "nanobanana:"
	// DefaultLockLease is how long a conversation lock outlives a replica that died holding it.
	DefaultLockLease = 30 * time.Second
	// DefaultMaxBlobBytes caps one image kept in Redis: a 4K PNG is about 8 MB, and Redis
	// keeps every byte in RAM.
	DefaultMaxBlobBytes = 32 << 20
)

// RedisOptions configure a RedisStore. Every replica sharing a Redis uses the same values.
type RedisOptions struct {
	// Prefix starts every key; DefaultRedisPrefix when empty.
	Prefix string
	// Now is the clock of timestamps and of EvictOlderThan; time.Now when nil. Expiry by TTL
	// runs on the Redis server's clock.
	Now func() time.Time
	// TTL is how long a conversation, its image lookups and its blobs live after its last
	// turn; DefaultTTL when zero.
	TTL time.Duration
	// LockLease is how long a Lock is kept without renewal; the holder renews it every third
	// of it. DefaultLockLease when zero.
	LockLease time.Duration
	// MaxBlobBytes caps one inline image of a turn; DefaultMaxBlobBytes when zero.
	MaxBlobBytes int64
}

// RedisStore is the Store replicas share: conversations, their history blobs, image lookups,
// locks, batch records and the other records of Records, in one Redis database (see the
// package documentation for the keys and the reasons).
type RedisStore struct {
	rdb      *redis.Client
	health   *redis.Client // one connection, no retries: Ping answers within pingTimeout
	where    string        // host:port/db, for messages: never the password
	prefix   string
	now      func() time.Time
	ttl      time.Duration
	lease    time.Duration
	maxBlob  int64
	local    keyedLocks // this process's editors queue here before asking Redis
	closing  chan struct{}
	closeOne sync.Once
}

var _ Store = (*RedisStore)(nil)

// OpenRedis connects to the Redis named by rawURL (redis:// or rediss:// for TLS, with
// user:password and a database number as usual) and checks that it answers. Its errors never
// contain the password.
func OpenRedis(ctx context.Context, rawURL string, opts RedisOptions) (*RedisStore, error) {
	cfg, where, err := parseRedisURL(rawURL)
	if err != nil {
		return nil, err
	}
	hcfg := *cfg
	hcfg.MaxRetries, hcfg.DialerRetries, hcfg.PoolSize, hcfg.MinIdleConns, hcfg.MaxIdleConns = -1, 1, 1, 0, 1
	s := &RedisStore{rdb: redis.NewClient(cfg), health: redis.NewClient(&hcfg), where: where, prefix: opts.Prefix, now: opts.Now,
		ttl: opts.TTL, lease: opts.LockLease, maxBlob: opts.MaxBlobBytes, closing: make(chan struct{})}
	if s.prefix == "" {
		s.prefix = DefaultRedisPrefix
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.ttl <= 0 {
		s.ttl = DefaultTTL
	}
	if s.lease <= 0 {
		s.lease = DefaultLockLease
	}
	if s.maxBlob <= 0 {
		s.maxBlob = DefaultMaxBlobBytes
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// parseRedisURL parses a store URL and returns where it points without its credentials.
func parseRedisURL(rawURL string) (*redis.Options, string, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok || (scheme != "redis" && scheme != "rediss") {
		return nil, "", errors.New(`the Redis store URL must start with redis:// (or rediss:// for TLS), as in redis://host:6379/0`)
	}
	host := rest
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		host = rest[at+1:]
	}
	if i := strings.IndexAny(host, "?#"); i >= 0 {
		host = host[:i]
	}
	where := scheme + "://" + host
	cfg, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("the Redis store URL %s is not valid (%s); the form is redis://[user:password@]host:port/db", where, redact(err.Error(), rawURL))
	}
	return cfg, where, nil
}

// redact removes the user information of rawURL from msg: the URL parser quotes its input.
func redact(msg, rawURL string) string {
	_, rest, _ := strings.Cut(rawURL, "://")
	if at := strings.LastIndex(rest, "@"); at > 0 {
		if u := rest[:at]; u != "" {
			msg = strings.ReplaceAll(msg, u, "REDACTED")
			if dec, err := url.PathUnescape(u); err == nil && dec != u {
				msg = strings.ReplaceAll(msg, dec, "REDACTED")
			}
		}
	}
	return msg
}

// pingTimeout bounds a health check: a load balancer's probe wants an answer, not retries.
const pingTimeout = 2 * time.Second

// Ping checks that Redis answers, for /healthz: one clear sentence when it does not.
func (s *RedisStore) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	err := s.health.Ping(ctx).Err()
	if err != nil && (strings.Contains(err.Error(), "WRONGPASS") || strings.Contains(err.Error(), "NOAUTH")) {
		return fmt.Errorf("the Redis store at %s refused the credentials (%s); check the user and password in the URL", s.where, redact(err.Error(), s.where))
	}
	if err != nil {
		return fmt.Errorf("the Redis store at %s does not answer (%s); check that Redis is running there and the URL, password and TLS setting are right", s.where, redact(err.Error(), s.where))
	}
	return nil
}

// Client is the store's connection, for the other state replicas share through the same
// Redis (the quota and breakers of gemini/resilience).
func (s *RedisStore) Client() redis.UniversalClient { return s.rdb }

// String names the store without credentials.
func (s *RedisStore) String() string { return s.where }

// Close stops lock renewals and closes the connections. Locks still held expire after their
// lease, as they would if the process had died.
func (s *RedisStore) Close() error {
	s.closeOne.Do(func() { close(s.closing) })
	_ = s.health.Close()
	return s.rdb.Close()
}

func (s *RedisStore) key(parts ...string) string { return s.prefix + strings.Join(parts, "") }

// Key names. A conversation is a hash (its header and summary) and a list (its stored turns);
// everything a conversation uses expires with it.
func (s *RedisStore) convKey(id string) string  { return s.key("c:", id) }
func (s *RedisStore) turnsKey(id string) string { return s.key("t:", id) }
func (s *RedisStore) imageKey(id string) string { return s.key("i:", id) }
func (s *RedisStore) blobKey(name string) string {
	return s.key("b:", name)
}
func (s *RedisStore) allKey() string { return s.key("all") }

// ownerKey and sessionKey are the sorted sets behind List; owner and session names are
// escaped so that neither can reach into the other's key.
func (s *RedisStore) ownerKey(owner string) string {
	return s.key("o:", url.QueryEscape(owner))
}
func (s *RedisStore) sessionKey(owner, session string) string {
	return s.key("o:", url.QueryEscape(owner), ":", url.QueryEscape(session))
}

// score orders conversations by their last update, in microseconds (exact in a float64).
func score(t time.Time) float64 { return float64(t.UnixMicro()) }

// storeErr wraps a Redis failure with what was being done and where, without credentials.
func (s *RedisStore) storeErr(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s in the Redis store at %s: %w", what, s.where, err)
}

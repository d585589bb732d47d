package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisRecords are the Records and batch records of a RedisStore, on its connection.
type RedisRecords struct{ s *RedisStore }

var (
	_ Records    = (*RedisRecords)(nil)
	_ BatchStore = (*RedisRecords)(nil)
)

// Records returns the store's Records, which also keep batch records (BatchStore).
func (s *RedisStore) Records() *RedisRecords { return &RedisRecords{s: s} }

// Records in Redis: kind/key is the key <prefix>k:<kind>:<key> (a string, a list or a hash as
// the kind is used), and <prefix>kx:<kind> is a sorted set of the kind's keys by last write,
// for Keys and EvictOlderThan. Kinds and keys cannot contain ':' (see checkRecord).

func (s *RedisStore) recKey(kind, key string) string { return s.key("k:", kind, ":", key) }
func (s *RedisStore) recIndex(kind string) string    { return s.key("kx:", kind) }

// Put stores value under kind/key, replacing any earlier value.
func (r *RedisRecords) Put(ctx context.Context, kind, key string, value []byte) error {
	if err := checkRecord(kind, key, value); err != nil {
		return err
	}
	_, err := r.s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, r.s.recKey(kind, key), value, 0)
		p.ZAdd(ctx, r.s.recIndex(kind), redis.Z{Score: score(r.s.now()), Member: key})
		return nil
	})
	if err != nil {
		return r.s.storeErr(fmt.Sprintf("storing %s/%s", kind, key), err)
	}
	return nil
}

// putIfAbsentScript is SET NX that also indexes the key, and returns the stored value either way.
var putIfAbsentScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  return {1, ARGV[1]}
end
return {0, redis.call('GET', KEYS[1])}`)

// PutIfAbsent stores value unless kind/key exists, and returns what is stored.
func (r *RedisRecords) PutIfAbsent(ctx context.Context, kind, key string, value []byte) ([]byte, bool, error) {
	if err := checkRecord(kind, key, value); err != nil {
		return nil, false, err
	}
	res, err := putIfAbsentScript.Run(ctx, r.s.rdb, []string{r.s.recKey(kind, key), r.s.recIndex(kind)},
		value, score(r.s.now()), key).Slice()
	if err != nil {
		return nil, false, r.s.storeErr(fmt.Sprintf("storing %s/%s", kind, key), err)
	}
	created, _ := res[0].(int64)
	stored, _ := res[1].(string)
	return []byte(stored), created == 1, nil
}

// Get returns the value of kind/key, or ErrNoRecord.
func (r *RedisRecords) Get(ctx context.Context, kind, key string) ([]byte, error) {
	if err := checkRecord(kind, key, nil); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoRecord, err)
	}
	data, err := r.s.rdb.Get(ctx, r.s.recKey(kind, key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%s/%s: %w", kind, key, ErrNoRecord)
	}
	if err != nil {
		return nil, r.s.storeErr(fmt.Sprintf("reading %s/%s", kind, key), err)
	}
	return data, nil
}

// Delete removes kind/key; a missing record is no error.
func (r *RedisRecords) Delete(ctx context.Context, kind, key string) error {
	if err := checkRecord(kind, key, nil); err != nil {
		return err
	}
	_, err := r.s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.s.recKey(kind, key))
		p.ZRem(ctx, r.s.recIndex(kind), key)
		return nil
	})
	if err != nil {
		return r.s.storeErr(fmt.Sprintf("deleting %s/%s", kind, key), err)
	}
	return nil
}

// Keys lists the keys of a kind, sorted.
func (r *RedisRecords) Keys(ctx context.Context, kind string) ([]string, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	keys, err := r.s.rdb.ZRange(ctx, r.s.recIndex(kind), 0, -1).Result()
	if err != nil {
		return nil, r.s.storeErr("listing "+kind, err)
	}
	slices.Sort(keys)
	return keys, nil
}

// Append adds value to the log kind/key.
func (r *RedisRecords) Append(ctx context.Context, kind, key string, value []byte) error {
	if err := checkRecord(kind, key, value); err != nil {
		return err
	}
	_, err := r.s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, r.s.recKey(kind, key), value)
		p.ZAdd(ctx, r.s.recIndex(kind), redis.Z{Score: score(r.s.now()), Member: key})
		return nil
	})
	if err != nil {
		return r.s.storeErr(fmt.Sprintf("appending to %s/%s", kind, key), err)
	}
	return nil
}

// Log returns the entries of kind/key in the order they were appended.
func (r *RedisRecords) Log(ctx context.Context, kind, key string) ([][]byte, error) {
	if err := checkRecord(kind, key, nil); err != nil {
		return nil, err
	}
	vals, err := r.s.rdb.LRange(ctx, r.s.recKey(kind, key), 0, -1).Result()
	if err != nil {
		return nil, r.s.storeErr(fmt.Sprintf("reading %s/%s", kind, key), err)
	}
	var out [][]byte
	for _, v := range vals {
		out = append(out, []byte(v))
	}
	return out, nil
}

// SetField sets one field of the map kind/key; other fields are untouched, whoever wrote them.
func (r *RedisRecords) SetField(ctx context.Context, kind, key, field string, value []byte) error {
	if err := checkRecord(kind, key, value); err != nil {
		return err
	}
	if field == "" {
		return fmt.Errorf("setting a field of %s/%s: the field name is empty", kind, key)
	}
	_, err := r.s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, r.s.recKey(kind, key), field, value)
		p.ZAdd(ctx, r.s.recIndex(kind), redis.Z{Score: score(r.s.now()), Member: key})
		return nil
	})
	if err != nil {
		return r.s.storeErr(fmt.Sprintf("storing %s/%s", kind, key), err)
	}
	return nil
}

// Fields returns the map kind/key (empty when it is not stored).
func (r *RedisRecords) Fields(ctx context.Context, kind, key string) (map[string][]byte, error) {
	if err := checkRecord(kind, key, nil); err != nil {
		return nil, err
	}
	m, err := r.s.rdb.HGetAll(ctx, r.s.recKey(kind, key)).Result()
	if err != nil {
		return nil, r.s.storeErr(fmt.Sprintf("reading %s/%s", kind, key), err)
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out, nil
}

// evictRecordsScript removes the keys of a kind last written before a score, atomically with
// their index entries, so a key written meanwhile (a higher score) stays.
var evictRecordsScript = redis.NewScript(`
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
for _, k in ipairs(keys) do
  redis.call('DEL', ARGV[2] .. k)
  redis.call('ZREM', KEYS[1], k)
end
return #keys`)

// EvictOlderThan removes the records of kind last written before t.
func (r *RedisRecords) EvictOlderThan(ctx context.Context, kind string, t time.Time) (int, error) {
	if err := checkKind(kind); err != nil {
		return 0, err
	}
	n, err := evictRecordsScript.Run(ctx, r.s.rdb, []string{r.s.recIndex(kind)},
		strconv.FormatFloat(score(t), 'f', -1, 64), r.s.key("k:", kind, ":")).Int()
	if err != nil {
		return 0, r.s.storeErr("evicting "+kind, err)
	}
	return n, nil
}

// Batches in Redis are records of kind "batches", keyed by batch id.
const batchKind = "batches"

// batchTimeout bounds a batch record operation: BatchStore has no context.
const batchTimeout = 10 * time.Second

// PutBatch stores b, replacing any earlier version.
func (r *RedisRecords) PutBatch(b *Batch) error {
	data, err := encodeBatch(b)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	return r.Put(ctx, batchKind, b.ID, data)
}

// GetBatch returns a copy of the batch, or ErrNoBatch.
func (r *RedisRecords) GetBatch(id string) (*Batch, error) {
	if !validBatchID(id) {
		return nil, ErrNoBatch
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	data, err := r.Get(ctx, batchKind, id)
	if errors.Is(err, ErrNoRecord) {
		return nil, ErrNoBatch
	}
	if err != nil {
		return nil, err
	}
	return decodeBatch(id, data)
}

// ListBatches returns every stored batch, newest first; unreadable records are skipped.
func (r *RedisRecords) ListBatches() ([]*Batch, error) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	ids, err := r.Keys(ctx, batchKind)
	if err != nil {
		return nil, err
	}
	return newestBatches(ids, r.GetBatch), nil
}

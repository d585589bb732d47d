package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// LatestForOwner returns the most recently updated conversation of one client session of the
// owner. A stateless client (session "") has no latest conversation.
func (s *RedisStore) LatestForOwner(ctx context.Context, owner, session string) (Conversation, error) {
	return latestForOwner(ctx, s, owner, session)
}

// List returns summaries of one owner's conversations, newest first. Index entries whose
// conversation has expired are dropped on the way.
func (s *RedisStore) List(ctx context.Context, q Query) ([]Summary, error) {
	ix := s.ownerKey(q.Owner)
	if !q.AllSessions {
		ix = s.sessionKey(q.Owner, q.Session)
	}
	ids, err := s.rdb.ZRevRange(ctx, ix, 0, -1).Result()
	if err != nil {
		return nil, s.storeErr("listing conversations", err)
	}
	sums := make([]*redis.StringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			sums[i] = p.HGet(ctx, s.convKey(id), "sum")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.storeErr("listing conversations", err)
	}
	var out []Summary
	var gone []any
	for i, cmd := range sums {
		var sum Summary
		if cmd.Err() != nil || json.Unmarshal([]byte(cmd.Val()), &sum) != nil {
			gone = append(gone, ids[i])
			continue
		}
		if sum.Owner == "" {
			sum.Owner = LocalUser
		}
		if q.matches(sum) {
			out = append(out, sum)
		}
	}
	if len(gone) > 0 {
		_ = s.rdb.ZRem(ctx, ix, gone...).Err() // best effort: List is right without it
	}
	return q.newestFirst(out), nil
}

// FindImage returns an image record by id, from the conversation that produced it.
func (s *RedisStore) FindImage(ctx context.Context, imageID string) (Image, error) {
	if !ValidID("img", imageID) {
		return Image{}, fmt.Errorf("%q is not an image id: %w", imageID, ErrImageNotFound)
	}
	conv, err := s.rdb.Get(ctx, s.imageKey(imageID)).Result()
	if errors.Is(err, redis.Nil) {
		return Image{}, fmt.Errorf("%s: %w", imageID, ErrImageNotFound)
	}
	if err != nil {
		return Image{}, s.storeErr("looking up image "+imageID, err)
	}
	return imageIn(ctx, s, conv, imageID)
}

// deleteScript removes a conversation, its index entries, the image lookups that point at it
// and the blobs no live conversation refers to, in one step. With a cutoff (ARGV[3]) it
// leaves a conversation updated since, so an eviction never removes a turn that just landed.
// It returns {found, blobs removed, blob bytes removed}.
var deleteScript = redis.NewScript(`
local p, id = ARGV[1], ARGV[2]
if ARGV[3] ~= '' then
  local sc = redis.call('ZSCORE', KEYS[3], id)
  if sc and tonumber(sc) >= tonumber(ARGV[3]) then return {0, 0, 0} end
end
local f = redis.call('HMGET', KEYS[1], 'head', 'ixo', 'ixs')
redis.call('ZREM', KEYS[3], id)
if not f[1] then return {-1, 0, 0} end
redis.call('DEL', KEYS[1], KEYS[2])
if f[2] then redis.call('ZREM', f[2], id) end
if f[3] and f[3] ~= '' then redis.call('ZREM', f[3], id) end
local nb, bytes = 0, 0
local ok, h = pcall(cjson.decode, f[1])
if not ok or type(h) ~= 'table' then return {1, 0, 0} end
if type(h.turns) == 'table' then
  for _, t in ipairs(h.turns) do
    if type(t) == 'table' and type(t.images) == 'table' then
      for _, im in ipairs(t.images) do
        if type(im) == 'table' and type(im.id) == 'string' then
          local ik = p .. 'i:' .. im.id
          if redis.call('GET', ik) == id then redis.call('DEL', ik) end
        end
      end
    end
  end
end
if type(h.blobs) == 'table' then
  for _, b in ipairs(h.blobs) do
    if type(b) == 'string' then
      local rk = p .. 'r:' .. b
      redis.call('SREM', rk, id)
      for _, other in ipairs(redis.call('SMEMBERS', rk)) do
        if redis.call('EXISTS', p .. 'c:' .. other) == 0 then redis.call('SREM', rk, other) end
      end
      if redis.call('SCARD', rk) == 0 then
        local bk = p .. 'b:' .. b
        local n = redis.call('STRLEN', bk)
        if redis.call('DEL', bk) == 1 then nb = nb + 1; bytes = bytes + n end
        redis.call('DEL', rk)
      end
    end
  end
end
return {1, nb, bytes}
`)

// remove runs deleteScript; cutoff is "" for an unconditional delete.
func (s *RedisStore) remove(ctx context.Context, id, cutoff string) (found bool, ev Eviction, err error) {
	keys := []string{s.convKey(id), s.turnsKey(id), s.allKey()}
	res, err := deleteScript.Run(ctx, s.rdb, keys, s.prefix, id, cutoff).Int64Slice()
	if err != nil {
		return false, ev, s.storeErr("deleting conversation "+id, err)
	}
	if res[0] != 1 {
		return false, ev, nil
	}
	return true, Eviction{Conversations: 1, Blobs: int(res[1]), BlobBytes: res[2]}, nil
}

// Delete removes a conversation, its image lookups, and the blobs no other conversation uses.
func (s *RedisStore) Delete(ctx context.Context, id string) error {
	if err := checkConversationID(id); err != nil {
		return err
	}
	found, _, err := s.remove(ctx, id, "")
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("deleting %s: %w", id, ErrNotFound)
	}
	return nil
}

// EvictOlderThan removes the conversations last updated before t. Redis expires what the
// store's TTL outlived on its own; this is for a tighter cutoff, and for conversations whose
// TTL a longer-lived replica set.
func (s *RedisStore) EvictOlderThan(ctx context.Context, t time.Time) (Eviction, error) {
	cutoff := strconv.FormatFloat(score(t), 'f', -1, 64)
	ids, err := s.rdb.ZRangeByScore(ctx, s.allKey(), &redis.ZRangeBy{Min: "-inf", Max: "(" + cutoff}).Result()
	if err != nil {
		return Eviction{}, s.storeErr("evicting conversations", err)
	}
	var ev Eviction
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return ev, err
		}
		found, one, err := s.remove(ctx, id, cutoff)
		if err != nil {
			return ev, fmt.Errorf("evicting conversations: %w", err)
		}
		if found {
			ev.Conversations++
			ev.Blobs += one.Blobs
			ev.BlobBytes += one.BlobBytes
		}
	}
	return ev, nil
}

// releaseScript deletes a lock only for the holder whose token it still stores, so a holder
// whose lease ran out cannot release the next holder's lock.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// renewScript extends a lease for the holder that still has it.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)

// Lock waits until the caller is the only editor of conversation id across every replica, or
// ctx ends. The lock is a Redis key with a lease, renewed while held; a replica that dies
// holding it stops renewing, and the next editor gets it when the lease runs out.
func (s *RedisStore) Lock(ctx context.Context, id string) (func(), error) {
	unlockLocal, err := s.local.lock(ctx, id) // this process's editors wait in order, without polling Redis
	if err != nil {
		return nil, err
	}
	key, token := s.key("lock:", id), NewID("lock")
	wait := 2 * time.Millisecond
	for {
		ok, err := s.rdb.SetNX(ctx, key, token, s.lease).Result()
		if err != nil {
			unlockLocal()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, s.storeErr("locking conversation "+id, err)
		}
		if ok {
			break
		}
		if err := sleepCtx(ctx, wait); err != nil {
			unlockLocal()
			return nil, err
		}
		wait = min(2*wait, s.lease/4, 100*time.Millisecond)
	}
	stop, renewed := make(chan struct{}), make(chan struct{})
	go s.renew(key, token, stop, renewed)
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-renewed
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = releaseScript.Run(ctx, s.rdb, []string{key}, token).Err() // else the lease ends it
			unlockLocal()
		})
	}, nil
}

// renew keeps the lease of a held lock until stop, the store closes, or the lease is lost.
func (s *RedisStore) renew(key, token string, stop, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(s.lease / 3)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-s.closing:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.lease/3)
			n, err := renewScript.Run(ctx, s.rdb, []string{key}, token, s.lease.Milliseconds()).Int()
			cancel()
			if err == nil && n == 0 {
				return // the lease ran out and another replica holds the lock now
			}
		}
	}
}

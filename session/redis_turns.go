package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/genai"
)

// commitScript writes a conversation record in one step, so a replica killed at any moment
// leaves the old record or the new one. In "append" mode it refuses (-2) unless the stored
// record still has the turn count the writer read: the optimistic check that keeps a later
// writer from overwriting an earlier turn. It refuses (-3) when a blob the record names has
// gone (evicted between upload and commit); the writer uploads again.
//
// KEYS: conversation hash, turn list, then the sorted sets that index it.
// ARGV: mode, expected turns, header, summary, score, ttl ms, id, prefix, commit id, image
// count, image ids…, blob count, blob names…, turns to push….
var commitScript = redis.NewScript(`
local mode, p, id, ttl, cid = ARGV[1], ARGV[8], ARGV[7], ARGV[6], 'x:' .. ARGV[9]
if redis.call('HEXISTS', KEYS[1], cid) == 1 then return 0 end
if mode == 'append' then
  if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
  if redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[2]) then return -2 end
elseif redis.call('EXISTS', KEYS[1]) == 1 then
  return -4
end
local i = 10
local images = {}
for j = 1, tonumber(ARGV[i]) do images[j] = ARGV[i + j] end
i = i + #images + 1
local blobs = {}
for j = 1, tonumber(ARGV[i]) do blobs[j] = ARGV[i + j] end
i = i + #blobs + 1
for _, b in ipairs(blobs) do
  if redis.call('EXISTS', p .. 'b:' .. b) == 0 then return -3 end
end
local ixs = ''
if #KEYS >= 5 then ixs = KEYS[5] end
redis.call('HSET', KEYS[1], 'head', ARGV[3], 'sum', ARGV[4], 'ixo', KEYS[4], 'ixs', ixs, cid, 1)
redis.call('PEXPIRE', KEYS[1], ttl)
for j = i, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[j]) end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ttl) end
for k = 3, #KEYS do
  redis.call('ZADD', KEYS[k], ARGV[5], id)
  redis.call('PEXPIRE', KEYS[k], ttl)
end
for _, img in ipairs(images) do
  redis.call('SET', p .. 'i:' .. img, id, 'PX', ttl)
end
for _, b in ipairs(blobs) do
  local r = p .. 'r:' .. b
  redis.call('SADD', r, id)
  redis.call('PEXPIRE', r, ttl)
  redis.call('PEXPIRE', p .. 'b:' .. b, ttl)
end
return 0
`)

// Commit outcomes of commitScript.
const (
	commitOK       = 0
	commitGone     = -1
	commitConflict = -2
	commitNoBlob   = -3
	commitExists   = -4
)

// maxCommitAttempts bounds the optimistic retries of one AppendTurn; each retry means another
// writer's turn landed, so only a crowd of writers on one conversation gets near it.
const maxCommitAttempts = 100

// commit runs commitScript for the record of c (whose header lists blobs) pushing turns.
func (s *RedisStore) commit(ctx context.Context, mode, commitID string, expected int, c Conversation, blobs []string, images []string, turns []json.RawMessage) (int, error) {
	head, err := json.Marshal(header{Format: recordFormat, Conversation: c, Blobs: blobs})
	if err != nil {
		return 0, fmt.Errorf("encoding conversation header: %w", err)
	}
	sum, _ := json.Marshal(c.summary())
	keys := []string{s.convKey(c.ID), s.turnsKey(c.ID), s.allKey(), s.ownerKey(c.Owner)}
	if c.Session != "" {
		keys = append(keys, s.sessionKey(c.Owner, c.Session))
	}
	args := []any{mode, expected, head, sum, score(c.Updated), s.ttl.Milliseconds(), c.ID, s.prefix, commitID, len(images)}
	for _, img := range images {
		args = append(args, img)
	}
	args = append(args, len(blobs))
	for _, b := range blobs {
		args = append(args, b)
	}
	for _, t := range turns {
		args = append(args, []byte(t))
	}
	n, err := commitScript.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return 0, s.storeErr("writing conversation "+c.ID, err)
	}
	return n, nil
}

// Create stores a new conversation with no turns.
func (s *RedisStore) Create(ctx context.Context, c Conversation) (Conversation, error) {
	c, err := newConversation(c, s.now())
	if err != nil {
		return Conversation{}, err
	}
	n, err := s.commit(ctx, "create", NewID("commit"), 0, c, nil, nil, nil)
	if err != nil {
		return Conversation{}, fmt.Errorf("creating conversation: %w", err)
	}
	if n != commitOK {
		return Conversation{}, fmt.Errorf("creating conversation: the new id %s is taken", c.ID)
	}
	return c, nil
}

// readHeader returns the stored header of a conversation.
func (s *RedisStore) readHeader(ctx context.Context, id string) (header, error) {
	if err := checkConversationID(id); err != nil {
		return header{}, err
	}
	raw, err := s.rdb.HGet(ctx, s.convKey(id), "head").Bytes()
	if errors.Is(err, redis.Nil) {
		return header{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if err != nil {
		return header{}, s.storeErr("reading conversation "+id, err)
	}
	return decodeHeader(id, raw)
}

func decodeHeader(id string, raw []byte) (header, error) {
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		return header{}, fmt.Errorf("conversation %s: %w: decoding header: %w", id, ErrDamaged, err)
	}
	if h.Format != recordFormat || h.ID != id {
		return header{}, fmt.Errorf("conversation %s: %w: header of format %d for %q", id, ErrDamaged, h.Format, h.ID)
	}
	if h.Owner == "" {
		h.Owner = LocalUser
	}
	return h, nil
}

// Get returns a conversation's metadata without contents.
func (s *RedisStore) Get(ctx context.Context, id string) (Conversation, error) {
	h, err := s.readHeader(ctx, id)
	return h.Conversation, err
}

// readRecord reads header and stored turns in one transaction, so they agree.
func (s *RedisStore) readRecord(ctx context.Context, id string) (*record, error) {
	if err := checkConversationID(id); err != nil {
		return nil, err
	}
	var head *redis.StringCmd
	var turns *redis.StringSliceCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		head = p.HGet(ctx, s.convKey(id), "head")
		turns = p.LRange(ctx, s.turnsKey(id), 0, -1)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, s.storeErr("reading conversation "+id, err)
	}
	h, err := decodeHeader(id, []byte(head.Val()))
	if err != nil {
		return nil, err
	}
	r := &record{head: h}
	for _, t := range turns.Val() {
		r.body = append(r.body, json.RawMessage(t))
	}
	if len(r.body) != len(h.Turns) {
		return nil, fmt.Errorf("conversation %s: %w: %d stored turns, %d in header", id, ErrDamaged, len(r.body), len(h.Turns))
	}
	return r, nil
}

// History returns every turn's contents, with image bytes read back from their blobs.
func (s *RedisStore) History(ctx context.Context, id string) ([]*genai.Content, error) {
	r, err := s.readRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	turns, err := decodeTurns(id, r.body)
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, st := range turns {
		refs = append(refs, st.UserBlobs...)
		refs = append(refs, st.ModelBlobs...)
	}
	blobs, err := s.readBlobs(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("conversation %s: %w", id, err)
	}
	return contents(id, turns, func(ref string) ([]byte, error) { return blobs[ref], nil })
}

// readBlobs fetches the named blobs in one round trip and checks each against its hash. A
// missing or altered blob is ErrDamaged.
func (s *RedisStore) readBlobs(ctx context.Context, refs []string) (map[string][]byte, error) {
	names := slices.Compact(slices.Sorted(slices.Values(slices.DeleteFunc(slices.Clone(refs), func(r string) bool { return r == "" }))))
	out := make(map[string][]byte, len(names))
	if len(names) == 0 {
		return out, nil
	}
	keys := make([]string, len(names))
	for i, n := range names {
		if !validBlobName(n) {
			return nil, fmt.Errorf("%w: blob reference %q is malformed", ErrDamaged, n)
		}
		keys[i] = s.blobKey(n)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, s.storeErr("reading image blobs", err)
	}
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: blob %s is missing", ErrDamaged, names[i])
		}
		if blobName([]byte(str)) != names[i] {
			return nil, fmt.Errorf("%w: blob %s: contents do not match their hash", ErrDamaged, names[i])
		}
		out[names[i]] = []byte(str)
	}
	return out, nil
}

// AppendTurn adds a completed turn: blobs first, then one atomic commit of the record that
// succeeds only if no other writer committed since the record was read; otherwise it reads
// again and retries, so concurrent appends from any number of replicas all land, in the order
// they commit.
func (s *RedisStore) AppendTurn(ctx context.Context, id string, t Turn) (Conversation, error) {
	raw, blobs, err := checkedTurn(id, t)
	if err != nil {
		return Conversation{}, err
	}
	for _, data := range blobs {
		if int64(len(data)) > s.maxBlob {
			return Conversation{}, fmt.Errorf("appending to %s: an inline image of %d bytes is larger than the Redis store's limit of %d bytes per image; raise the limit (MaxBlobBytes) or use the file store", id, len(data), s.maxBlob)
		}
	}
	names := slices.Sorted(maps.Keys(blobs))
	t.Bytes = ContentBytes(t.User) + ContentBytes(t.Model)
	t.User, t.Model = nil, nil
	t.Images = slices.Clone(t.Images)
	imageIDs := make([]string, len(t.Images))
	for i := range t.Images {
		imageIDs[i] = t.Images[i].ID
	}
	commitID := NewID("commit") // the same for every attempt: this turn lands once
	missedBlob := false
	for attempt := 0; ; attempt++ {
		if err := s.uploadBlobs(ctx, blobs); err != nil {
			return Conversation{}, fmt.Errorf("appending to %s: %w", id, err)
		}
		h, err := s.readHeader(ctx, id)
		if err != nil {
			return Conversation{}, err
		}
		c := h.Conversation
		turn := t
		turn.Created = s.now()
		turn.Images = slices.Clone(t.Images)
		for i := range turn.Images {
			turn.Images[i].Conversation, turn.Images[i].Turn = id, len(c.Turns)
		}
		expected := len(c.Turns)
		c.addTurn(turn)
		n, err := s.commit(ctx, "append", commitID, expected, c, sortedUnique(h.Blobs, names), imageIDs, []json.RawMessage{raw})
		if err != nil {
			return Conversation{}, fmt.Errorf("appending to %s: %w", id, err)
		}
		switch n {
		case commitOK:
			return c, nil
		case commitGone:
			return Conversation{}, fmt.Errorf("%s: %w", id, ErrNotFound)
		case commitNoBlob:
			// This turn's blobs were uploaded just before, so a second miss in a row is a
			// blob of the earlier history: the conversation is damaged, retrying cannot help.
			if missedBlob {
				return Conversation{}, fmt.Errorf("appending to %s: %w: an image blob of its history is missing", id, ErrDamaged)
			}
			missedBlob = true
			continue
		}
		missedBlob = false
		if attempt+1 >= maxCommitAttempts {
			return Conversation{}, fmt.Errorf("appending to %s: %d other writers committed first, one after another; try again", id, attempt+1)
		}
		if err := sleepCtx(ctx, time.Duration(rand.IntN(1000*(1+min(attempt, 10))))*time.Microsecond); err != nil {
			return Conversation{}, err
		}
	}
}

// uploadBlobs stores the blobs Redis does not have yet, with the store's TTL; the commit
// extends them to the conversation's expiry. Blobs of a turn that never commits expire.
func (s *RedisStore) uploadBlobs(ctx context.Context, blobs map[string][]byte) error {
	if len(blobs) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(blobs))
	exists := make([]*redis.IntCmd, len(names))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			exists[i] = p.Exists(ctx, s.blobKey(n))
		}
		return nil
	})
	if err != nil {
		return s.storeErr("checking image blobs", err)
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			if exists[i].Val() == 0 {
				p.SetNX(ctx, s.blobKey(n), blobs[n], s.ttl)
			}
		}
		return nil
	})
	if err != nil {
		return s.storeErr("writing image blobs", err)
	}
	return nil
}

// Branch starts a conversation from the history of from, cut after the turn that produced
// imageID. The branch refers to the same blobs, which then live as long as either.
func (s *RedisStore) Branch(ctx context.Context, from, imageID string) (Conversation, error) {
	src, err := s.readRecord(ctx, from)
	if err != nil {
		return Conversation{}, err
	}
	r, err := branchRecord(src, from, imageID, s.now())
	if err != nil {
		return Conversation{}, err
	}
	b := r.head.Conversation
	n, err := s.commit(ctx, "create", NewID("commit"), 0, b, r.head.Blobs, nil, r.body)
	if err != nil {
		return Conversation{}, fmt.Errorf("branching %s: %w", from, err)
	}
	switch n {
	case commitOK:
		return b, nil
	case commitNoBlob:
		return Conversation{}, fmt.Errorf("branching %s: %w: an image blob of its history has expired", from, ErrDamaged)
	}
	return Conversation{}, fmt.Errorf("branching %s: commit refused (%s)", from, strconv.Itoa(n))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

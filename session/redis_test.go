package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/internal/redistest"
)

// Two replicas append to one conversation at the same moment, without Lock: every turn lands
// once, in commit order, and no writer overwrites another's turn.
func TestRedisReplicasAppendConcurrently(t *testing.T) {
	url := redistest.URL(t)
	clock := newClock()
	replicas := []*RedisStore{openRedis(t, url, RedisOptions{Now: clock.Now}), openRedis(t, url, RedisOptions{Now: clock.Now})}
	c, err := replicas[0].Create(ctx, Conversation{Model: "m", Owner: "team"})
	if err != nil {
		t.Fatal(err)
	}
	const perReplica = 12
	var wg sync.WaitGroup
	for r, s := range replicas {
		for i := range perReplica {
			wg.Go(func() {
				turn := newFixture(uint64(100*r+i), 64).turn(i)
				turn.Prompt = fmt.Sprintf("replica %d turn %d", r, i)
				if _, err := s.AppendTurn(ctx, c.ID, turn); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	meta, _ := replicas[1].Get(ctx, c.ID)
	h, err := replicas[1].History(ctx, c.ID)
	if err != nil || len(meta.Turns) != 2*perReplica || len(h) != 4*perReplica {
		t.Fatalf("%d turns, %d contents, %v; want %d turns", len(meta.Turns), len(h), err, 2*perReplica)
	}
	seen := map[string]bool{}
	for i, turn := range meta.Turns {
		if h[2*i].Parts[0].Text == "" || seen[turn.Prompt] || turn.Images[0].Turn != i {
			t.Fatalf("turn %d: %q (image says turn %d), seen before: %v", i, turn.Prompt, turn.Images[0].Turn, seen[turn.Prompt])
		}
		seen[turn.Prompt] = true
		if img, err := replicas[0].FindImage(ctx, turn.Images[0].ID); err != nil || img.Turn != i {
			t.Fatalf("FindImage of turn %d = %+v, %v", i, img, err)
		}
	}
}

// Editors on two replicas, each holding Lock for read-history-then-append, run one after
// another: each sees every turn the others appended.
func TestRedisLockSerialisesReplicas(t *testing.T) {
	url := redistest.URL(t)
	clock := newClock()
	replicas := []*RedisStore{openRedis(t, url, RedisOptions{Now: clock.Now}), openRedis(t, url, RedisOptions{Now: clock.Now})}
	c, _ := replicas[0].Create(ctx, Conversation{Model: "m"})
	const editors = 8
	var wg sync.WaitGroup
	for i := range editors {
		s := replicas[i%2]
		wg.Go(func() {
			unlock, err := s.Lock(ctx, c.ID)
			if err != nil {
				t.Error(err)
				return
			}
			defer unlock()
			h, err := s.History(ctx, c.ID)
			if err != nil {
				t.Error(err)
				return
			}
			turn := newFixture(uint64(i), 64).turn(len(h) / 2)
			turn.Prompt = fmt.Sprintf("saw %d turns", len(h)/2)
			if _, err := s.AppendTurn(ctx, c.ID, turn); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	meta, _ := replicas[0].Get(ctx, c.ID)
	if len(meta.Turns) != editors {
		t.Fatalf("%d turns, want %d", len(meta.Turns), editors)
	}
	for i, turn := range meta.Turns {
		if want := fmt.Sprintf("saw %d turns", i); turn.Prompt != want {
			t.Fatalf("turn %d: %q, want %q (edits interleaved across replicas)", i, turn.Prompt, want)
		}
	}
}

// A replica that dies holding a lock (here: closes without unlocking) holds it no longer than
// its lease; a live holder keeps its lock past the lease by renewing it.
func TestRedisLockLease(t *testing.T) {
	url := redistest.URL(t)
	const lease = 60 * time.Millisecond
	a := openRedis(t, url, RedisOptions{LockLease: lease})
	b := openRedis(t, url, RedisOptions{LockLease: lease})
	id := NewID("c")

	// Renewal: a keeps the lock for five leases while b waits in vain.
	unlockA, err := a.Lock(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 5*lease)
	_, err = b.Lock(waitCtx, id)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("b got a lock a holds and renews: %v", err)
	}
	unlockA()
	unlockB, err := b.Lock(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	unlockB()

	// Death: a takes the lock and its process goes away.
	dying := openRedis(t, url, RedisOptions{LockLease: lease})
	if _, err := dying.Lock(ctx, id); err != nil {
		t.Fatal(err)
	}
	_ = dying.Close()
	start := time.Now()
	waitCtx, cancel = context.WithTimeout(ctx, 20*lease)
	defer cancel()
	unlockB, err = b.Lock(waitCtx, id)
	if err != nil {
		t.Fatalf("the lock of a dead replica was not released by its lease: %v", err)
	}
	t.Logf("waited %v for a lease of %v", time.Since(start).Round(time.Millisecond), lease)
	unlockB()
}

// A holder whose lease ran out (a replica paused too long) cannot release the lock the next
// holder took meanwhile: release checks the token.
func TestRedisLockReleaseOnlyByHolder(t *testing.T) {
	url := redistest.URL(t)
	a := openRedis(t, url, RedisOptions{LockLease: time.Minute})
	b := openRedis(t, url, RedisOptions{LockLease: time.Minute})
	id := NewID("c")
	unlockA, err := a.Lock(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	raw := rawRedis(t, a)
	raw.Del(ctx, a.key("lock:", id)) // a's lease is gone, as after a long pause
	unlockB, err := b.Lock(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	unlockA() // late: must not free b's lock
	waitCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := openRedis(t, url, RedisOptions{}).Lock(waitCtx, id); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a third replica got the lock b holds after a's late unlock: %v", err)
	}
	unlockB()
	if n := raw.Exists(ctx, a.key("lock:", id)).Val(); n != 0 {
		t.Fatal("b's unlock left the lock key")
	}
}

// Everything a conversation uses expires with it: record, turns, image lookups, blobs and its
// place in List.
func TestRedisTTL(t *testing.T) {
	url := redistest.URL(t)
	const ttl = 80 * time.Millisecond
	s := openRedis(t, url, RedisOptions{TTL: ttl})
	long := openRedis(t, url, RedisOptions{})
	c, _ := s.Create(ctx, Conversation{Model: "m", Owner: "o", Session: "s1"})
	f := newFixture(21, 256)
	sent := appendTurns(t, s, c.ID, f, 0, 2)
	meta, _ := s.Get(ctx, c.ID)
	img := meta.Turns[1].Images[0].ID
	if n := blobCount(t, s); n != 4 {
		t.Fatalf("%d blobs, want 4", n)
	}
	if h, err := long.History(ctx, c.ID); err != nil {
		t.Fatal(err)
	} else {
		sameHistory(t, h, sent)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := long.Get(ctx, c.ID)
		if errors.Is(err, ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("conversation still there 5 s after a TTL of %v: %v", ttl, err)
		}
		time.Sleep(ttl / 4)
	}
	if _, err := long.FindImage(ctx, img); !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("FindImage after expiry: %v", err)
	}
	if l, err := long.List(ctx, Query{Owner: "o", Session: "s1"}); err != nil || len(l) != 0 {
		t.Fatalf("List after expiry = %+v, %v", l, err)
	}
	if _, err := long.LatestForOwner(ctx, "o", "s1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("LatestForOwner after expiry: %v", err)
	}
	if n := blobCount(t, s); n != 0 {
		t.Fatalf("%d blobs outlived their conversation", n)
	}
}

// A turn whose image exceeds the blob cap is refused with a sentence that says what to do,
// and nothing of it is stored.
func TestRedisBlobCap(t *testing.T) {
	s := openRedis(t, redistest.URL(t), RedisOptions{MaxBlobBytes: 1000})
	c, _ := s.Create(ctx, Conversation{Model: "m"})
	_, err := s.AppendTurn(ctx, c.ID, newFixture(22, 4096).turn(0))
	if err == nil || !strings.Contains(err.Error(), "larger than the Redis store's limit of 1000 bytes per image") {
		t.Fatalf("AppendTurn of a large image = %v", err)
	}
	if meta, _ := s.Get(ctx, c.ID); len(meta.Turns) != 0 || blobCount(t, s) != 0 {
		t.Fatalf("%d turns, %d blobs after a refused turn", len(meta.Turns), blobCount(t, s))
	}
}

// A replica killed between uploading a turn's blobs and committing it loses only that turn;
// its blobs carry the TTL and expire unless a commit claims them.
func TestRedisCrashBeforeCommit(t *testing.T) {
	s := openRedis(t, redistest.URL(t), RedisOptions{})
	c, _ := s.Create(ctx, Conversation{Model: "m"})
	sent := appendTurns(t, s, c.ID, newFixture(23, 128), 0, 1)
	_, blobs, err := encodeTurn(newFixture(24, 128).turn(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.uploadBlobs(ctx, blobs); err != nil { // and then the process dies
		t.Fatal(err)
	}
	h, err := s.History(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameHistory(t, h, sent)
	raw := rawRedis(t, s)
	for name := range blobs {
		if ttl := raw.PTTL(ctx, s.blobKey(name)).Val(); ttl <= 0 || ttl > DefaultTTL {
			t.Fatalf("orphan blob TTL %v", ttl)
		}
	}
}

// A blob altered or lost in Redis makes the history ErrDamaged, never wrong bytes.
func TestRedisDamagedBlob(t *testing.T) {
	s := openRedis(t, redistest.URL(t), RedisOptions{})
	c, _ := s.Create(ctx, Conversation{Model: "m"})
	f := newFixture(25, 128)
	sent := appendTurns(t, s, c.ID, f, 0, 1)
	raw := rawRedis(t, s)
	key := s.blobKey(blobName(sent[1].Parts[3].InlineData.Data))
	raw.Set(ctx, key, "not the image", 0)
	if _, err := s.History(ctx, c.ID); !errors.Is(err, ErrDamaged) {
		t.Fatalf("History with an altered blob: %v", err)
	}
	raw.Del(ctx, key)
	if _, err := s.History(ctx, c.ID); !errors.Is(err, ErrDamaged) {
		t.Fatalf("History with a lost blob: %v", err)
	}
	// The next turn resends the lost final image (its reference image), which heals that blob;
	// a lost thought image is never resent, so appending after it is refused.
	raw.Del(ctx, s.blobKey(blobName(sent[1].Parts[1].InlineData.Data)))
	if _, err := s.AppendTurn(ctx, c.ID, f.turn(1)); !errors.Is(err, ErrDamaged) {
		t.Fatalf("AppendTurn to a conversation with a lost blob: %v", err)
	}
	raw.HSet(ctx, s.convKey(c.ID), "head", "{")
	if _, err := s.Get(ctx, c.ID); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Get of a damaged header: %v", err)
	}
	if err := s.Delete(ctx, c.ID); err != nil {
		t.Fatalf("Delete of a damaged conversation: %v", err)
	}
	if _, err := s.Get(ctx, c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
}

// A bad URL or an unreachable Redis is one sentence that names the place and never the
// password; Ping reports a Redis that went away.
func TestOpenRedisErrors(t *testing.T) {
	const password = "s3cret-Pa55"
	for _, u := range []string{
		"http://localhost:6379",
		"localhost:6379",
		"redis://:" + password + "@127.0.0.1:1/x",
		"redis://user:" + password + "@[::1",
	} {
		_, err := OpenRedis(ctx, u, RedisOptions{})
		if err == nil || strings.Contains(err.Error(), password) || !strings.Contains(err.Error(), "redis://") {
			t.Errorf("OpenRedis(%q) = %v", strings.ReplaceAll(u, password, "…"), err)
		}
	}
	cfg, where, err := parseRedisURL("rediss://user:" + password + "@redis.example:6380/2")
	if err != nil || cfg.TLSConfig == nil || cfg.TLSConfig.ServerName != "redis.example" || cfg.DB != 2 || cfg.Password != password || where != "rediss://redis.example:6380/2" {
		t.Fatalf("rediss URL parsed as %+v, %q, %v", cfg, where, err)
	}
	srv := redistest.Start(t)
	if err := srv.Do("CONFIG", "SET", "requirepass", password); err != nil {
		t.Fatal(err)
	}
	_, err = OpenRedis(ctx, "redis://:wrong-"+password+"@"+srv.Addr+"/0", RedisOptions{})
	if err == nil || strings.Contains(err.Error(), password) {
		t.Fatalf("OpenRedis with a wrong password = %v", err)
	}
	t.Log(err)
	s := openRedis(t, "redis://:"+password+"@"+srv.Addr+"/0", RedisOptions{})
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	err = s.Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "does not answer") || !strings.Contains(err.Error(), srv.Addr) || strings.Contains(err.Error(), password) {
		t.Fatalf("Ping of a stopped Redis = %v", err)
	}
	_, err = OpenRedis(ctx, "redis://:"+password+"@"+srv.Addr+"/0", RedisOptions{})
	if err == nil || strings.Contains(err.Error(), password) {
		t.Fatalf("OpenRedis of a stopped Redis = %v", err)
	}
	t.Log(err)
}

// A commit whose reply was lost and that the client sends again lands once.
func TestRedisCommitIsIdempotent(t *testing.T) {
	s := openRedis(t, redistest.URL(t), RedisOptions{})
	c, _ := s.Create(ctx, Conversation{Model: "m"})
	raw, _, err := encodeTurn(newFixture(26, 0).turn(0))
	if err != nil {
		t.Fatal(err)
	}
	c.Turns = []Turn{{Prompt: "once"}}
	for range 2 {
		if n, err := s.commit(ctx, "append", "commit_same", 0, c, nil, nil, []json.RawMessage{raw}); err != nil || n != commitOK {
			t.Fatalf("commit = %d, %v", n, err)
		}
	}
	if n := rawRedis(t, s).LLen(ctx, s.turnsKey(c.ID)).Val(); n != 1 {
		t.Fatalf("%d stored turns after a repeated commit, want 1", n)
	}
}

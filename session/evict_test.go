package session

import (
	"errors"
	"os"
	"testing"
	"time"

	"google.golang.org/genai"
)

func TestEvictionRemovesOnlyUnreferencedBlobs(t *testing.T) {
	forEachStore(t, testEvictionRemovesOnlyUnreferencedBlobs)
}

func testEvictionRemovesOnlyUnreferencedBlobs(t *testing.T, open func(*fakeClock) Store) {
	clock := newClock()
	s := open(clock)

	old, _ := s.Create(ctx, Conversation{Model: "m"})
	oldSent := appendTurns(t, s, old.ID, newFixture(12, 256), 0, 2)
	oldMeta, _ := s.Get(ctx, old.ID)

	// kept shares a blob with old: its reference image is old's last final image.
	kept, _ := s.Create(ctx, Conversation{Model: "m"})
	g := newFixture(13, 256)
	g.last = oldSent[3].Parts[3].InlineData.Data
	keptSent := appendTurns(t, s, kept.ID, g, 0, 1)
	shared := g.last

	// A branch of old outlives it and keeps the blobs of the turns it copied.
	branch, err := s.Branch(ctx, old.ID, oldMeta.Turns[0].Images[0].ID)
	if err != nil {
		t.Fatal(err)
	}

	clock.Advance(8 * 24 * time.Hour)
	appendTurns(t, s, kept.ID, g, 1, 1)
	appendTurns(t, s, branch.ID, newFixture(14, 256), 1, 1)
	keptSent, _ = s.History(ctx, kept.ID)
	branchSent, _ := s.History(ctx, branch.ID)
	before := blobCount(t, s)

	ev, err := s.EvictOlderThan(ctx, clock.Now().Add(-DefaultTTL)) // what FileStore.EvictExpired does
	if err != nil {
		t.Fatal(err)
	}
	// old had 4 blobs (2 final, 2 thought); the branch keeps turn 0's two, kept keeps the
	// final image of turn 1, so only turn 1's thought image goes.
	if ev.Conversations != 1 || ev.Blobs != 1 {
		t.Fatalf("eviction = %+v", ev)
	}
	if n := blobCount(t, s); n != before-1 {
		t.Fatalf("%d blobs, want %d", n, before-1)
	}
	if !hasBlob(t, s, shared) {
		t.Fatal("the blob kept shares with the evicted conversation is gone")
	}
	if _, err := s.Get(ctx, old.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("evicted conversation: %v", err)
	}
	if _, err := s.FindImage(ctx, oldMeta.Turns[1].Images[0].ID); !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("image of the evicted conversation: %v", err)
	}
	for id, want := range map[string][]*genai.Content{kept.ID: keptSent, branch.ID: branchSent} {
		h, err := s.History(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		sameHistory(t, h, want)
	}
	if l, _ := s.List(ctx, Query{Owner: LocalUser, AllSessions: true}); len(l) != 2 {
		t.Fatalf("List after eviction: %+v", l)
	}

	// Delete frees what only that conversation used.
	if err := s.Delete(ctx, kept.ID); err != nil {
		t.Fatal(err)
	}
	if hasBlob(t, s, shared) {
		t.Fatal("the blob only the deleted conversation used is still stored")
	}
	if h, err := s.History(ctx, branch.ID); err != nil || len(h) != 4 {
		t.Fatalf("branch after Delete: %d, %v", len(h), err)
	}
	if err := s.Delete(ctx, kept.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}
}

// EvictExpired is EvictOlderThan(now - TTL).
func TestEvictExpired(t *testing.T) {
	clock := newClock()
	s := openStore(t, t.TempDir(), clock)
	c, _ := s.Create(ctx, Conversation{Model: "m"})
	appendTurns(t, s, c.ID, newFixture(15, 64), 0, 1)
	if ev, _ := s.EvictExpired(ctx); ev.Conversations != 0 {
		t.Fatalf("a fresh conversation was evicted: %+v", ev)
	}
	clock.Advance(DefaultTTL + time.Minute)
	if ev, err := s.EvictExpired(ctx); err != nil || ev.Conversations != 1 || ev.Blobs != 2 {
		t.Fatalf("EvictExpired after the TTL = %+v, %v", ev, err)
	}
}

// Blobs younger than the grace period survive a sweep: another process may be about to commit
// the record that uses them.
func TestSweepGrace(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Now: newClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("orphan")
	if err := s.writeBlob(blobName(data), data); err != nil {
		t.Fatal(err)
	}
	if ev, _ := s.EvictOlderThan(ctx, time.Time{}); ev.Blobs != 0 {
		t.Fatalf("young orphan swept: %+v", ev)
	}
	old := time.Now().Add(-2 * defaultBlobGrace)
	_ = os.Chtimes(s.blobPath(blobName(data)), old, old)
	if ev, _ := s.EvictOlderThan(ctx, time.Time{}); ev.Blobs != 1 {
		t.Fatalf("old orphan kept: %+v", ev)
	}
}

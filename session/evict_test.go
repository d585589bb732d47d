package session

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/genai"
)

func TestEvictionRemovesOnlyUnreferencedBlobs(t *testing.T) {
	dir := t.TempDir()
	clock := newClock()
	s := openStore(t, dir, clock)

	old, _ := s.Create(ctx, Conversation{Model: "m"})
	oldSent := appendTurns(t, s, old.ID, newFixture(12, 256), 0, 2)
	oldMeta, _ := s.Get(ctx, old.ID)

	// kept shares a blob with old: its reference image is old's last final image.
	kept, _ := s.Create(ctx, Conversation{Model: "m"})
	g := newFixture(13, 256)
	g.last = oldSent[3].Parts[3].InlineData.Data
	keptSent := appendTurns(t, s, kept.ID, g, 0, 1)
	shared := s.blobPath(blobName(g.last))

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
	before := countFiles(t, filepath.Join(dir, blobsDir))

	ev, err := s.EvictExpired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// old had 4 blobs (2 final, 2 thought); the branch keeps turn 0's two, kept keeps the
	// final image of turn 1, so only turn 1's thought image goes.
	if ev.Conversations != 1 || ev.Blobs != 1 {
		t.Fatalf("eviction = %+v", ev)
	}
	if n := countFiles(t, filepath.Join(dir, blobsDir)); n != before-1 {
		t.Fatalf("%d blobs, want %d", n, before-1)
	}
	if _, err := os.Stat(shared); err != nil {
		t.Fatalf("shared blob: %v", err)
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
	if _, err := os.Stat(shared); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("blob used only by the deleted conversation: %v", err)
	}
	if h, err := s.History(ctx, branch.ID); err != nil || len(h) != 4 {
		t.Fatalf("branch after Delete: %d, %v", len(h), err)
	}
	if err := s.Delete(ctx, kept.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
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

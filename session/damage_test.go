package session

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDamagedRecord(t *testing.T) {
	dir := t.TempDir()
	clock := newClock()
	s := openStore(t, dir, clock)
	bad, _ := s.Create(ctx, Conversation{Model: "m", Owner: "o"})
	good, _ := s.Create(ctx, Conversation{Model: "m", Owner: "o"})
	appendTurns(t, s, bad.ID, newFixture(8, 256), 0, 2)
	sent := appendTurns(t, s, good.ID, newFixture(9, 256), 0, 2)

	if err := os.WriteFile(s.conversationPath(bad.ID), []byte("{\"format\":1,\"id\":\x00garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	for op, err := range map[string]error{ // the calls run in this order, when the map is built
		"Get":        func() error { _, err := s.Get(ctx, bad.ID); return err }(),
		"History":    func() error { _, err := s.History(ctx, bad.ID); return err }(),
		"AppendTurn": func() error { _, err := s.AppendTurn(ctx, bad.ID, newFixture(1, 8).turn(0)); return err }(),
		"Branch":     func() error { _, err := s.Branch(ctx, bad.ID, NewID("img")); return err }(),
	} {
		if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), bad.ID) {
			t.Fatalf("%s of the damaged conversation gave %v; want ErrDamaged naming %s", op, err, bad.ID)
		}
	}
	t.Logf("error: %v", func() error { _, err := s.Get(ctx, bad.ID); return err }())
	if h, err := s.History(ctx, good.ID); err != nil {
		t.Fatalf("the other conversation: %v", err)
	} else {
		sameHistory(t, h, sent)
	}

	// After a restart the damaged file is reported and skipped; the rest works.
	s = openStore(t, dir, clock)
	if got := s.Damaged(); !slices.Equal(got, []string{bad.ID}) {
		t.Fatalf("Damaged() = %v", got)
	}
	if l, _ := s.List(ctx, Query{Owner: "o"}); len(l) != 1 || l[0].ID != good.ID {
		t.Fatalf("List = %+v", l)
	}
	if _, err := s.EvictOlderThan(ctx, clock.Now().Add(-DefaultTTL)); err != nil {
		t.Fatal(err)
	}
	if h, err := s.History(ctx, good.ID); err != nil || len(h) != 4 {
		t.Fatalf("after a sweep with a damaged file: %d, %v", len(h), err)
	}
	if err := s.Delete(ctx, bad.ID); err != nil {
		t.Fatalf("deleting the damaged conversation: %v", err)
	}
	if len(s.Damaged()) != 0 {
		t.Fatal("still reported damaged after Delete")
	}
}

func TestDamagedBlobAndBody(t *testing.T) {
	s := openStore(t, t.TempDir(), newClock())
	c, _ := s.Create(ctx, Conversation{Model: "m"})
	sent := appendTurns(t, s, c.ID, newFixture(10, 256), 0, 2)

	blob := s.blobPath(blobName(sent[1].Parts[3].InlineData.Data))
	orig, _ := os.ReadFile(blob)
	_ = os.WriteFile(blob, append(orig[:len(orig)-1], orig[len(orig)-1]^1), 0o600)
	if _, err := s.History(ctx, c.ID); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "do not match") {
		t.Fatalf("altered blob: %v", err)
	}
	_ = os.Remove(blob)
	if _, err := s.History(ctx, c.ID); !errors.Is(err, ErrDamaged) {
		t.Fatalf("missing blob: %v", err)
	}
	_ = os.WriteFile(blob, orig, 0o600)

	// A header with a truncated body: metadata still readable, history is not.
	path := s.conversationPath(c.ID)
	data, _ := os.ReadFile(path)
	_ = os.WriteFile(path, data[:len(data)-40], 0o600)
	if _, err := s.Get(ctx, c.ID); err != nil {
		t.Fatalf("Get with a truncated body: %v", err)
	}
	if _, err := s.History(ctx, c.ID); !errors.Is(err, ErrDamaged) {
		t.Fatalf("truncated body: %v", err)
	}
}

func TestDamagedStoreAtOpen(t *testing.T) {
	for _, tc := range []struct {
		name, want string                                // want: in the error; "" for any error
		damage     func(t *testing.T, dir string) string // spoils a fresh directory, returns what to open
	}{
		{"bad FORMAT", formatFile, func(t *testing.T, dir string) string {
			_ = openStore(t, dir, newClock()).Close()
			_ = os.WriteFile(filepath.Join(dir, formatFile), []byte("bbolt?\n"), 0o600)
			return dir
		}},
		{"foreign directory", "not a session store", func(t *testing.T, dir string) string {
			_ = os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600)
			return dir
		}},
		{"plain file", "", func(t *testing.T, dir string) string {
			_ = os.WriteFile(filepath.Join(dir, "file"), nil, 0o600)
			return filepath.Join(dir, "file")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.damage(t, t.TempDir()), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open of a %s: %v; want an error containing %q", tc.name, err, tc.want)
			}
			t.Logf("error: %v", err)
		})
	}
}

// The state a kill leaves between the blobs of a turn and its record: blobs and an image
// lookup with no record, plus a temporary file. The store reads as before the turn, and a
// sweep clears the leftovers.
func TestCrashBeforeCommit(t *testing.T) {
	dir := t.TempDir()
	clock := newClock()
	s := openStore(t, dir, clock)
	c, _ := s.Create(ctx, Conversation{Model: "m"})
	f := newFixture(11, 256)
	sent := appendTurns(t, s, c.ID, f, 0, 3)
	blobsBefore := countFiles(t, filepath.Join(dir, blobsDir))

	lost := f.turn(3)
	_, blobs, _ := encodeTurn(lost)
	for name, data := range blobs {
		if err := s.writeBlob(name, data); err != nil {
			t.Fatal(err)
		}
	}
	lost.Images[0].Conversation, lost.Images[0].Turn = c.ID, 3
	_ = s.writeImageRef(lost.Images[0])
	_ = os.WriteFile(filepath.Join(dir, conversationsDir, "."+c.ID+".json.123.tmp"), []byte("half"), 0o600)

	s = openStore(t, dir, clock)
	h, err := s.History(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameHistory(t, h, sent)
	if _, err := s.FindImage(ctx, lost.Images[0].ID); !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("image of the lost turn: %v", err)
	}
	ev, err := s.EvictOlderThan(ctx, clock.Now().Add(-DefaultTTL))
	if err != nil || ev.Conversations != 0 || ev.Blobs != 2 {
		t.Fatalf("sweep after crash = %+v, %v", ev, err)
	}
	if n := countFiles(t, filepath.Join(dir, blobsDir)); n != blobsBefore {
		t.Fatalf("%d blobs after the sweep, want %d", n, blobsBefore)
	}
	if n := countFiles(t, filepath.Join(dir, conversationsDir)); n != 1 {
		t.Fatalf("%d conversation files", n)
	}
	// The turn can be retried.
	if _, err := s.AppendTurn(ctx, c.ID, lost); err != nil {
		t.Fatal(err)
	}
}

package session

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var ctx = context.Background()

func TestTenTurnRoundTrip(t *testing.T) { forEachStore(t, testTenTurnRoundTrip) }

func testTenTurnRoundTrip(t *testing.T, open func(*fakeClock) Store) {
	s := open(newClock())
	c, err := s.Create(ctx, Conversation{Model: "gemini-3-pro-image-preview", Owner: "mcp-1", ImageSize: "2K"})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(1, 4096)
	sent := appendTurns(t, s, c.ID, f, 0, 10)
	before := deepCopy(t, sent)

	got, err := s.History(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameHistory(t, got, sent)
	sameHistory(t, sent, before) // the store did not touch what it was given

	meta, err := s.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.Turns) != 10 || meta.AspectRatio != "16:9" || meta.ImageSize != "2K" {
		t.Fatalf("metadata: %d turns, ratio %q, size %q", len(meta.Turns), meta.AspectRatio, meta.ImageSize)
	}
	for i, turn := range meta.Turns {
		if turn.User != nil || turn.Model != nil {
			t.Fatalf("Get returned contents in turn %d", i)
		}
		if img := turn.Images[0]; img.Conversation != c.ID || img.Turn != i || img.Width != 1024 {
			t.Fatalf("turn %d image record %+v", i, img)
		}
		if turn.Bytes < 4096 {
			t.Fatalf("turn %d counts %d bytes", i, turn.Bytes)
		}
	}
	latest, _ := meta.LatestImage()
	found, err := s.FindImage(ctx, latest.ID)
	if err != nil || found != latest {
		t.Fatalf("FindImage = %+v, %v; want %+v", found, err, latest)
	}

	// No image bytes in the record; each image stored once although later turns resend it.
	record := storedRecord(t, s, c.ID)
	final := sent[1].Parts[3].InlineData.Data
	if bytes.Contains(record, []byte(base64.StdEncoding.EncodeToString(final)[:64])) {
		t.Fatal("the conversation record contains image bytes")
	}
	if n := blobCount(t, s); n != 20 {
		t.Fatalf("%d blobs, want 20 (10 final + 10 thought images)", n)
	}
	t.Logf("record %d bytes for 10 turns; history %d bytes on the wire", len(record), meta.HistoryBytes())
}

func TestRestartInTheMiddle(t *testing.T) { forEachStore(t, testRestartInTheMiddle) }

func testRestartInTheMiddle(t *testing.T, open func(*fakeClock) Store) {
	clock := newClock()
	s := open(clock)
	c, err := s.Create(ctx, Conversation{Model: "m", Owner: "client-a", Session: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(2, 1024)
	sent := appendTurns(t, s, c.ID, f, 0, 5)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(clock)
	// Appends may land while the index is still loading; the index ends up current.
	sent = append(sent, appendTurns(t, s, c.ID, f, 5, 5)...)
	list, err := s.List(ctx, Query{Owner: "client-a", AllSessions: true})
	if err != nil || len(list) != 1 || list[0].Turns != 10 {
		t.Fatalf("List after restart = %+v, %v", list, err)
	}
	latest, err := s.LatestForOwner(ctx, "client-a", "s1")
	if err != nil || latest.ID != c.ID || len(latest.Turns) != 10 {
		t.Fatalf("LatestForOwner after restart = %s with %d turns, %v", latest.ID, len(latest.Turns), err)
	}
	got, err := s.History(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameHistory(t, got, sent)
}

func TestBranch(t *testing.T) { forEachStore(t, testBranch) }

func testBranch(t *testing.T, open func(*fakeClock) Store) {
	s := open(newClock())
	c, _ := s.Create(ctx, Conversation{Model: "m", Owner: "o", AspectRatio: "1:1"})
	f := newFixture(3, 512)
	sent := appendTurns(t, s, c.ID, f, 0, 5)
	meta, _ := s.Get(ctx, c.ID)
	fork := meta.Turns[3].Images[0] // turn 3 set the ratio to 16:9

	b, err := s.Branch(ctx, c.ID, fork.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.ID == c.ID || b.BranchOf != c.ID || b.BranchImage != fork.ID || len(b.Turns) != 4 || b.Model != "m" || b.Owner != "o" || b.AspectRatio != "16:9" {
		t.Fatalf("branch metadata %+v", b)
	}
	got, _ := s.History(ctx, b.ID)
	sameHistory(t, got, sent[:8])

	// The branch goes its own way; the original is unchanged.
	g := newFixture(4, 512)
	branchSent := appendTurns(t, s, b.ID, g, 4, 2)
	got, _ = s.History(ctx, b.ID)
	sameHistory(t, got, append(sent[:8:8], branchSent...))
	got, _ = s.History(ctx, c.ID)
	sameHistory(t, got, sent)

	// Earlier images still name the conversation that produced them.
	if img, err := s.FindImage(ctx, fork.ID); err != nil || img.Conversation != c.ID {
		t.Fatalf("FindImage(fork) = %+v, %v", img, err)
	}
	bm, _ := s.Get(ctx, b.ID)
	newest, _ := bm.LatestImage()
	if img, err := s.FindImage(ctx, newest.ID); err != nil || img.Conversation != b.ID || img.Turn != 5 {
		t.Fatalf("FindImage(branch image) = %+v, %v", img, err)
	}
	// A branch of a branch, from an image the branch inherited.
	bb, err := s.Branch(ctx, b.ID, meta.Turns[1].Images[0].ID)
	if err != nil || len(bb.Turns) != 2 {
		t.Fatalf("branch of branch: %d turns, %v", len(bb.Turns), err)
	}
	if _, err := s.Branch(ctx, c.ID, newest.ID); !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("branch from another conversation's image: %v", err)
	}
}

func TestBadIDs(t *testing.T) { forEachStore(t, testBadIDs) }

func testBadIDs(t *testing.T, open func(*fakeClock) Store) {
	s := open(newClock())
	for _, id := range []string{"", "../../etc/passwd", "c_abc", NewID("img"), NewID("c")} {
		if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v", id, err)
		}
		if _, err := s.History(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("History(%q) = %v", id, err)
		}
		if _, err := s.FindImage(ctx, id); !errors.Is(err, ErrImageNotFound) {
			t.Errorf("FindImage(%q) = %v", id, err)
		}
	}
	if _, err := s.LatestForOwner(ctx, "nobody", "s1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("LatestForOwner = %v", err)
	}
	c, _ := s.Create(ctx, Conversation{Model: "m"})
	turn := newFixture(5, 64).turn(0)
	turn.Model = nil
	if _, err := s.AppendTurn(ctx, c.ID, turn); err == nil {
		t.Error("a turn without model content was appended")
	}
}

func TestList(t *testing.T) { forEachStore(t, testList) }

func testList(t *testing.T, open func(*fakeClock) Store) {
	s := open(newClock())
	var ids []string
	for i := range 5 {
		owner, sess := "a", "s1"
		if i%2 == 1 {
			owner = "b"
		}
		if i == 4 {
			sess = "s2"
		}
		c, _ := s.Create(ctx, Conversation{Model: "m", Owner: owner, Session: sess})
		ids = append(ids, c.ID)
	}
	appendTurns(t, s, ids[0], newFixture(6, 64), 0, 1) // now the newest of owner a
	list, _ := s.List(ctx, Query{Owner: "a", AllSessions: true})
	if len(list) != 3 || list[0].ID != ids[0] || list[0].Turns != 1 || list[0].LatestImage == "" {
		t.Fatalf("List(a, all sessions) = %+v", list)
	}
	for _, sum := range list {
		if sum.Owner != "a" {
			t.Fatalf("List(a) returned a conversation of %s", sum.Owner)
		}
	}
	s2, _ := s.List(ctx, Query{Owner: "a", Session: "s2"})
	if len(s2) != 1 || s2[0].ID != ids[4] {
		t.Fatalf("List(a, s2) = %+v", s2)
	}
	some, _ := s.List(ctx, Query{Owner: "a", AllSessions: true, Limit: 2})
	if len(some) != 2 || some[0].ID != ids[0] || some[1].ID != ids[4] {
		t.Fatalf("List(a, 2) = %+v", some)
	}
	if latest, err := s.LatestForOwner(ctx, "b", "s1"); err != nil || latest.ID != ids[3] {
		t.Fatalf("LatestForOwner(b, s1) = %s, %v", latest.ID, err)
	}
	if _, err := s.LatestForOwner(ctx, "a", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a stateless client got a latest conversation: %v", err)
	}
}

func TestContentBytes(t *testing.T) {
	turn := newFixture(7, 3000).turn(0)
	if n := ContentBytes(turn.Model); n < 4*(3008+758)/3 || n > 8000 {
		t.Errorf("ContentBytes(model) = %d", n)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func countFiles(t testing.TB, root string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(root, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			n++
		}
		return nil
	})
	return n
}

// Owners stay apart, across clients of one store (replicas) and whatever characters their
// names hold: List never returns another owner's conversation, and Get and FindImage report
// the owner so that callers refuse a stranger's ids (the store does not check principals).
func TestOwnerIsolation(t *testing.T) { forEachStore(t, testOwnerIsolation) }

func testOwnerIsolation(t *testing.T, open func(*fakeClock) Store) {
	clock := newClock()
	one, two := open(clock), open(clock)
	type who struct{ owner, session string }
	people := []who{{"x", "y:z"}, {"x:y", "z"}, {"x", "s"}, {"team b", "s"}}
	ids := map[who]string{}
	images := map[who]string{}
	for i, p := range people {
		s := []Store{one, two}[i%2]
		c, err := s.Create(ctx, Conversation{Model: "m", Owner: p.owner, Session: p.session})
		if err != nil {
			t.Fatal(err)
		}
		appendTurns(t, s, c.ID, newFixture(uint64(30+i), 64), 0, 1)
		meta, _ := s.Get(ctx, c.ID)
		ids[p], images[p] = c.ID, meta.Turns[0].Images[0].ID
	}
	// A client opened after the writes (a new replica; for FileStore, whose List index covers
	// its own writes and what was on disk at Open, a restarted process) sees them all.
	three := open(clock)
	for _, p := range people {
		s := three
		list, err := s.List(ctx, Query{Owner: p.owner, Session: p.session})
		if err != nil || len(list) != 1 || list[0].ID != ids[p] {
			t.Fatalf("List(%q, %q) = %+v, %v", p.owner, p.session, list, err)
		}
		latest, err := s.LatestForOwner(ctx, p.owner, p.session)
		if err != nil || latest.ID != ids[p] {
			t.Fatalf("LatestForOwner(%q, %q) = %s, %v", p.owner, p.session, latest.ID, err)
		}
		if c, err := s.Get(ctx, ids[p]); err != nil || c.Owner != p.owner {
			t.Fatalf("Get of %q's conversation: owner %q, %v", p.owner, c.Owner, err)
		}
		img, err := s.FindImage(ctx, images[p])
		if err != nil || img.Conversation != ids[p] {
			t.Fatalf("FindImage of %q's image = %+v, %v", p.owner, img, err)
		}
	}
	if _, shared := one.(*RedisStore); shared { // replicas see each other's writes at once
		for i, p := range people {
			reader := []Store{two, one}[i%2]
			if l, err := reader.List(ctx, Query{Owner: p.owner, Session: p.session}); err != nil || len(l) != 1 || l[0].ID != ids[p] {
				t.Fatalf("List(%q, %q) on the other replica = %+v, %v", p.owner, p.session, l, err)
			}
		}
	}
	for owner, want := range map[string]int{"x": 2, "x:y": 1, "team b": 1, "team": 0} {
		list, _ := three.List(ctx, Query{Owner: owner, AllSessions: true})
		if len(list) != want {
			t.Fatalf("List(%q, all sessions) has %d conversations, want %d", owner, len(list), want)
		}
		for _, sum := range list {
			if sum.Owner != owner {
				t.Fatalf("List(%q) returned a conversation of %q", owner, sum.Owner)
			}
		}
	}
}

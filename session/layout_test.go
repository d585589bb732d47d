package session

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Several servers starting at once on a fresh data directory (Claude Desktop and Claude Code
// on first use) all open the one store; none refuses.
func TestConcurrentFirstStart(t *testing.T) {
	for round := range 30 {
		parent := t.TempDir()
		dir := filepath.Join(parent, "data", "store")
		if round%2 == 1 {
			if err := os.MkdirAll(dir, 0o700); err != nil { // an empty directory made beforehand
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := Open(dir, Options{NoSync: true})
				if err != nil {
					errs <- err
					return
				}
				_ = s.Close()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		for _, sub := range append([]string{formatFile}, storeDirs...) {
			if _, err := os.Stat(filepath.Join(dir, sub)); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1+len(storeDirs) {
			t.Fatalf("round %d: the store holds %v", round, entries)
		}
	}
}

func TestLayoutLivesInsideTheStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "conversations")
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := Layout{Dir: dir}
	for _, p := range []string{l.Jobs(), l.RateLimitState(), l.LifecycleState()} {
		if rel, err := filepath.Rel(dir, p); err != nil || strings.HasPrefix(rel, "..") {
			t.Errorf("%s is outside the store directory %s", p, dir)
		}
	}
	for _, d := range []string{l.Jobs(), filepath.Dir(l.RateLimitState())} {
		if st, err := os.Stat(d); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v", d, st, err)
		}
	}
	// A directory that is someone else's is refused, and left as it was.
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "config.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(foreign, Options{}); err == nil || !strings.Contains(err.Error(), "not a session store") {
		t.Errorf("a foreign directory: %v", err)
	}
	if entries, _ := os.ReadDir(foreign); len(entries) != 1 {
		t.Errorf("opening wrote into a foreign directory: %v", entries)
	}
}

// A crash between creating a conversation and recording its first turn leaves a conversation
// with no turns; the next start removes it once it is older than the grace period.
func TestZeroTurnConversationLeftByCrashIsCleaned(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newClock()
	s := openStore(t, dir, clock)
	old, _ := s.Create(ctx, Conversation{Model: "m"})
	kept, _ := s.Create(ctx, Conversation{Model: "m"})
	appendTurns(t, s, kept.ID, newFixture(3, 64), 0, 1)
	clock.Advance(20 * time.Minute)
	young, _ := s.Create(ctx, Conversation{Model: "m"}) // another process's turn may be on its way
	_ = s.Close()

	s = openStore(t, dir, clock)
	list, _ := s.List(ctx, Query{Owner: LocalUser, AllSessions: true})
	if len(list) != 2 || list[0].ID != young.ID || list[1].ID != kept.ID {
		t.Errorf("after restart: %+v; want %s and %s, not %s", list, young.ID, kept.ID, old.ID)
	}
	if _, err := os.Stat(s.conversationPath(old.ID)); !os.IsNotExist(err) {
		t.Errorf("the 0-turn conversation's file is still there: %v", err)
	}
}

func TestImagesArePrivateUnlessShared(t *testing.T) {
	for _, tc := range []struct {
		shared    bool
		dir, file os.FileMode
	}{{false, 0o700, 0o600}, {true, 0o755, 0o644}} {
		out := filepath.Join(t.TempDir(), "images")
		imgs := &Images{Dir: out, Shared: tc.shared}
		rec, err := imgs.Save(NewID("img"), "a fox", "", []byte("png bytes"), "image/png")
		if err != nil {
			t.Fatal(err)
		}
		d, _ := os.Stat(out)
		f, _ := os.Stat(rec.Path)
		// Directories follow the umask; the usual ones (022, 077) take nothing from these.
		if d.Mode().Perm()&^tc.dir != 0 || f.Mode().Perm() != tc.file {
			t.Errorf("shared=%v: directory %v, file %v; want %v and %v", tc.shared, d.Mode().Perm(), f.Mode().Perm(), tc.dir, tc.file)
		}
	}
}

func TestImagesRemoveStaleTemps(t *testing.T) {
	out := t.TempDir()
	now := time.Now()
	imgs := &Images{Dir: out, Now: func() time.Time { return now }}
	files := map[string]time.Duration{
		".20261123-193005_a-fox_img_aaaaaaaaaaaaaaaa.png.123.tmp": time.Hour,   // a crash's leftover: removed
		".20261123-193005_a-fox_img_bbbbbbbbbbbbbbbb.png.456.tmp": time.Minute, // a save in flight: kept
		".notes.tmp": time.Hour, // not the server's: kept
		"20261123-193005_a-fox_img_cccccccccccccccc.png": time.Hour, // an image: kept
	}
	for name, age := range files {
		p := filepath.Join(out, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	if n := imgs.RemoveStaleTemps(); n != 1 {
		t.Errorf("removed %d files, want 1", n)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 3 {
		t.Errorf("left %v", entries)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), "aaaaaaaa") {
			t.Errorf("the stale temporary file survived")
		}
	}
}

// Conversations written before owners were principals recorded the MCP session as "owner";
// they belong to the local user (the operator), never to a token's principal.
func TestLegacyConversationsBelongToTheLocalUser(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, newClock())
	c, _ := s.Create(ctx, Conversation{Model: "m", Owner: "alice", Session: "s1"})
	appendTurns(t, s, c.ID, newFixture(4, 64), 0, 1)
	_ = s.Close()
	path := filepath.Join(dir, conversationsDir, c.ID+".json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	legacy := strings.Replace(strings.Replace(string(data), `"principal":"alice",`, "", 1), `"session":"s1"`, `"owner":"mcp-session-1"`, 1)
	if legacy == string(data) {
		t.Fatalf("the record no longer has the expected shape: %.200s", data)
	}
	if err := os.WriteFile(path, []byte(legacy), 0o600); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, newClock())
	got, err := s.Get(ctx, c.ID)
	if err != nil || got.Owner != LocalUser {
		t.Fatalf("a legacy conversation: owner %q, %v", got.Owner, err)
	}
	if l, _ := s.List(ctx, Query{Owner: "alice", AllSessions: true}); len(l) != 0 {
		t.Errorf("alice sees a legacy conversation: %+v", l)
	}
	if l, _ := s.List(ctx, Query{Owner: LocalUser, AllSessions: true}); len(l) != 1 {
		t.Errorf("the local user lost a legacy conversation: %+v", l)
	}
}

package session

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// Edits under Lock run one after another: each sees the history the previous one left.
func TestLockSerialisesEdits(t *testing.T) { forEachStore(t, testLockSerialisesEdits) }

func testLockSerialisesEdits(t *testing.T, open func(*fakeClock) Store) {
	s := open(newClock())
	c, _ := s.Create(ctx, Conversation{Model: "m"})
	const editors = 16
	var wg sync.WaitGroup
	errs := make(chan error, editors)
	for range editors {
		wg.Go(func() {
			unlock, err := s.Lock(ctx, c.ID)
			if err != nil {
				errs <- err
				return
			}
			defer unlock()
			h, err := s.History(ctx, c.ID)
			if err != nil {
				errs <- err
				return
			}
			turn := newFixture(uint64(len(h)), 64).turn(len(h) / 2)
			turn.Prompt = fmt.Sprintf("saw %d turns", len(h)/2)
			if _, err := s.AppendTurn(ctx, c.ID, turn); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	meta, _ := s.Get(ctx, c.ID)
	if len(meta.Turns) != editors {
		t.Fatalf("%d turns, want %d", len(meta.Turns), editors)
	}
	for i, turn := range meta.Turns {
		if want := fmt.Sprintf("saw %d turns", i); turn.Prompt != want {
			t.Fatalf("turn %d: %q, want %q (edits interleaved)", i, turn.Prompt, want)
		}
	}
	if n := localLocks(s).size(); n != 0 {
		t.Fatalf("%d lock entries left", n)
	}
	if fs, ok := s.(*FileStore); ok && fs.files.size() != 0 {
		t.Fatalf("%d file lock entries left", fs.files.size())
	}
}

// Concurrent AppendTurn calls without Lock all land, and history keeps the order of the
// turn records.
func TestConcurrentAppendLosesNothing(t *testing.T) {
	forEachStore(t, testConcurrentAppendLosesNothing)
}

func testConcurrentAppendLosesNothing(t *testing.T, open func(*fakeClock) Store) {
	s := open(newClock())
	c, _ := s.Create(ctx, Conversation{Model: "m"})
	const writers = 24
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			turn := newFixture(uint64(i), 64).turn(i)
			if _, err := s.AppendTurn(ctx, c.ID, turn); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	meta, _ := s.Get(ctx, c.ID)
	h, err := s.History(ctx, c.ID)
	if err != nil || len(meta.Turns) != writers || len(h) != 2*writers {
		t.Fatalf("%d turns, %d contents, %v", len(meta.Turns), len(h), err)
	}
	seen := map[string]bool{}
	for i, turn := range meta.Turns {
		if h[2*i].Parts[0].Text != turn.Prompt || seen[turn.Prompt] {
			t.Fatalf("turn %d: record %q, history %q", i, turn.Prompt, h[2*i].Parts[0].Text)
		}
		seen[turn.Prompt] = true
		if turn.Images[0].Turn != i {
			t.Fatalf("turn %d image says turn %d", i, turn.Images[0].Turn)
		}
	}
}

func TestLockIsPerConversation(t *testing.T) { forEachStore(t, testLockIsPerConversation) }

func testLockIsPerConversation(t *testing.T, open func(*fakeClock) Store) {
	s := open(newClock())
	a, _ := s.Create(ctx, Conversation{Model: "m"})
	b, _ := s.Create(ctx, Conversation{Model: "m"})
	unlockA, err := s.Lock(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Another conversation is free while a is held.
	unlockB, err := s.Lock(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
	// A second editor of a waits, and gives up when its context ends.
	waitCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() {
		_, err := s.Lock(waitCtx, a.ID)
		done <- err
	}()
	for localLocks(s).refs(a.ID) < 2 { // the second editor is queued
		runtime.Gosched()
	}
	select {
	case err := <-done:
		t.Fatalf("second Lock of a held conversation returned %v", err)
	default:
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("cancelled Lock = %v", err)
	}
	unlockA()
	unlockA() // idempotent
	unlock, err := s.Lock(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if n := localLocks(s).size(); n != 0 {
		t.Fatalf("%d lock entries left", n)
	}
}

func (k *keyedLocks) refs(key string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	if l := k.m[key]; l != nil {
		return l.refs
	}
	return 0
}

// size reports how many keys are held or awaited.
func (k *keyedLocks) size() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}

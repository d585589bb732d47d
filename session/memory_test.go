package session

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// storeMany fills dir with n one-turn conversations spread over 50 owners.
func storeMany(t testing.TB, dir string, n int) {
	t.Helper()
	s, err := Open(dir, Options{NoSync: true, Now: newClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(99, 64)
	for i := range n {
		c, err := s.Create(ctx, Conversation{Model: "gemini-3-pro-image-preview", Session: fmt.Sprintf("mcp-session-%02d", i%50)})
		if err != nil {
			t.Fatal(err)
		}
		f.last = nil
		if _, err := s.AppendTurn(ctx, c.ID, f.turn(i)); err != nil {
			t.Fatal(err)
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// measureStore opens a filled store, touches every conversation, and reports the heap the open
// store holds per conversation.
func measureStore(t testing.TB, dir string, n int) (perConversation float64, total uint64, ready time.Duration) {
	base := heapInUse()
	start := time.Now()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	list, _ := s.List(ctx, Query{Owner: LocalUser, AllSessions: true})
	ready = time.Since(start) // Open itself returns at once; List waits for the index
	if len(list) != n {
		t.Fatalf("List has %d, want %d", len(list), n)
	}
	for _, sum := range list { // reading histories leaves nothing behind
		if _, err := s.History(ctx, sum.ID); err != nil {
			t.Fatal(err)
		}
	}
	after := heapInUse()
	runtime.KeepAlive(s)
	if after < base {
		after = base
	}
	return float64(after-base) / float64(n), after, ready
}

func TestMemoryFlat(t *testing.T) {
	const n = 300
	dir := t.TempDir()
	storeMany(t, dir, n)
	per, total, ready := measureStore(t, dir, n)
	t.Logf("%d conversations: %.0f B heap per conversation, heap in use %.1f MB, index ready in %v", n, per, float64(total)/1e6, ready)
	if per > 2048 {
		t.Fatalf("%.0f bytes of heap per stored conversation", per)
	}
}

// BenchmarkStore10k stores 10,000 small conversations, reopens the store, reads every
// history, and reports the heap the store keeps.
func BenchmarkStore10k(b *testing.B) {
	const n = 10000
	dir := b.TempDir()
	storeMany(b, dir, n)
	var per float64
	var total uint64
	var ready time.Duration
	for b.Loop() {
		per, total, ready = measureStore(b, dir, n)
	}
	b.ReportMetric(per, "heap-B/conv")
	b.ReportMetric(float64(total)/1e6, "heap-MB")
	b.ReportMetric(float64(ready.Milliseconds()), "index-ready-ms")
}

package session

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/internal/redistest"
)

// recordKinds is the table the Records tests run over, like storeKinds: each call of the
// returned function opens another client (process, replica) of one backing store.
var recordKinds = []struct {
	name    string
	backing func(t testing.TB) func(*fakeClock) Records
}{
	{"redis", func(t testing.TB) func(*fakeClock) Records {
		url := redistest.URL(t)
		return func(c *fakeClock) Records { return openRedis(t, url, RedisOptions{Now: c.Now}).Records() }
	}},
}

func forEachRecords(t *testing.T, test func(t *testing.T, open func(*fakeClock) Records)) {
	for _, k := range recordKinds {
		t.Run(k.name, func(t *testing.T) { test(t, k.backing(t)) })
	}
}

// Documents: put, replace, get, list, delete; a missing record is ErrNoRecord.
func TestRecordsDocuments(t *testing.T) {
	forEachRecords(t, func(t *testing.T, open func(*fakeClock) Records) {
		clock := newClock()
		a, b := open(clock), open(clock)
		job := NewID("job")
		if err := a.Put(ctx, "jobs", job, []byte(`{"status":"running"}`)); err != nil {
			t.Fatal(err)
		}
		if err := a.Put(ctx, "jobs", job, []byte(`{"status":"done"}`)); err != nil {
			t.Fatal(err)
		}
		if got, err := b.Get(ctx, "jobs", job); err != nil || string(got) != `{"status":"done"}` {
			t.Fatalf("Get from another client = %s, %v", got, err)
		}
		_ = a.Put(ctx, "jobs", "a-first", []byte(`1`))
		if keys, err := b.Keys(ctx, "jobs"); err != nil || !slices.Equal(keys, []string{"a-first", job}) {
			t.Fatalf("Keys = %v, %v", keys, err)
		}
		if err := b.Delete(ctx, "jobs", job); err != nil {
			t.Fatal(err)
		}
		if err := b.Delete(ctx, "jobs", job); err != nil {
			t.Fatalf("second Delete: %v", err)
		}
		if _, err := a.Get(ctx, "jobs", job); !errors.Is(err, ErrNoRecord) {
			t.Fatalf("Get after Delete: %v", err)
		}
		if keys, _ := a.Keys(ctx, "nothing"); len(keys) != 0 {
			t.Fatalf("Keys of an unused kind = %v", keys)
		}
	})
}

// PutIfAbsent from many writers on two clients: exactly one creates the record and every
// writer gets that value back (an idempotency key; get-or-create of a secret).
func TestRecordsPutIfAbsent(t *testing.T) {
	forEachRecords(t, func(t *testing.T, open func(*fakeClock) Records) {
		clock := newClock()
		clients := []Records{open(clock), open(clock)}
		const writers = 16
		var mu sync.Mutex
		created, seen := 0, map[string]int{}
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				stored, ok, err := clients[i%2].PutIfAbsent(ctx, "secrets", "url-signing", fmt.Appendf(nil, `{"secret":"%d"}`, i))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if ok {
					created++
				}
				seen[string(stored)]++
			})
		}
		wg.Wait()
		if created != 1 || len(seen) != 1 {
			t.Fatalf("%d writers created the record; values returned: %v", created, seen)
		}
	})
}

// Logs keep every entry in order, from any client.
func TestRecordsLog(t *testing.T) {
	forEachRecords(t, func(t *testing.T, open func(*fakeClock) Records) {
		clock := newClock()
		a, b := open(clock), open(clock)
		for i := range 6 {
			c := a
			if i%2 == 1 {
				c = b
			}
			if err := c.Append(ctx, "usage", "2026-11-28", fmt.Appendf(nil, "{\n  \"call\": %d\n}", i)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := a.Log(ctx, "usage", "2026-11-28")
		if err != nil || len(got) != 6 {
			t.Fatalf("Log = %d entries, %v", len(got), err)
		}
		for i, e := range got {
			if !strings.Contains(string(e), fmt.Sprintf(`"call": %d`, i)) && !strings.Contains(string(e), fmt.Sprintf(`"call":%d`, i)) {
				t.Fatalf("entry %d = %s", i, e)
			}
		}
		if got, err := a.Log(ctx, "usage", "2026-11-27"); err != nil || len(got) != 0 {
			t.Fatalf("Log of an empty day = %v, %v", got, err)
		}
	})
}

// Maps: two clients setting different fields keep both.
func TestRecordsFields(t *testing.T) {
	forEachRecords(t, func(t *testing.T, open func(*fakeClock) Records) {
		clock := newClock()
		a, b := open(clock), open(clock)
		if err := a.SetField(ctx, "state", "lifecycle", "gemini-3-pro-image", []byte(`{"retired":false}`)); err != nil {
			t.Fatal(err)
		}
		if err := b.SetField(ctx, "state", "lifecycle", "gemini-2.5-flash-image", []byte(`{"retired":true}`)); err != nil {
			t.Fatal(err)
		}
		m, err := a.Fields(ctx, "state", "lifecycle")
		if err != nil || len(m) != 2 || string(m["gemini-2.5-flash-image"]) != `{"retired":true}` {
			t.Fatalf("Fields = %q, %v", m, err)
		}
		if m, err := a.Fields(ctx, "state", "none"); err != nil || len(m) != 0 {
			t.Fatalf("Fields of a missing map = %q, %v", m, err)
		}
	})
}

// EvictOlderThan removes what was last written before the cutoff, by the injected clock, and
// keeps what was written since.
func TestRecordsEvict(t *testing.T) {
	forEachRecords(t, func(t *testing.T, open func(*fakeClock) Records) {
		clock := newClock()
		r := open(clock)
		_ = r.Put(ctx, "idempotency", "old", []byte(`"job_1"`))
		_ = r.Append(ctx, "idempotency", "old-log", []byte(`1`))
		clock.Advance(25 * time.Hour)
		cutoff := clock.Now().Add(-24 * time.Hour)
		_ = r.Put(ctx, "idempotency", "new", []byte(`"job_2"`))
		n, err := r.EvictOlderThan(ctx, "idempotency", cutoff)
		if err != nil || n != 2 {
			t.Fatalf("EvictOlderThan = %d, %v; want 2", n, err)
		}
		if keys, _ := r.Keys(ctx, "idempotency"); !slices.Equal(keys, []string{"new"}) {
			t.Fatalf("kept %v", keys)
		}
	})
}

// Names that could leave a kind's space, and values that are not JSON, are refused with a
// sentence; nothing is written.
func TestRecordsRefuseBadNames(t *testing.T) {
	forEachRecords(t, func(t *testing.T, open func(*fakeClock) Records) {
		r := open(newClock())
		for _, bad := range [][2]string{{"jobs", "../x"}, {"jobs", "a/b"}, {"jobs", ".hidden"}, {"jobs", "a:b"}, {"Jobs", "x"}, {"../state", "x"}, {"jobs", ""}} {
			if err := r.Put(ctx, bad[0], bad[1], []byte(`1`)); err == nil {
				t.Errorf("Put(%q, %q) accepted", bad[0], bad[1])
			}
			if _, err := r.Get(ctx, bad[0], bad[1]); !errors.Is(err, ErrNoRecord) {
				t.Errorf("Get(%q, %q) = %v", bad[0], bad[1], err)
			}
		}
		if err := r.Put(ctx, "jobs", "x", []byte("not json")); err == nil || !strings.Contains(err.Error(), "not JSON") {
			t.Errorf("a value that is not JSON: %v", err)
		}
		if keys, _ := r.Keys(ctx, "jobs"); len(keys) != 0 {
			t.Errorf("refused writes left %v", keys)
		}
	})
}

// Batch records in Redis behave as BatchDir's: copies, newest first, ids checked.
func TestRedisBatches(t *testing.T) {
	s := openRedis(t, redistest.URL(t), RedisOptions{}).Records()
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	a := &Batch{ID: NewID("batch"), Owner: "stdio", Created: t0, Items: []BatchItem{{Prompt: "p", Status: ItemPending}}}
	b := &Batch{ID: NewID("batch"), Owner: "stdio", Created: t0.Add(time.Minute)}
	for _, x := range []*Batch{a, b} {
		if err := s.PutBatch(x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetBatch(a.ID)
	if err != nil || got.Items[0].Prompt != "p" {
		t.Fatalf("GetBatch = %+v, %v", got, err)
	}
	got.Items[0].Status = ItemSucceeded
	if again, _ := s.GetBatch(a.ID); again.Items[0].Status != ItemPending {
		t.Error("GetBatch must return a copy")
	}
	if list, err := s.ListBatches(); err != nil || len(list) != 2 || list[0].ID != b.ID {
		t.Errorf("ListBatches (newest first) = %v, %v", list, err)
	}
	for _, id := range []string{"../../etc/passwd", "batch_../x", NewID("c"), NewID("batch")} {
		if _, err := s.GetBatch(id); !errors.Is(err, ErrNoBatch) {
			t.Errorf("GetBatch(%q) = %v", id, err)
		}
	}
	if err := s.PutBatch(&Batch{ID: "x"}); err == nil {
		t.Error("PutBatch with a bad id accepted")
	}
}

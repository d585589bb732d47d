package session_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// Batch records survive reopening the directory, are written whole, come back as copies, and
// an id that is not one of ours never reaches the file system.
func TestBatchDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "batches")
	s, err := session.OpenBatchDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	a := &session.Batch{ID: session.NewID("batch"), Owner: "stdio", Created: t0,
		Jobs: []session.BatchJob{{Name: "batches/x", Model: "gemini-3-pro-image"}}, Items: []session.BatchItem{{Prompt: "p", Status: session.ItemPending}}}
	b := &session.Batch{ID: session.NewID("batch"), Owner: "stdio", Created: t0.Add(time.Minute)}
	for _, x := range []*session.Batch{a, b} {
		if err := s.PutBatch(x); err != nil {
			t.Fatal(err)
		}
	}
	s, _ = session.OpenBatchDir(dir)
	got, err := s.GetBatch(a.ID)
	if err != nil || got.Jobs[0].Name != "batches/x" || got.Items[0].Prompt != "p" {
		t.Fatalf("reopened: %+v %v", got, err)
	}
	got.Items[0].Status = session.ItemSucceeded
	if again, _ := s.GetBatch(a.ID); again.Items[0].Status != session.ItemPending {
		t.Error("GetBatch must return a copy")
	}
	list, err := s.ListBatches()
	if err != nil || len(list) != 2 || list[0].ID != b.ID {
		t.Errorf("list (newest first): %v %v", list, err)
	}
	for _, id := range []string{"../../etc/passwd", "batch_../x", "c_aaaaaaaaaaaaaaaa"} {
		if _, err := s.GetBatch(id); !errors.Is(err, session.ErrNoBatch) {
			t.Errorf("GetBatch(%q) = %v, want ErrNoBatch", id, err)
		}
		if err := s.PutBatch(&session.Batch{ID: id}); err == nil {
			t.Errorf("PutBatch(%q) accepted", id)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%d files in the batch directory, want 2 (no temporary files left)", len(entries))
	}
	mem, _ := session.OpenBatchDir("")
	_ = mem.PutBatch(a)
	if got, err := mem.GetBatch(a.ID); err != nil || got.Owner != "stdio" {
		t.Errorf("in memory: %+v %v", got, err)
	}
}

package session

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewIDShapeAndUniqueness(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID("img")
		if !ValidID("img", id) || ValidID("c", id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "img_", "img_short", "img_AAAAAAAAAAAAAAAA", "img_aaaaaaaaaaaaaaa1", "img_../../etc/passw"} {
		if ValidID("img", bad) {
			t.Errorf("ValidID accepted %q", bad)
		}
	}
}

func TestWriteFileAtomicLeavesNoTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.png")
	if err := WriteFileAtomic(path, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	entries, _ := os.ReadDir(dir)
	if string(got) != "two" || len(entries) != 1 {
		t.Errorf("content %q, %d entries", got, len(entries))
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "b.png"), []byte("x"), 0o644); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

func TestImagesSaveAndFind(t *testing.T) {
	s := &Images{Dir: filepath.Join(t.TempDir(), "out"), Now: func() time.Time { return time.Date(2026, 11, 23, 19, 30, 5, 0, time.UTC) }}
	id := NewID("img")
	png := []byte("\x89PNG\r\n\x1a\nrest")
	rec, err := s.Save(id, "A fox, in the snow! (4K)", "", png, "image/png")
	if err != nil {
		t.Fatal(err)
	}
	if want := "20261123-193005_a-fox-in-the-snow-4k_" + id + ".png"; filepath.Base(rec.Path) != want {
		t.Errorf("name %q, want %q", filepath.Base(rec.Path), want)
	}
	if _, err := s.Save(id, "A fox", "draft-1", []byte("\xff\xd8\xff"), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	found, err := s.Find(id)
	if err != nil || found != rec.Path {
		t.Errorf("Find = %q, %v; want the final image, not the draft", found, err)
	}
	data, _ := os.ReadFile(found)
	if !bytes.Equal(data, png) {
		t.Error("saved bytes differ")
	}
	if _, err := s.Find(NewID("img")); err == nil {
		t.Error("found an image that was never saved")
	}
	if _, err := s.Find("img_*"); err == nil {
		t.Error("a glob pattern was accepted as an id")
	}
}

func TestSlug(t *testing.T) {
	cases := map[string]string{
		"A red fox":                 "a-red-fox",
		"  --Über café!! 2026 ":     "ber-caf-2026",
		"日本の猫":                      "image",
		strings.Repeat("word ", 30): "word-word-word-word-word-word-word-word-w",
	}
	for in, want := range cases {
		if got := Slug(in, 40); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

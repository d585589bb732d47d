package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unique"
)

const (
	formatFile       = "FORMAT"
	formatLine       = "nanobanana-mcp session store 1\n"
	conversationsDir = "conversations"
	blobsDir         = "blobs"
	imagesDir        = "images"
	// defaultBlobGrace keeps a sweep away from blobs another process may be committing.
	defaultBlobGrace = 15 * time.Minute
	// abandonedGrace is how old a conversation without turns must be, when the store opens,
	// to count as left by a crash: younger ones may have their first turn on its way, in this
	// process or another.
	abandonedGrace = 15 * time.Minute
)

// Options configure a FileStore.
type Options struct {
	// Now is the clock for timestamps and expiry; time.Now when nil.
	Now func() time.Time
	// TTL is how long EvictExpired keeps a conversation after its last turn; DefaultTTL
	// when zero.
	TTL time.Duration
	// NoSync skips fsync: writes stay atomic against a crash of the process but not of the
	// machine. For tests, benchmarks and throwaway stores.
	NoSync bool
}

// FileStore is the default Store: files with atomic renames under one directory (see the
// package documentation for the layout and the reasons).
type FileStore struct {
	dir       string
	now       func() time.Time
	ttl       time.Duration
	noSync    bool
	blobGrace time.Duration

	edits keyedLocks   // Lock: one editor per conversation
	files keyedLocks   // one read-modify-write of a conversation file at a time
	gc    sync.RWMutex // shared from a blob write to the record using it; exclusive in sweeps

	ready   chan struct{} // closed when index is loaded
	loadErr error

	mu      sync.Mutex
	index   map[string]Summary // small per-conversation summary for List and LatestForOwner
	damaged []string
}

var _ Store = (*FileStore)(nil)

// Open opens the store in dir, creating it when dir is missing or empty. A directory that is
// not a session store, or of another format, is an error.
//
// Open returns at once; the summary behind List and LatestForOwner is built in the background
// from the conversation headers (about a third of a second for 10,000 conversations), and the
// calls that need it wait for it. Files it cannot read are left alone and reported by Damaged;
// the store works without them.
func Open(dir string, opts Options) (*FileStore, error) {
	return open(dir, opts, defaultBlobGrace)
}

func open(dir string, opts Options, blobGrace time.Duration) (*FileStore, error) {
	s := &FileStore{dir: dir, now: opts.Now, ttl: opts.TTL, noSync: opts.NoSync,
		blobGrace: blobGrace, index: map[string]Summary{}, ready: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	if s.ttl <= 0 {
		s.ttl = DefaultTTL
	}
	if err := s.init(); err != nil {
		return nil, fmt.Errorf("opening session store %s: %w", dir, err)
	}
	go s.load(s.now().Add(-abandonedGrace))
	return s, nil
}

// load builds the in-memory summary from the conversation headers and removes what a crash
// left: temporary files, and conversations created but never given their first turn (last
// updated before abandonedBefore, so a turn in flight keeps its conversation). Turns
// appended meanwhile are already in the summary and win over the headers read here;
// deletions wait for load to finish.
func (s *FileStore) load(abandonedBefore time.Time) {
	defer close(s.ready)
	for _, sub := range []string{conversationsDir, imagesDir, jobsDir, stateDir} {
		s.removeStaleTemps(filepath.Join(s.dir, sub))
	}
	err := s.eachConversation(func(id string, r *record, err error) error {
		if err != nil {
			s.mu.Lock()
			s.damaged = append(s.damaged, id)
			s.mu.Unlock()
			return nil
		}
		if c := r.head.Conversation; len(c.Turns) == 0 && c.Updated.Before(abandonedBefore) {
			_ = os.Remove(s.conversationPath(id))
			return nil
		}
		s.rememberIfNewer(r.head.Conversation)
		return nil
	})
	if err != nil {
		s.loadErr = fmt.Errorf("loading the conversation index of %s: %w", s.dir, err)
	}
}

// waitReady waits for load.
func (s *FileStore) waitReady(ctx context.Context) error {
	select {
	case <-s.ready:
		return s.loadErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// eachConversation calls fn with the header of every conversation file, or the error
// reading it.
func (s *FileStore) eachConversation(fn func(id string, r *record, err error) error) error {
	entries, err := os.ReadDir(filepath.Join(s.dir, conversationsDir))
	if err != nil {
		return fmt.Errorf("listing conversations: %w", err)
	}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !ValidID("c", id) {
			continue
		}
		r, err := readRecord(s.conversationPath(id), id, false)
		if errors.Is(err, ErrNotFound) {
			continue // deleted since the listing
		}
		if err := fn(id, r, err); err != nil {
			return err
		}
	}
	return nil
}

func (s *FileStore) removeStaleTemps(dir string) {
	entries, _ := os.ReadDir(dir)
	cutoff := time.Now().Add(-defaultBlobGrace) // younger ones may be writes in flight
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") || !strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// Damaged lists the conversations whose files could not be read when the store was opened.
func (s *FileStore) Damaged() []string {
	<-s.ready
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.damaged)
}

// Dir is the directory the store lives in.
func (s *FileStore) Dir() string { return s.dir }

// Close releases the store once its index has loaded. FileStore holds no open files between
// calls.
func (s *FileStore) Close() error {
	<-s.ready
	return nil
}

func (s *FileStore) conversationPath(id string) string {
	return filepath.Join(s.dir, conversationsDir, id+".json")
}

func (s *FileStore) imagePath(id string) string {
	return filepath.Join(s.dir, imagesDir, id+".json")
}

func (s *FileStore) remember(c Conversation) {
	sum := compactSummary(c)
	s.mu.Lock()
	s.index[c.ID] = sum
	s.mu.Unlock()
}

func (s *FileStore) rememberIfNewer(c Conversation) {
	sum := compactSummary(c)
	s.mu.Lock()
	if old, ok := s.index[c.ID]; !ok || old.Updated.Before(sum.Updated) {
		s.index[c.ID] = sum
	}
	s.mu.Unlock()
}

// compactSummary keeps one copy of each model and owner name: thousands of conversations
// share a few.
func compactSummary(c Conversation) Summary {
	sum := c.summary()
	sum.Model, sum.Owner = unique.Make(sum.Model).Value(), unique.Make(sum.Owner).Value()
	sum.Session = unique.Make(sum.Session).Value()
	return sum
}

func (s *FileStore) forget(id string) {
	s.mu.Lock()
	delete(s.index, id)
	s.damaged = slices.DeleteFunc(s.damaged, func(d string) bool { return d == id })
	s.mu.Unlock()
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	if len(line) > 80 {
		line = line[:80]
	}
	return string(line)
}

func checkConversationID(id string) error {
	if !ValidID("c", id) {
		return fmt.Errorf("%q is not a conversation id: %w", id, ErrNotFound)
	}
	return nil
}

package gemini

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/internal/atomicfile"
)

// The states a model can be in, as learned at run time. A registry says what Google
// announced; only the live API says what this key can use today.
const (
	StateAvailable   = "available"   // models.list or models.get shows it, or it answered
	StateUnavailable = "unavailable" // this key cannot see it in models.list (or models.get said 404)
	StateGone        = "gone"        // generateContent answered 404: shut down
	StateRetiring    = "retiring"    // it answers, with modelStatus announcing a retirement
)

// ModelState is what the server has learned about one model id.
type ModelState struct {
	Status         string    `json:"status"`
	RetirementTime time.Time `json:"retirement_time,omitzero"`
	Message        string    `json:"message,omitempty"` // Google's words, when it gave any
	Source         string    `json:"source"`            // models.list, models.get, 404, modelStatus
	Updated        time.Time `json:"updated"`
}

// Usable reports whether calls should still go to the model.
func (s ModelState) Usable() bool { return s.Status != StateUnavailable && s.Status != StateGone }

// Lifecycle keeps model states. The file version survives restarts, so a shut-down model
// costs one 404 per installation, not one per process; a shared store (Redis) can implement
// it for replicas.
type Lifecycle interface {
	Get(id string) (ModelState, bool)
	Mark(id string, st ModelState) error
	All() map[string]ModelState
}

// MemoryLifecycle is a Lifecycle in memory.
type MemoryLifecycle struct {
	mu     sync.Mutex
	states map[string]ModelState
}

// NewMemoryLifecycle returns an empty in-memory Lifecycle.
func NewMemoryLifecycle() *MemoryLifecycle {
	return &MemoryLifecycle{states: map[string]ModelState{}}
}

// Get returns the state of id, if one was recorded.
func (l *MemoryLifecycle) Get(id string) (ModelState, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st, ok := l.states[id]
	return st, ok
}

// Mark records the state of id.
func (l *MemoryLifecycle) Mark(id string, st ModelState) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.states[id] = st
	return nil
}

// All returns a copy of every recorded state.
func (l *MemoryLifecycle) All() map[string]ModelState {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]ModelState, len(l.states))
	for k, v := range l.states {
		out[k] = v
	}
	return out
}

// FileLifecycle is a Lifecycle kept in one small JSON file, rewritten atomically on change.
type FileLifecycle struct {
	path string
	mu   sync.Mutex // serialises writes of the file
	mem  *MemoryLifecycle
}

// OpenLifecycle reads the lifecycle file at path (a missing file is an empty record). A file
// that cannot be parsed is an error; the caller may start empty and overwrite it.
func OpenLifecycle(path string) (*FileLifecycle, error) {
	l := &FileLifecycle{path: path, mem: NewMemoryLifecycle()}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("reading model lifecycle file: %w", err)
	}
	var f lifecycleFile
	if err := json.Unmarshal(data, &f); err != nil {
		return l, fmt.Errorf("model lifecycle file %s: %w", path, err)
	}
	for id, st := range f.Models {
		l.mem.states[id] = st
	}
	return l, nil
}

type lifecycleFile struct {
	Models map[string]ModelState `json:"models"`
}

// Get returns the state of id, if one was recorded.
func (l *FileLifecycle) Get(id string) (ModelState, bool) { return l.mem.Get(id) }

// All returns a copy of every recorded state.
func (l *FileLifecycle) All() map[string]ModelState { return l.mem.All() }

// Mark records the state of id and rewrites the file when it changed.
func (l *FileLifecycle) Mark(id string, st ModelState) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	old, seen := l.mem.Get(id)
	_ = l.mem.Mark(id, st)
	if seen && sameState(old, st) && st.Updated.Sub(old.Updated) < time.Hour {
		return nil // a repeat (every call of a retiring model) is not worth a write
	}
	data, err := json.MarshalIndent(lifecycleFile{Models: l.mem.All()}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding model lifecycle: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return fmt.Errorf("creating the directory of the model lifecycle file: %w", err)
	}
	if err := atomicfile.Write(l.path, data, 0o600); err != nil {
		return fmt.Errorf("writing model lifecycle file: %w", err)
	}
	return nil
}

func sameState(a, b ModelState) bool {
	return a.Status == b.Status && a.RetirementTime.Equal(b.RetirementTime) && a.Message == b.Message && a.Source == b.Source
}

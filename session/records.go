package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Records keeps the server's small records other than conversations, shared by replicas
// when the store is Redis: jobs, idempotency keys, the signed-URL secret, usage records and
// lifecycle state. A record is a JSON document named by a kind ("jobs", "state", …) and a key
// (a job id, "lifecycle", …); each kind is used in one of three ways:
//
//   - whole documents: Put, PutIfAbsent (an idempotency key, or get-or-create of a secret:
//     the first writer's value wins and every caller gets it), Get, Delete, Keys;
//   - logs: Append and Log (usage records), one document per entry, in order;
//   - maps: SetField and Fields (lifecycle state), one field written at a time, so replicas
//     updating different fields do not overwrite each other.
//
// Every write is atomic: a crash leaves the record before or after it. EvictOlderThan removes
// the records of a kind last written before a time, whichever way they are used.
type Records interface {
	Put(ctx context.Context, kind, key string, value []byte) error
	PutIfAbsent(ctx context.Context, kind, key string, value []byte) (stored []byte, created bool, err error)
	Get(ctx context.Context, kind, key string) ([]byte, error)
	Delete(ctx context.Context, kind, key string) error
	Keys(ctx context.Context, kind string) ([]string, error)
	Append(ctx context.Context, kind, key string, value []byte) error
	Log(ctx context.Context, kind, key string) ([][]byte, error)
	SetField(ctx context.Context, kind, key, field string, value []byte) error
	Fields(ctx context.Context, kind, key string) (map[string][]byte, error)
	EvictOlderThan(ctx context.Context, kind string, t time.Time) (int, error)
}

// ErrNoRecord is returned for a record that is not stored.
var ErrNoRecord = errors.New("no such record")

// checkRecord refuses names that could leave the kind's directory or key space, and values
// that are not JSON.
func checkRecord(kind, key string, value []byte) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	if !validRecordKey(key) {
		return fmt.Errorf("record key %q must be letters, digits, '.', '_' or '-', at most 128, not starting with '.' or '-'", key)
	}
	if value != nil && !json.Valid(value) {
		return fmt.Errorf("record %s/%s: the value is not JSON", kind, key)
	}
	return nil
}

func checkKind(kind string) error {
	if !validKind(kind) {
		return fmt.Errorf("record kind %q must be a lower-case word (letters, digits, '-')", kind)
	}
	return nil
}

func validKind(kind string) bool {
	if kind == "" || len(kind) > 32 {
		return false
	}
	for _, r := range kind {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return kind[0] >= 'a' && kind[0] <= 'z'
}

func validRecordKey(key string) bool {
	if key == "" || len(key) > 128 || key[0] == '.' || key[0] == '-' || strings.Contains(key, "..") || strings.HasSuffix(key, ".tmp") {
		return false
	}
	for _, r := range key {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '.' && r != '_' && r != '-' {
			return false
		}
	}
	return true
}

// FileRecords keeps records as files under a store directory: <kind>/<key>.json for documents
// and maps, <kind>/<key>.jsonl for logs, so jobs/<job id>.json and state/lifecycle.json are
// where Layout puts them. The modification time is the last write by the injected clock, for
// EvictOlderThan. Writes are atomic across processes; read-modify-writes of a map are
// serialised within the process only (as conversation edits are in FileStore).
type FileRecords struct {
	dir string
	now func() time.Time
	mu  sync.Mutex // SetField's read-modify-write
}

var _ Records = (*FileRecords)(nil)

// OpenRecords opens the records of the store laid out in l (made by Open).
func OpenRecords(l Layout, now func() time.Time) *FileRecords {
	if now == nil {
		now = time.Now
	}
	return &FileRecords{dir: l.Dir, now: now}
}

func (r *FileRecords) path(kind, key, ext string) string {
	return filepath.Join(r.dir, kind, key+ext)
}

// touch records the write time: the injected clock's, which eviction compares with.
func (r *FileRecords) touch(path string) {
	t := r.now()
	_ = os.Chtimes(path, t, t)
}

func (r *FileRecords) ensureDir(kind string) error {
	if err := os.MkdirAll(filepath.Join(r.dir, kind), 0o700); err != nil {
		return fmt.Errorf("creating the %s directory: %w", kind, err)
	}
	return nil
}

// Put stores value under kind/key, replacing any earlier value.
func (r *FileRecords) Put(ctx context.Context, kind, key string, value []byte) error {
	if err := checkRecord(kind, key, value); err != nil {
		return err
	}
	if err := r.ensureDir(kind); err != nil {
		return err
	}
	path := r.path(kind, key, ".json")
	if err := WriteFileAtomic(path, value, 0o600); err != nil {
		return fmt.Errorf("storing %s/%s: %w", kind, key, err)
	}
	r.touch(path)
	return nil
}

// PutIfAbsent stores value unless kind/key exists, and returns what is stored: value when it
// created the record, the earlier value otherwise. A hard link of a complete temporary file is
// the atomic create-if-absent, so two processes never both win.
func (r *FileRecords) PutIfAbsent(ctx context.Context, kind, key string, value []byte) ([]byte, bool, error) {
	if err := checkRecord(kind, key, value); err != nil {
		return nil, false, err
	}
	if err := r.ensureDir(kind); err != nil {
		return nil, false, err
	}
	path := r.path(kind, key, ".json")
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+key+".*.tmp")
	if err != nil {
		return nil, false, fmt.Errorf("storing %s/%s: %w", kind, key, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(value)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("storing %s/%s: %w", kind, key, err)
	}
	r.touch(tmp.Name())
	if err := os.Link(tmp.Name(), path); err == nil {
		return value, true, nil
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, false, fmt.Errorf("storing %s/%s: %w", kind, key, err)
	}
	stored, err := r.Get(ctx, kind, key)
	return stored, false, err
}

// Get returns the value of kind/key, or ErrNoRecord.
func (r *FileRecords) Get(ctx context.Context, kind, key string) ([]byte, error) {
	if err := checkRecord(kind, key, nil); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoRecord, err)
	}
	data, err := os.ReadFile(r.path(kind, key, ".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s/%s: %w", kind, key, ErrNoRecord)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s/%s: %w", kind, key, err)
	}
	return data, nil
}

// Delete removes kind/key, whichever way it is used; a missing record is no error.
func (r *FileRecords) Delete(ctx context.Context, kind, key string) error {
	if err := checkRecord(kind, key, nil); err != nil {
		return err
	}
	for _, ext := range []string{".json", ".jsonl"} {
		if err := os.Remove(r.path(kind, key, ext)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("deleting %s/%s: %w", kind, key, err)
		}
	}
	return nil
}

// Keys lists the keys of a kind, sorted.
func (r *FileRecords) Keys(ctx context.Context, kind string) ([]string, error) {
	keys, _, err := r.scan(kind)
	return keys, err
}

// scan lists the record files of a kind with their keys.
func (r *FileRecords) scan(kind string) (keys, paths []string, err error) {
	if err := checkKind(kind); err != nil {
		return nil, nil, err
	}
	entries, err := os.ReadDir(filepath.Join(r.dir, kind))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("listing %s: %w", kind, err)
	}
	for _, e := range entries {
		name := e.Name()
		key, ok := strings.CutSuffix(name, ".jsonl")
		if !ok {
			key, ok = strings.CutSuffix(name, ".json")
		}
		if ok && e.Type().IsRegular() && validRecordKey(key) {
			keys = append(keys, key)
			paths = append(paths, filepath.Join(r.dir, kind, name))
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys), paths, nil
}

// Append adds value to the log kind/key as one line: a single write to a file opened for
// appending, which lands whole.
func (r *FileRecords) Append(ctx context.Context, kind, key string, value []byte) error {
	if err := checkRecord(kind, key, value); err != nil {
		return err
	}
	var line bytes.Buffer
	_ = json.Compact(&line, value) // valid JSON: checked above
	line.WriteByte('\n')
	if err := r.ensureDir(kind); err != nil {
		return err
	}
	path := r.path(kind, key, ".jsonl")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("appending to %s/%s: %w", kind, key, err)
	}
	_, err = f.Write(line.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("appending to %s/%s: %w", kind, key, err)
	}
	r.touch(path)
	return nil
}

// Log returns the entries of kind/key in the order they were appended. A last line torn by a
// crash is left out.
func (r *FileRecords) Log(ctx context.Context, kind, key string) ([][]byte, error) {
	if err := checkRecord(kind, key, nil); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(r.path(kind, key, ".jsonl"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s/%s: %w", kind, key, err)
	}
	var out [][]byte
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if len(line) > 0 && json.Valid(line) {
			out = append(out, line)
		}
	}
	return out, nil
}

// SetField sets one field of the map kind/key.
func (r *FileRecords) SetField(ctx context.Context, kind, key, field string, value []byte) error {
	if err := checkRecord(kind, key, value); err != nil {
		return err
	}
	if field == "" {
		return fmt.Errorf("setting a field of %s/%s: the field name is empty", kind, key)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.fields(kind, key)
	if err != nil {
		return err
	}
	m[field] = value
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding %s/%s: %w", kind, key, err)
	}
	return r.Put(ctx, kind, key, data)
}

// Fields returns the map kind/key (empty when it is not stored).
func (r *FileRecords) Fields(ctx context.Context, kind, key string) (map[string][]byte, error) {
	if err := checkRecord(kind, key, nil); err != nil {
		return nil, err
	}
	m, err := r.fields(kind, key)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out, nil
}

func (r *FileRecords) fields(kind, key string) (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	data, err := r.Get(context.Background(), kind, key)
	if errors.Is(err, ErrNoRecord) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("reading %s/%s: it is not a JSON object: %w", kind, key, err)
	}
	return m, nil
}

// EvictOlderThan removes the records of kind last written before t.
func (r *FileRecords) EvictOlderThan(ctx context.Context, kind string, t time.Time) (int, error) {
	_, paths, err := r.scan(kind)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil || !info.ModTime().Before(t) {
			continue
		}
		if err := os.Remove(p); err == nil {
			n++
		}
	}
	return n, nil
}

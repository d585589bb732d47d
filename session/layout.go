package session

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Layout is where the server keeps its state: one directory that the server created and
// marked as its own with a FORMAT file (see Open), so nothing it writes lands in, and nothing
// it cleans up reaches, a directory it did not create:
//
//	FORMAT                   the marker
//	conversations/ blobs/ images/   the conversation store
//	jobs/<job id>.json       background generations (tools.OpenJobs)
//	batches/<batch id>.json  Batch API submissions (tools.Batches)
//	state/ratelimit.json     daily quota counts (gemini/resilience)
//	state/lifecycle.json     model lifecycle state
//
// Saved images go to --output-dir, a directory users browse, which holds nothing else of the
// server's. Where both directories are when the operator names neither is decided by
// StoreOptions.ResolveDirs.
type Layout struct{ Dir string }

const (
	jobsDir    = "jobs"
	batchesDir = "batches"
	stateDir   = "state"
)

// storeDirs are the subdirectories Open creates.
var storeDirs = []string{conversationsDir, blobsDir, imagesDir, jobsDir, batchesDir, stateDir}

// Jobs is the directory of job files.
func (l Layout) Jobs() string { return filepath.Join(l.Dir, jobsDir) }

// Batches is the directory of batch records.
func (l Layout) Batches() string { return filepath.Join(l.Dir, batchesDir) }

// RateLimitState is the file of the limiter's daily counts.
func (l Layout) RateLimitState() string { return filepath.Join(l.Dir, stateDir, "ratelimit.json") }

// LifecycleState is the file of the model lifecycle state.
func (l Layout) LifecycleState() string { return filepath.Join(l.Dir, stateDir, "lifecycle.json") }

// create makes a new store in s.dir, a missing or empty directory. The marker is written
// first, atomically, and the subdirectories after it, so a concurrent creator (several servers
// starting at once on a fresh data directory) sees an empty directory, the marker's temporary
// file (and then finishes the store the same way: see init), or the marker; never a
// directory it would take for someone else's.
func (s *FileStore) create() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	if err := s.writeFile(filepath.Join(s.dir, formatFile), []byte(formatLine)); err != nil {
		return err
	}
	for _, sub := range storeDirs {
		if err := os.MkdirAll(filepath.Join(s.dir, sub), 0o700); err != nil {
			return err
		}
	}
	return nil
}

// markerInFlight reports whether a directory holds only the temporary file of a marker being
// written: a store another process is creating this moment, or one a crash interrupted.
func markerInFlight(entries []os.DirEntry) bool {
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "."+formatFile+".") || !strings.HasSuffix(name, ".tmp") {
			return false
		}
	}
	return true
}

// init opens the store in s.dir: an existing store is checked for its marker, a missing or
// empty directory becomes a new store.
func (s *FileStore) init() error {
	marker := filepath.Join(s.dir, formatFile)
	for range 3 {
		got, err := os.ReadFile(marker)
		switch {
		case err == nil && string(got) != formatLine:
			return fmt.Errorf("%s is damaged or from another version: %q", marker, firstLine(got))
		case err == nil:
			for _, sub := range storeDirs { // a store made by an older version lacks some
				if err := os.MkdirAll(filepath.Join(s.dir, sub), 0o700); err != nil {
					return err
				}
			}
			return nil
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
		entries, err := os.ReadDir(s.dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if len(entries) > 0 && !markerInFlight(entries) {
			if _, err := os.Stat(marker); err == nil {
				continue // another process made the store since the marker was read
			}
			return fmt.Errorf("the directory is not empty and has no %s file, so it is not a session store", formatFile)
		}
		if err := s.create(); err != nil {
			return err
		}
	}
	return fmt.Errorf("the store could not be created: another process keeps changing %s", s.dir)
}

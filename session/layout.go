package session

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Layout is where the server keeps its state: one directory that the server created and
// marked as its own with a FORMAT file (see Open), so nothing it writes lands in, and nothing
// it cleans up reaches, a directory it did not create:
//
//	FORMAT                   the marker
//	conversations/ blobs/ images/   the conversation store
//	jobs/<job id>.json       background generations (tools.OpenJobs)
//	state/ratelimit.json     daily quota counts (gemini/resilience)
//	state/lifecycle.json     model lifecycle state
//
// Saved images go to --output-dir, a directory users browse, which holds nothing else of the
// server's.
type Layout struct{ Dir string }

const (
	jobsDir  = "jobs"
	stateDir = "state"
)

// storeDirs are the subdirectories Open creates.
var storeDirs = []string{conversationsDir, blobsDir, imagesDir, jobsDir, stateDir}

// Jobs is the directory of job files.
func (l Layout) Jobs() string { return filepath.Join(l.Dir, jobsDir) }

// RateLimitState is the file of the limiter's daily counts.
func (l Layout) RateLimitState() string { return filepath.Join(l.Dir, stateDir, "ratelimit.json") }

// LifecycleState is the file of the model lifecycle state.
func (l Layout) LifecycleState() string { return filepath.Join(l.Dir, stateDir, "lifecycle.json") }

// create makes a new store directory safely against a concurrent creator (several servers
// starting at once on a fresh data directory): the marker and subdirectories are made in a
// temporary sibling that is then renamed into place, so another process sees no store or a
// complete one, never a directory without its marker. Losing the race is success.
func (s *FileStore) create() error {
	parent := filepath.Dir(s.dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(s.dir)+".new-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // gone after a successful rename; ours either way
	if err := s.writeFile(filepath.Join(tmp, formatFile), []byte(formatLine)); err != nil {
		return err
	}
	for _, sub := range storeDirs {
		if err := os.Mkdir(filepath.Join(tmp, sub), 0o700); err != nil {
			return err
		}
	}
	err = os.Rename(tmp, s.dir) // replaces an empty directory on POSIX systems
	if err != nil && isEmptyDir(s.dir) {
		// Where rename cannot replace a directory (Windows), remove the empty one first.
		if os.Remove(s.dir) == nil || errors.Is(err, fs.ErrNotExist) {
			err = os.Rename(tmp, s.dir)
		}
	}
	if err != nil {
		if _, statErr := os.Stat(filepath.Join(s.dir, formatFile)); statErr == nil {
			return nil // another process made the store first
		}
		return err
	}
	return nil
}

func isEmptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) == 0
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
		if len(entries) > 0 {
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

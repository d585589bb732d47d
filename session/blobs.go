package session

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/internal/atomicfile"
)

// blobName is the content address of data: its SHA-256 in hex.
func blobName(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func validBlobName(name string) bool {
	if len(name) != sha256.Size*2 {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil && strings.ToLower(name) == name
}

func (s *FileStore) blobPath(name string) string {
	return filepath.Join(s.dir, blobsDir, name[:2], name)
}

// writeBlob stores data under its hash unless a blob with that hash exists. An existing blob
// has its modification time refreshed so a sweep in another process leaves it alone until
// the record that now refers to it is written.
func (s *FileStore) writeBlob(name string, data []byte) error {
	path := s.blobPath(name)
	if _, err := os.Stat(path); err == nil {
		now := time.Now()
		_ = os.Chtimes(path, now, now)
		return nil
	}
	if _, err := os.Stat(filepath.Dir(path)); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("creating blob directory: %w", err)
		}
		if !s.noSync {
			_ = atomicfile.SyncDir(filepath.Join(s.dir, blobsDir)) // the new directory outlives a power cut
		}
	}
	if err := s.writeFile(path, data); err != nil {
		return fmt.Errorf("writing blob %s: %w", name, err)
	}
	return nil
}

// readBlob returns the bytes of a blob after checking they still hash to its name.
func (s *FileStore) readBlob(name string) ([]byte, error) {
	if !validBlobName(name) {
		return nil, fmt.Errorf("blob reference %q is malformed", name)
	}
	data, err := os.ReadFile(s.blobPath(name))
	if err != nil {
		return nil, fmt.Errorf("reading blob: %w", err)
	}
	if blobName(data) != name {
		return nil, fmt.Errorf("blob %s: contents do not match their hash", name)
	}
	return data, nil
}

// sweepBlobs removes every blob file (and leftover temporary file) that live does not name
// and that is older than the grace period. The caller holds s.gc exclusively.
func (s *FileStore) sweepBlobs(live map[string]struct{}) (n int, bytes int64, err error) {
	root := filepath.Join(s.dir, blobsDir)
	cutoff := time.Now().Add(-s.blobGrace)
	walkErr := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		if _, ok := live[d.Name()]; ok {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.ModTime().After(cutoff) {
			return nil // gone already, or possibly another process's turn in flight
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		n++
		bytes += info.Size()
		return nil
	})
	if walkErr != nil {
		return n, bytes, fmt.Errorf("sweeping blobs: %w", walkErr)
	}
	return n, bytes, nil
}

// writeFile replaces path atomically, durably unless the store was opened with NoSync.
func (s *FileStore) writeFile(path string, data []byte) error {
	if !s.noSync {
		return WriteFileAtomic(path, data, 0o600)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("creating temporary file: %w", err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

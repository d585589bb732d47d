package session

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
)

// Images saves images under one directory with readable, unique names:
// 20261123-193005_a-fox-in-the-snow_img_xxxxxxxxxxxxxxxx.png. The image id is part of the name,
// so an image can be found again by id after a restart without any index.
//
// Images are private to the user running the server (0600 files in 0700 directories), like
// the store, unless Shared is set (--share-images): then 0644 in 0755, for other users or a
// web server on the machine.
type Images struct {
	Dir    string
	Now    func() time.Time
	Shared bool
}

func (s *Images) perms() (dir, file os.FileMode) {
	if s.Shared {
		return 0o755, 0o644
	}
	return 0o700, 0o600
}

// EnsureDir creates the directory, with the permissions images get, if it is missing.
func (s *Images) EnsureDir() error {
	dirPerm, _ := s.perms()
	return os.MkdirAll(s.Dir, dirPerm)
}

// tempGrace keeps RemoveStaleTemps away from a save in flight in another process.
const tempGrace = 15 * time.Minute

// RemoveStaleTemps removes the temporary files a crash left in the directory: only the
// server's own (".<name>.<random>.tmp", as an atomic write names them) and only older than a
// grace period. It returns how many it removed.
func (s *Images) RemoveStaleTemps() int {
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return 0
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".tmp") || !strings.Contains(name, "_img_") {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(now().Add(-tempGrace)) && os.Remove(filepath.Join(s.Dir, name)) == nil {
			n++
		}
	}
	return n
}

// ImageRecord describes a saved image.
type ImageRecord struct {
	ID       string
	Path     string
	MIMEType string
	Bytes    int
}

// Save writes an image atomically and returns its record. kind is "" for a final image or
// "draft-N" for a kept thought image.
func (s *Images) Save(id, prompt, kind string, data []byte, mime string) (ImageRecord, error) {
	if err := s.EnsureDir(); err != nil {
		return ImageRecord{}, fmt.Errorf("creating output directory: %w", err)
	}
	_, filePerm := s.perms()
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	name := now().UTC().Format("20060102-150405") + "_" + Slug(prompt, 40) + "_" + id
	if kind != "" {
		name += "_" + kind
	}
	path := filepath.Join(s.Dir, name+ExtensionFor(mime))
	if err := WriteFileAtomic(path, data, filePerm); err != nil {
		return ImageRecord{}, fmt.Errorf("saving image: %w", err)
	}
	return ImageRecord{ID: id, Path: path, MIMEType: mime, Bytes: len(data)}, nil
}

// ErrImageNotFound is returned by Find for an id with no saved image.
var ErrImageNotFound = errors.New("no saved image has this id")

// Find returns the path of the final image saved under id.
func (s *Images) Find(id string) (string, error) {
	if !ValidID("img", id) {
		return "", fmt.Errorf("%q is not an image id: %w", id, ErrImageNotFound)
	}
	matches, err := filepath.Glob(filepath.Join(s.Dir, "*_"+id+".*"))
	if err != nil {
		return "", fmt.Errorf("looking up %s: %w", id, err)
	}
	for _, m := range matches {
		if !strings.HasPrefix(filepath.Base(m), ".") {
			return m, nil
		}
	}
	return "", fmt.Errorf("%s: %w", id, fs.ErrNotExist)
}

// ExtensionFor maps an image MIME type to a file extension.
func ExtensionFor(mime string) string {
	switch mime {
	case "image/jpeg":
		return ".jpg"
	case "image/webp":
		return ".webp"
	case "image/gif":
		return ".gif"
	default:
		return ".png"
	}
}

// Slug turns a prompt into a short file-name-safe word list: lower-case ASCII letters and
// digits separated by single hyphens, at most max bytes, never empty.
func Slug(s string, max int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			if b.Len() >= max {
				break
			}
			continue
		}
		dash = true
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		return "image"
	}
	return out
}

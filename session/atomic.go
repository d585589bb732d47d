package session

import (
	"os"

	"github.com/nanobanana-mcp/nanobanana-mcp/internal/atomicfile"
)

// WriteFileAtomic writes data to path so that a reader, or a crash, sees either no file or the
// whole file: a temporary file in the same directory, synced, then renamed into place.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return atomicfile.Write(path, data, perm)
}

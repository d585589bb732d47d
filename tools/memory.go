package tools

import (
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// DefaultMemoryLimit is the Go heap's soft limit when GOMEMLIMIT is not set. Every 4K call
// passes 40 to 60 MB of image through the heap (the final image, up to two drafts), and with
// the runtime's default pacing (collect when the heap doubles) eight concurrent 4K calls
// peaked at 430 MB; with this limit the collector runs sooner as the heap nears it, and the
// same load peaks near 300 MB, within a 512 MB container. It is soft: a heap that needs more
// gets more, at the cost of more frequent collection. Set GOMEMLIMIT to change it
// (GOMEMLIMIT=off for none).
const DefaultMemoryLimit = 320 << 20

// LimitMemory applies DefaultMemoryLimit unless the environment sets GOMEMLIMIT.
func LimitMemory(getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
}

// quiet hands memory back to the operating system once image work stops for a second. Every
// call passes megabytes through the heap (a 4K image is 20 MB, its base64 27 MB); the Go
// runtime keeps freed pages for reuse and returns them only slowly, so a server that had a
// burst of calls sat at its peak RSS long after (68 -> 101 MB after 200 conversations). The
// release costs two collections of a small live heap, and only when the server goes quiet:
// the first moves the buffer pools (sync.Pool: decode blocks, preview pixels) to their victim
// caches, and the second, FreeOSMemory's, frees them.
var quiet = &releaser{after: time.Second, release: func() { runtime.GC(); debug.FreeOSMemory() }, afterFunc: func(d time.Duration, f func()) {
	time.AfterFunc(d, f)
}}

type releaser struct {
	after     time.Duration
	release   func()
	afterFunc func(time.Duration, func())

	mu     sync.Mutex
	active int
	gen    uint64 // bumped by every busy, so a timer from before it does nothing
}

// busy marks image work running; call the returned func when it ends.
func (r *releaser) busy() (done func()) {
	r.mu.Lock()
	r.active++
	r.gen++
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.active--; r.active > 0 {
			return
		}
		gen := r.gen
		r.afterFunc(r.after, func() {
			r.mu.Lock()
			stale := r.active > 0 || r.gen != gen
			r.mu.Unlock()
			if !stale {
				r.release()
			}
		})
	}
}

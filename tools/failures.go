package tools

import (
	"context"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// Failures remembers the most recent failure each client saw, so explain_error with no text
// can explain it. Clients are told apart by their MCP session; stateless HTTP clients share one
// slot.
type Failures struct {
	mu   sync.Mutex
	last map[string]Failure
}

// Failure is a remembered failure.
type Failure struct {
	Tool      string
	Diagnosis apierrors.Diagnosis
	At        time.Time
}

// maxFailureSlots bounds memory when many sessions come and go.
const maxFailureSlots = 1024

func (f *Failures) record(ctx context.Context, tool string, d apierrors.Diagnosis) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		f.last = map[string]Failure{}
	}
	key := sessionKey(ctx)
	if _, ok := f.last[key]; !ok && len(f.last) >= maxFailureSlots {
		oldest, at := "", time.Now()
		for k, v := range f.last {
			if v.At.Before(at) {
				oldest, at = k, v.At
			}
		}
		delete(f.last, oldest)
	}
	f.last[key] = Failure{Tool: tool, Diagnosis: d, At: time.Now()}
}

// Last returns the caller's most recent failure.
func (f *Failures) Last(ctx context.Context) (Failure, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.last[sessionKey(ctx)]
	return v, ok
}

func sessionKey(ctx context.Context) string {
	if cs := server.ClientSessionFromContext(ctx); cs != nil {
		return cs.SessionID()
	}
	return ""
}

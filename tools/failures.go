package tools

import (
	"context"
	"log/slog"
	"sync"
	"time"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
)

// Failures remembers the most recent failure each client saw, so explain_error with no text
// can explain it. Clients are told apart by principal and MCP session; a stateless client has
// no session, so nothing is remembered for it (it pastes the text instead).
type Failures struct {
	reg *gemini.Registry // names the model a failure concerns; nil without Gemini
	log *slog.Logger
	mu  sync.Mutex
	// last is the latest failure per principal and session.
	last map[string]Failure
}

func newFailures(reg *gemini.Registry, log *slog.Logger) *Failures {
	return &Failures{reg: reg, log: log, last: map[string]Failure{}}
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
	key, ok := failureKey(ctx)
	if !ok {
		return
	}
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
	key, ok := failureKey(ctx)
	if !ok {
		return Failure{}, false
	}
	v, ok := f.last[key]
	return v, ok
}

func failureKey(ctx context.Context) (string, bool) {
	sess := clientSession(ctx)
	return ownerOf(ctx) + "\x00" + sess, sess != ""
}

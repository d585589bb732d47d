package tools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
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
	// rec, with a store replicas share, keeps the latest failure per principal, so
	// explain_error on one replica explains what failed on another (stateless clients too).
	rec session.Records
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
	if f.rec != nil {
		f.share(ctx, Failure{Tool: tool, Diagnosis: d, At: time.Now()})
	}
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

// Last returns the caller's most recent failure: this session's, or with a shared store the
// principal's latest on any replica.
func (f *Failures) Last(ctx context.Context) (Failure, bool) {
	key, ok := failureKey(ctx)
	f.mu.Lock()
	v, found := f.last[key]
	f.mu.Unlock()
	if ok && found {
		return v, true
	}
	if f.rec != nil {
		return f.shared(ctx)
	}
	return Failure{}, false
}

// failuresKind is the record kind of the latest failure per principal.
const failuresKind = "failures"

// principalKey names a principal's record: the name is the operator's text, hashed into a
// record key of the allowed shape.
func principalKey(owner string) string {
	sum := sha256.Sum256([]byte(owner))
	return hex.EncodeToString(sum[:])
}

func (f *Failures) share(ctx context.Context, v Failure) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	data, err := json.Marshal(v)
	if err == nil {
		err = f.rec.Put(ctx, failuresKind, principalKey(ownerOf(ctx)), apierrors.RedactSecrets(data))
	}
	if err != nil {
		f.log.Warn("storing the latest failure in the shared store", "error", err)
	}
}

// shared is the principal's latest failure on any replica.
func (f *Failures) shared(ctx context.Context) (Failure, bool) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	data, err := f.rec.Get(ctx, failuresKind, principalKey(ownerOf(ctx)))
	var v Failure
	if err != nil || json.Unmarshal(data, &v) != nil {
		return Failure{}, false
	}
	return v, true
}

func failureKey(ctx context.Context) (string, bool) {
	sess := clientSession(ctx)
	return ownerOf(ctx) + "\x00" + sess, sess != ""
}

package tools

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// Jobs runs generations in the background for clients with hard time limits: a call returns a
// job_id at once (async) or when it runs past --async-after, and get_generation fetches the
// result. An idempotency key makes a client's retry return the same job instead of paying
// twice. Finished jobs are kept on disk, so their results survive a restart; a job that was
// running when the server stopped is reported as interrupted.
//
// A job belongs to the principal that started it; its result is kept by reference (the
// image is already saved: an inline image is rebuilt from the file when fetched), so a job
// costs a few hundred bytes however large its image. Finished jobs older than the TTL are
// evicted whenever a job starts, not only at start-up.
type Jobs struct {
	mu    sync.Mutex
	dir   string // "" keeps jobs in memory only
	jobs  map[string]*job
	byKey map[string]string // owner + tool + idempotency key → job id
	ttl   time.Duration
	now   func() time.Time
	log   *slog.Logger

	// Shared by replicas (OpenSharedJobs; see jobs_shared.go): nil rec keeps jobs to this process.
	rec       session.Records
	lease     time.Duration // how long a running job outlives its replica
	poll      time.Duration // how often another replica's running job is read again
	stop      chan struct{} // closed by Close: leases are no longer renewed
	closeOnce sync.Once
	lastEvict time.Time
}

type job struct {
	ID    string `json:"id"`
	Owner string `json:"principal,omitempty"`
	Tool  string `json:"tool"`
	Key   string `json:"idempotency_key,omitempty"`
	// Request is a digest of the arguments the key was first used with.
	Request  string          `json:"request,omitempty"`
	Status   string          `json:"status"` // running, done, failed
	Created  time.Time       `json:"created"`
	Finished time.Time       `json:"finished,omitempty"`
	Expected int             `json:"expected_seconds"`
	Result   json.RawMessage `json:"result,omitempty"` // the tool result, inline image left out
	Inline   *inlineRef      `json:"inline,omitempty"` // the inline image the result carried
	// Lease is when a running job of a shared store counts as interrupted unless its replica
	// renews it (jobs_shared.go).
	Lease time.Time `json:"lease_until,omitzero"`
	done  chan struct{}
	// remote is a copy read from the shared store: another replica runs or ran it.
	remote bool
	// persistMu orders the writes of one job, so a lease renewal never lands after the end.
	persistMu sync.Mutex
}

// inlineRef stands for an inline image in a stored result: the saved file it came from and
// how it was inlined (a preview or the full image), at position At of the content.
type inlineRef struct {
	Path string `json:"path"`
	MIME string `json:"mime_type"`
	Full bool   `json:"full,omitempty"`
	At   int    `json:"at"`
}

// Job statuses.
const (
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// maxJobs bounds the finished jobs kept between evictions when a client starts many at once.
const maxJobs = 10000

// OpenJobs loads the jobs kept under dir ("" for memory only), dropping those older than ttl.
// Only files named like a job id are read or removed: the directory is the server's own (see
// session.Layout), and even there a file it did not write is left alone.
func OpenJobs(dir string, ttl time.Duration, log *slog.Logger) (*Jobs, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	j := &Jobs{dir: dir, jobs: map[string]*job{}, byKey: map[string]string{}, ttl: ttl, now: time.Now, log: log}
	if j.ttl <= 0 {
		j.ttl = 24 * time.Hour
	}
	if dir == "" {
		return j, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the jobs directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the jobs directory: %w", err)
	}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !session.ValidID("job", id) || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		var jb job
		if err != nil || json.Unmarshal(data, &jb) != nil || jb.ID != id {
			continue // not readable as a job: leave it for a person to look at
		}
		if j.now().Sub(jb.Created) > j.ttl {
			_ = os.Remove(path)
			continue
		}
		if jb.Owner == "" {
			jb.Owner = session.LocalUser // written before jobs had owners
		}
		jb.done = make(chan struct{})
		close(jb.done)
		if jb.Status == JobRunning {
			jb.interrupt(j.now())
			_ = j.persist(&jb)
		}
		j.jobs[jb.ID] = &jb
		if jb.Key != "" {
			j.byKey[jobKey(jb.Owner, jb.Tool, jb.Key)] = jb.ID
		}
	}
	return j, nil
}

func jobKey(owner, tool, key string) string { return owner + "\x00" + tool + "\x00" + key }

// errKeyReused is an idempotency key sent again with different arguments.
var errKeyReused = errors.New("idempotency key reused for a different request")

// start returns the owner's job for (tool, key) if there is one, or starts run as a new job.
// A key already used with other arguments is errKeyReused: the first request's image is not
// the answer to a different request.
func (j *Jobs) start(owner, tool, key, request string, expected int, run func(ctx context.Context) *mcp.CallToolResult) (jb *job, existing bool, err error) {
	if j.rec != nil {
		return j.startShared(owner, tool, key, request, expected, run)
	}
	j.mu.Lock()
	j.evictLocked()
	if key != "" {
		if id, ok := j.byKey[jobKey(owner, tool, key)]; ok {
			jb := j.jobs[id]
			j.mu.Unlock()
			if jb.Request != "" && jb.Request != request {
				return nil, false, errKeyReused
			}
			return jb, true, nil
		}
	}
	jb = &job{ID: session.NewID("job"), Owner: owner, Tool: tool, Key: key, Request: request, Status: JobRunning,
		Created: j.now(), Expected: expected, done: make(chan struct{})}
	j.jobs[jb.ID] = jb
	if key != "" {
		j.byKey[jobKey(owner, tool, key)] = jb.ID
	}
	j.mu.Unlock()
	_ = j.persist(jb)
	go j.run(jb, run)
	return jb, false, nil
}

// run runs a job to its end. A panic becomes a failed job and a log line, never the end of
// the process.
func (j *Jobs) run(jb *job, run func(ctx context.Context) *mcp.CallToolResult) {
	var res *mcp.CallToolResult
	func() {
		defer func() {
			if r := recover(); r != nil {
				j.log.Error("a background job panicked; it is marked failed", "job", jb.ID, "tool", jb.Tool,
					"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				res = diagnosisResult(apierrors.New(apierrors.Unknown,
					"The server hit an internal error while generating; call the tool again (the error is in the server log).").Diagnosis)
			}
		}()
		res = run(context.Background())
	}()
	stored, inline := byReference(res)
	j.mu.Lock()
	jb.Result, jb.Inline, jb.Finished, jb.Lease = mustJSON(stored), inline, j.now(), time.Time{}
	jb.Status = JobDone
	if res.IsError {
		jb.Status = JobFailed
	}
	j.mu.Unlock()
	_ = j.persist(jb)
	close(jb.done)
}

// byReference takes the inline image out of a result: it is the saved file's bytes (or a
// preview of them), which the stored result names instead of holding.
func byReference(res *mcp.CallToolResult) (*mcp.CallToolResult, *inlineRef) {
	out, ok := res.StructuredContent.(*ImageOutput)
	if !ok || out.Path == "" {
		return res, nil
	}
	for i, c := range res.Content {
		img, ok := c.(mcp.ImageContent)
		if !ok {
			continue
		}
		ref := &inlineRef{Path: out.Path, MIME: img.MIMEType, At: i,
			Full: len(img.Data) == base64.StdEncoding.EncodedLen(out.Bytes)}
		cp := *res
		cp.Content = slices.Delete(slices.Clone(res.Content), i, i+1)
		return &cp, ref
	}
	return res, nil
}

// evictLocked drops finished jobs past the TTL and, past maxJobs, the oldest finished ones,
// with their files.
func (j *Jobs) evictLocked() {
	cutoff := j.now().Add(-j.ttl)
	var finished []*job
	for id, jb := range j.jobs {
		if jb.Status == JobRunning {
			continue
		}
		if jb.Created.Before(cutoff) {
			j.dropLocked(id, jb)
			continue
		}
		finished = append(finished, jb)
	}
	if over := len(j.jobs) - maxJobs; over > 0 {
		slices.SortFunc(finished, func(a, b *job) int { return a.Finished.Compare(b.Finished) })
		for _, jb := range finished[:min(over, len(finished))] {
			j.dropLocked(jb.ID, jb)
		}
	}
}

func (j *Jobs) dropLocked(id string, jb *job) {
	delete(j.jobs, id)
	if jb.Key != "" && j.byKey[jobKey(jb.Owner, jb.Tool, jb.Key)] == id {
		delete(j.byKey, jobKey(jb.Owner, jb.Tool, jb.Key))
	}
	if j.dir != "" {
		_ = os.Remove(filepath.Join(j.dir, id+".json"))
	}
}

// get returns a job of owner by id; another owner's job is not found. With a shared store a
// job this replica does not run is read from the store.
func (j *Jobs) get(owner, id string) (*job, bool) {
	j.mu.Lock()
	jb, ok := j.jobs[id]
	j.mu.Unlock()
	if !ok && j.rec != nil {
		return j.load(owner, id)
	}
	if !ok || jb.Owner != owner {
		return nil, false
	}
	return jb, true
}

// wait waits up to d (or ctx's end) for a job and returns its result, or nil while it runs.
// out puts back the inline image the stored result left out.
func (j *Jobs) wait(ctx context.Context, jb *job, d time.Duration, out *Delivery) *mcp.CallToolResult {
	if jb.remote {
		jb = j.waitRemote(ctx, jb, d) // another replica's: its end is seen in the store
	} else if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-jb.done:
		case <-t.C:
		case <-ctx.Done():
		}
	}
	select {
	case <-jb.done:
	default:
		return nil
	}
	j.mu.Lock()
	raw, inline := jb.Result, jb.Inline
	j.mu.Unlock()
	res, err := mcp.ParseCallToolResult(&raw)
	if err != nil {
		return diagnosisResult(apierrors.New(apierrors.Unknown, "The stored result of job "+jb.ID+" cannot be read; call the tool again.").Diagnosis)
	}
	if inline != nil {
		if c, err := out.renderInline(inline); err == nil && inline.At <= len(res.Content) {
			res.Content = slices.Insert(res.Content, inline.At, c)
		}
	}
	return res
}

func (j *Jobs) persist(jb *job) error {
	if j.dir == "" && j.rec == nil {
		return nil
	}
	jb.persistMu.Lock()
	defer jb.persistMu.Unlock()
	j.mu.Lock()
	if j.rec != nil && jb.Status == JobRunning && !jb.remote {
		jb.Lease = j.now().Add(j.lease) // written by the replica running it: a renewal
	}
	data, err := json.Marshal(jb)
	j.mu.Unlock()
	if err != nil {
		return err
	}
	data = apierrors.RedactSecrets(data)
	if j.rec != nil {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		if err := j.rec.Put(ctx, jobsKind, jb.ID, data); err != nil {
			j.log.Warn("storing a job in the shared store", "job", jb.ID, "error", err)
			return err
		}
		return nil
	}
	return session.WriteFileAtomic(filepath.Join(j.dir, jb.ID+".json"), data, 0o600)
}

// renderInline rebuilds the inline image of a stored result from the saved file.
func (d *Delivery) renderInline(ref *inlineRef) (mcp.Content, error) {
	if ref.Full {
		data, err := os.ReadFile(ref.Path)
		if err != nil {
			return nil, err
		}
		return mcp.NewImageContent(base64.StdEncoding.EncodeToString(data), ref.MIME), nil
	}
	// Streamed from the file within the decode bound, as a fresh call's preview is.
	pv, err := makePreviewFile(ref.Path, d.Preview)
	if err != nil {
		return nil, err
	}
	return mcp.NewImageContent(base64.StdEncoding.EncodeToString(pv.Data), pv.MIMEType), nil
}

// requestDigest identifies a request's arguments, apart from how it is delivered (async)
// and the key itself, so a retry matches and a different request does not.
func requestDigest(tool string, in any) string {
	raw, _ := json.Marshal(in)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	delete(m, "async")
	delete(m, "idempotency_key")
	canon, _ := json.Marshal(m) // map keys are sorted
	sum := sha256.Sum256(append([]byte(tool+"\x00"), canon...))
	return hex.EncodeToString(sum[:16])
}

func mustJSON(v any) json.RawMessage {
	data, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return data
}

// pendingResult tells the client the job is still running and how to get it.
// pendingOutput is the structured content of a running job: the ImageOutput fields that
// describe a job, under the same names.
type pendingOutput struct {
	JobID           string `json:"job_id"`
	Status          string `json:"status"`
	ExpectedSeconds int    `json:"expected_seconds,omitempty"`
}

func pendingResult(jb *job) *mcp.CallToolResult {
	// Only the job's fields: a model reading an ImageOutput of empty paths and ids might take
	// them for a finished call that produced nothing.
	out := &pendingOutput{JobID: jb.ID, Status: JobRunning, ExpectedSeconds: jb.Expected}
	text := fmt.Sprintf("Still generating (job %s, usually about %d s in all); call get_generation with job_id %s to get the image.",
		jb.ID, jb.Expected, jb.ID)
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(text)}, StructuredContent: out}
}

// progressGate stops a request's progress notifications once its job carries on in the
// background and the request has been answered.
type progressGate struct{ closed atomic.Bool }

// turnRun is a turn as asyncTurn runs it: gate is nil when the request waits for the turn,
// or the gate the job closes once the request has been answered and the turn goes on.
type turnRun func(ctx context.Context, gate *progressGate) *mcp.CallToolResult

// asyncTurn runs a generation as the request asks: directly; or as a job answered when done,
// when it runs past AsyncAfter (then a job_id), or at once (async); an idempotency key
// returns the job a previous call started.
func (d *Turns) asyncTurn(ctx context.Context, tool string, in any, key string, async bool, expected int, run turnRun) *mcp.CallToolResult {
	if d.jobs == nil || (!async && key == "" && d.AsyncAfter <= 0) {
		return run(ctx, nil)
	}
	gate := &progressGate{}
	// A key is the principal's: another principal's key never returns its image.
	jb, existing, err := d.jobs.start(ownerOf(ctx), tool, key, requestDigest(tool, in), expected, func(context.Context) *mcp.CallToolResult {
		// The job outlives the request that started it (the client may give up at 60 s).
		return run(context.WithoutCancel(ctx), gate)
	})
	if errors.Is(err, errKeyReused) {
		return d.failure(ctx, tool, "", apierrors.Localf(apierrors.InvalidRequest,
			"The idempotency_key %q was already used for a different request; use a new key for a new request (the same key only repeats the same request).", key))
	}
	if err != nil { // the shared store did not take the job: nothing was started
		return d.failure(ctx, tool, "", apierrors.Localf(apierrors.ServerError,
			"The server's shared store (Redis) did not answer, so the %s job was not started; call the tool again in a moment, or ask the operator to check Redis.", tool))
	}
	if async && !existing {
		// async promises a job_id at once, even when the job has already ended (a panic or a
		// refusal can end it within microseconds): get_generation returns its result.
		gate.closed.Store(true)
		return pendingResult(jb)
	}
	wait := d.AsyncAfter
	switch {
	case async:
		wait = 0
	case existing && wait <= 0:
		wait = 50 * time.Second // a retried call waits as a plain call would have
	case wait <= 0:
		wait = 24 * time.Hour // no async-after: only the idempotency key made this a job
	}
	if res := d.jobs.wait(ctx, jb, wait, d.Delivery); res != nil {
		return res
	}
	gate.closed.Store(true)
	if errors.Is(ctx.Err(), context.Canceled) {
		d.log.InfoContext(ctx, "client left; the job goes on", "job", jb.ID)
	}
	return pendingResult(jb)
}

// expectedSeconds is a rough guess of a generation's duration, for the client's polling.
func expectedSeconds(model, size string) int {
	s := 15
	if strings.Contains(model, "pro") {
		s = 30
	}
	if size == "4K" {
		s *= 2
	}
	return s
}

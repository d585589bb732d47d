package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
type Jobs struct {
	mu    sync.Mutex
	dir   string // "" keeps jobs in memory only
	jobs  map[string]*job
	byKey map[string]string // tool + idempotency key → job id
	ttl   time.Duration
	now   func() time.Time
}

type job struct {
	ID       string          `json:"id"`
	Tool     string          `json:"tool"`
	Key      string          `json:"idempotency_key,omitempty"`
	Status   string          `json:"status"` // running, done, failed
	Created  time.Time       `json:"created"`
	Finished time.Time       `json:"finished,omitempty"`
	Expected int             `json:"expected_seconds"`
	Result   json.RawMessage `json:"result,omitempty"` // the tool result, as the client would have received it
	done     chan struct{}
}

// Job statuses.
const (
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// OpenJobs loads the jobs kept under dir ("" for memory only), dropping those older than ttl.
func OpenJobs(dir string, ttl time.Duration) (*Jobs, error) {
	j := &Jobs{dir: dir, jobs: map[string]*job{}, byKey: map[string]string{}, ttl: ttl, now: time.Now}
	if j.ttl <= 0 {
		j.ttl = 24 * time.Hour
	}
	if dir == "" {
		return j, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the jobs directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the jobs directory: %w", err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		var jb job
		if err != nil || json.Unmarshal(data, &jb) != nil || jb.ID == "" || j.now().Sub(jb.Created) > j.ttl {
			_ = os.Remove(path)
			continue
		}
		jb.done = make(chan struct{})
		close(jb.done)
		if jb.Status == JobRunning {
			jb.Status, jb.Finished = JobFailed, j.now()
			jb.Result = mustJSON(diagnosisResult(apierrors.New(apierrors.Cancelled,
				"The server restarted while this job was generating, so it did not finish; call the tool again.").Diagnosis))
			_ = j.persist(&jb)
		}
		j.jobs[jb.ID] = &jb
		if jb.Key != "" {
			j.byKey[jb.Tool+"\x00"+jb.Key] = jb.ID
		}
	}
	return j, nil
}

// start returns the job for (tool, key) if there is one, or starts run as a new job.
func (j *Jobs) start(tool, key string, expected int, run func(ctx context.Context) *mcp.CallToolResult) (jb *job, existing bool) {
	j.mu.Lock()
	if key != "" {
		if id, ok := j.byKey[tool+"\x00"+key]; ok {
			jb := j.jobs[id]
			j.mu.Unlock()
			return jb, true
		}
	}
	jb = &job{ID: session.NewID("job"), Tool: tool, Key: key, Status: JobRunning, Created: j.now(), Expected: expected,
		done: make(chan struct{})}
	j.jobs[jb.ID] = jb
	if key != "" {
		j.byKey[tool+"\x00"+key] = jb.ID
	}
	j.mu.Unlock()
	_ = j.persist(jb)
	go func() {
		res := run(context.Background())
		j.mu.Lock()
		jb.Result, jb.Finished = mustJSON(res), j.now()
		jb.Status = JobDone
		if res.IsError {
			jb.Status = JobFailed
		}
		j.mu.Unlock()
		_ = j.persist(jb)
		close(jb.done)
	}()
	return jb, false
}

// get returns a job by id.
func (j *Jobs) get(id string) (*job, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	jb, ok := j.jobs[id]
	return jb, ok
}

// wait waits up to d (or ctx's end) for a job and returns its result, or nil while it runs.
func (j *Jobs) wait(ctx context.Context, jb *job, d time.Duration) *mcp.CallToolResult {
	if d > 0 {
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
	raw := jb.Result
	j.mu.Unlock()
	res, err := mcp.ParseCallToolResult(&raw)
	if err != nil {
		return diagnosisResult(apierrors.New(apierrors.Unknown, "The stored result of job "+jb.ID+" cannot be read; call the tool again.").Diagnosis)
	}
	return res
}

func (j *Jobs) persist(jb *job) error {
	if j.dir == "" {
		return nil
	}
	j.mu.Lock()
	data, err := json.Marshal(jb)
	j.mu.Unlock()
	if err != nil {
		return err
	}
	return session.WriteFileAtomic(filepath.Join(j.dir, jb.ID+".json"), apierrors.RedactSecrets(data), 0o600)
}

func mustJSON(v any) json.RawMessage {
	data, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return data
}

// pendingResult tells the client the job is still running and how to get it.
func pendingResult(jb *job) *mcp.CallToolResult {
	out := &ImageOutput{JobID: jb.ID, Status: JobRunning, ExpectedSeconds: jb.Expected}
	text := fmt.Sprintf("Still generating (job %s, usually about %d s in all); call get_generation with job_id %s to get the image.",
		jb.ID, jb.Expected, jb.ID)
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(text)}, StructuredContent: out}
}

// progressGate stops a request's progress notifications once its job carries on in the
// background and the request has been answered.
type progressGate struct{ closed atomic.Bool }

type progressGateKey struct{}

func gateFrom(ctx context.Context) *progressGate {
	g, _ := ctx.Value(progressGateKey{}).(*progressGate)
	return g
}

// asyncTurn runs a generation as the request asks: directly; or as a job answered when done,
// when it runs past AsyncAfter (then a job_id), or at once (async); an idempotency key
// returns the job a previous call started.
func (d *Deps) asyncTurn(ctx context.Context, tool, key string, async bool, expected int, run func(ctx context.Context) *mcp.CallToolResult) *mcp.CallToolResult {
	if d.Jobs == nil || (!async && key == "" && d.AsyncAfter <= 0) {
		return run(ctx)
	}
	gate := &progressGate{}
	reqCtx := context.WithValue(ctx, progressGateKey{}, gate)
	if key != "" {
		key = sessionKey(ctx) + "\x00" + key // one client's key never returns another client's image
	}
	jb, existing := d.Jobs.start(tool, key, expected, func(context.Context) *mcp.CallToolResult {
		// The job outlives the request that started it (the client may give up at 60 s).
		return run(context.WithoutCancel(reqCtx))
	})
	wait := d.AsyncAfter
	switch {
	case async:
		wait = 0
	case existing && wait <= 0:
		wait = 50 * time.Second // a retried call waits as a plain call would have
	case wait <= 0:
		wait = 24 * time.Hour // no async-after: only the idempotency key made this a job
	}
	if res := d.Jobs.wait(ctx, jb, wait); res != nil {
		return res
	}
	gate.closed.Store(true)
	if errors.Is(ctx.Err(), context.Canceled) {
		d.Logger.InfoContext(ctx, "client left; the job goes on", "job", jb.ID)
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

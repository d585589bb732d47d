package tools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// Jobs shared by replicas (--store redis://): every job record and idempotency key lives in
// the shared session.Records, so a job started on one replica is found, waited for and
// fetched on any other.
//
// A running job holds a lease: the replica running it rewrites its record with a new
// lease_until every third of the lease. A replica that dies stops renewing, and whichever
// replica next reads the job after the lease ran out reports it interrupted, with the words
// a restart uses, instead of leaving it "running" forever. An idempotency key is claimed with
// PutIfAbsent, so the same key sent to two replicas at once starts one job.

// DefaultJobLease is how long a running job stays "running" without its replica renewing it.
const DefaultJobLease = 30 * time.Second

// Record kinds of shared jobs.
const (
	jobsKind = "jobs"
	keysKind = "idempotency"
)

// sharedPoll is how often a replica waiting for another replica's job reads it again.
const sharedPoll = 500 * time.Millisecond

// storeTimeout bounds one read or write of a job record.
const storeTimeout = 5 * time.Second

// interruptedText is what a job gets when the process running it stopped before it finished.
const interruptedText = "The server restarted while this job was generating, so it did not finish; call the tool again."

// OpenSharedJobs keeps jobs in records that several replicas share. lease is how long a
// running job survives its replica (DefaultJobLease when zero).
func OpenSharedJobs(rec session.Records, ttl, lease time.Duration, log *slog.Logger) *Jobs {
	j, _ := OpenJobs("", ttl, log) // in memory only: never fails
	j.rec, j.lease, j.poll = rec, lease, sharedPoll
	if j.lease <= 0 {
		j.lease = DefaultJobLease
	}
	j.stop = make(chan struct{})
	return j
}

// Close stops renewing the leases of the jobs this replica runs, as a crash would: another
// replica reports them interrupted once their leases run out.
func (j *Jobs) Close() error {
	if j.stop != nil {
		j.closeOnce.Do(func() { close(j.stop) })
	}
	return nil
}

// idemKey names an idempotency key in the records: the key is the client's text, so it is
// hashed with its owner and tool into a record key of the allowed shape.
func idemKey(owner, tool, key string) string {
	sum := sha256.Sum256([]byte(jobKey(owner, tool, key)))
	return hex.EncodeToString(sum[:])
}

// claim is the stored value of an idempotency key: the job it started.
type claim struct {
	Job     string `json:"job"`
	Request string `json:"request,omitempty"`
}

// claimKey claims (owner, tool, key) for a new job id, or returns the job an earlier call,
// on any replica, claimed it for.
func (j *Jobs) claimKey(owner, tool, key, request, id string) (string, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	stored, created, err := j.rec.PutIfAbsent(ctx, keysKind, idemKey(owner, tool, key), mustJSON(claim{Job: id, Request: request}))
	if err != nil || created {
		return id, false, err
	}
	var c claim
	if err := json.Unmarshal(stored, &c); err != nil || !session.ValidID("job", c.Job) {
		return "", false, errors.New("the stored idempotency key is damaged")
	}
	if c.Request != "" && c.Request != request {
		return "", false, errKeyReused
	}
	return c.Job, true, nil
}

// load reads a job from the shared records; a running job whose lease ran out is marked
// interrupted there first.
func (j *Jobs) load(owner, id string) (*job, bool) {
	if !session.ValidID("job", id) {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	data, err := j.rec.Get(ctx, jobsKind, id)
	if err != nil {
		if !errors.Is(err, session.ErrNoRecord) {
			j.log.Warn("reading a job from the shared store", "job", id, "error", err)
		}
		return nil, false
	}
	var jb job
	if json.Unmarshal(data, &jb) != nil || jb.ID != id || jb.Owner != owner {
		return nil, false
	}
	jb.done = make(chan struct{})
	if jb.Status == JobRunning && !jb.Lease.IsZero() && j.now().After(jb.Lease) {
		jb.interrupt(j.now())
		_ = j.persist(&jb)
	}
	if jb.Status != JobRunning {
		close(jb.done)
	}
	jb.remote = true
	return &jb, true
}

// interrupt ends a job whose process stopped before it finished.
func (jb *job) interrupt(now time.Time) {
	jb.Status, jb.Finished, jb.Lease = JobFailed, now, time.Time{}
	jb.Result = mustJSON(diagnosisResult(apierrors.New(apierrors.Cancelled, interruptedText).Diagnosis))
}

// renew keeps a running job's lease until it ends or the replica stops.
func (j *Jobs) renew(jb *job) {
	t := time.NewTicker(j.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-jb.done:
			return
		case <-j.stop:
			return
		case <-t.C:
			if j.endedElsewhere(jb.ID) {
				return // another replica took it for interrupted (this one was unreachable): no flip back to running
			}
			_ = j.persist(jb) // persist renews the lease of a running job
		}
	}
}

// endedElsewhere reports whether the stored record of a job this replica runs no longer says
// running: another replica reported it interrupted while this one could not renew its lease.
func (j *Jobs) endedElsewhere(id string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	data, err := j.rec.Get(ctx, jobsKind, id)
	var stored struct {
		Status string `json:"status"`
	}
	return err == nil && json.Unmarshal(data, &stored) == nil && stored.Status != JobRunning
}

// waitRemote polls another replica's job until it ends, d passes or ctx ends, and returns
// the job as last read.
func (j *Jobs) waitRemote(ctx context.Context, jb *job, d time.Duration) *job {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	t := time.NewTicker(j.poll)
	defer t.Stop()
	for jb.Status == JobRunning {
		select {
		case <-deadline.C:
			return jb
		case <-ctx.Done():
			return jb
		case <-t.C:
		}
		if fresh, ok := j.load(jb.Owner, jb.ID); ok {
			jb = fresh
		}
	}
	return jb
}

// evictShared drops the shared jobs and keys past the TTL, at most once a minute.
func (j *Jobs) evictShared() {
	now := j.now()
	j.mu.Lock()
	due := now.Sub(j.lastEvict) >= time.Minute
	if due {
		j.lastEvict = now
	}
	j.mu.Unlock()
	if !due {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		for _, kind := range []string{jobsKind, keysKind} {
			if _, err := j.rec.EvictOlderThan(ctx, kind, now.Add(-j.ttl)); err != nil {
				j.log.Warn("evicting old jobs from the shared store", "error", err)
			}
		}
	}()
}

// startShared is start with a shared store: the job's record is written (with its lease)
// before its idempotency key is claimed, so a replica that finds the key finds the job.
func (j *Jobs) startShared(owner, tool, key, request string, expected int, run func(ctx context.Context) *mcp.CallToolResult) (*job, bool, error) {
	j.mu.Lock()
	j.evictLocked()
	j.mu.Unlock()
	j.evictShared()
	jb := &job{ID: session.NewID("job"), Owner: owner, Tool: tool, Key: key, Request: request, Status: JobRunning,
		Created: j.now(), Expected: expected, done: make(chan struct{})}
	if err := j.persist(jb); err != nil {
		return nil, false, errStoreDown
	}
	if key != "" {
		id, existing, err := j.claimKey(owner, tool, key, request, jb.ID)
		if existing || err != nil {
			j.forget(jb.ID)
		}
		switch {
		case errors.Is(err, errKeyReused):
			return nil, false, err
		case err != nil:
			j.log.Warn("claiming an idempotency key in the shared store", "error", err)
			return nil, false, errStoreDown
		case existing:
			if prev, ok := j.get(owner, id); ok {
				return prev, true, nil
			}
			return nil, false, errStoreDown // claimed, but its job is gone: evicted at the same moment
		}
	}
	j.mu.Lock()
	j.jobs[jb.ID] = jb
	j.mu.Unlock()
	go j.renew(jb)
	go j.run(jb, run)
	return jb, false, nil
}

// errStoreDown is a shared store that did not take a job.
var errStoreDown = errors.New("the shared store did not answer")

// forget deletes a job record written for a call that turned out to repeat an earlier one.
func (j *Jobs) forget(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	_ = j.rec.Delete(ctx, jobsKind, id)
}

package tools

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"google.golang.org/genai"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// BatchAPI is the part of the Gemini client that runs batch jobs.
type BatchAPI interface {
	ValidateBatch(reqs []gemini.Request) ([]*gemini.Plan, error)
	PlanBatchItem(req gemini.Request) (*gemini.Plan, error)
	SubmitBatch(ctx context.Context, model, displayName string, items []gemini.BatchItem) (job, input string, err error)
	BatchStatus(ctx context.Context, name string) (*gemini.BatchJobStatus, error)
	BatchResults(ctx context.Context, st *gemini.BatchJobStatus, plans map[string]*gemini.Plan) ([]gemini.BatchOutcome, error)
	CancelBatch(ctx context.Context, name string) error
	DeleteFiles(ctx context.Context, names ...string)
}

var _ BatchAPI = (*gemini.Client)(nil)

// Batches follows submitted batches: it polls their Gemini jobs with a backoff that grows with
// the batch's age, collects finished ones (saving every image once) and keeps the records in
// its store, so that a batch outlives a restart and results are ready when asked for.
type Batches struct {
	api    BatchAPI
	store  session.BatchStore
	images *session.Images
	clock  resilience.Clock
	log    *slog.Logger

	submit sync.Mutex // makes the idempotency check and the new record one step
	mu     sync.Mutex
	locks  map[string]*sync.Mutex // one refresh of a batch at a time
	wake   chan struct{}
	shared func(ctx context.Context, id string) (unlock func(), err error)
}

// BatchOptions configures NewBatches.
type BatchOptions struct {
	API    BatchAPI           // nil: batch tools explain that batches are unavailable
	Store  session.BatchStore // nil: in memory
	Images *session.Images
	Clock  resilience.Clock // default the wall clock
	Logger *slog.Logger
	// Lock, with a store replicas share, holds a batch for one replica's refresh across all of
	// them (a lock with a lease: session.Store.Lock), so only one replica collects a batch
	// and its images are saved once; nil: the in-process lock alone.
	Lock func(ctx context.Context, id string) (unlock func(), err error)
}

// NewBatches returns a follower of batches; start its poller with Run.
func NewBatches(o BatchOptions) *Batches {
	if o.Store == nil {
		o.Store, _ = session.OpenBatchDir("")
	}
	if o.Clock == nil {
		o.Clock = resilience.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Batches{api: o.API, store: o.Store, images: o.Images, clock: o.Clock, log: o.Logger,
		locks: map[string]*sync.Mutex{}, wake: make(chan struct{}, 1), shared: o.Lock}
}

// pollInterval grows with a batch's age: seconds at first (small batches often finish within
// a minute), minutes later (the target turnaround is a day).
func pollInterval(age time.Duration, errors int) time.Duration {
	var d time.Duration
	switch {
	case age < 2*time.Minute:
		d = 5 * time.Second
	case age < 10*time.Minute:
		d = 15 * time.Second
	case age < time.Hour:
		d = time.Minute
	case age < 6*time.Hour:
		d = 5 * time.Minute
	default:
		d = 15 * time.Minute
	}
	for range min(errors, 6) {
		d *= 2 // the upstream or the network is failing: back off further
	}
	return min(d, time.Hour)
}

// Run polls due batches until ctx ends, sleeping on the clock until the next one is due.
func (b *Batches) Run(ctx context.Context) {
	for {
		next := b.pollDue(ctx)
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(b.clock.Now()), 0)
		}
		t := b.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		case <-b.wake:
			t.Stop()
		}
	}
}

// pollDue refreshes every unfinished batch whose poll is due and returns the earliest next poll.
func (b *Batches) pollDue(ctx context.Context) time.Time {
	list, err := b.store.ListBatches()
	if err != nil {
		b.log.Warn("listing batches", "error", err)
		return b.clock.Now().Add(time.Minute)
	}
	var next time.Time
	for _, bt := range list {
		if batchFinished(bt) {
			continue
		}
		if !bt.NextPoll.After(b.clock.Now()) {
			id := bt.ID
			if bt, err = b.refresh(ctx, id); err != nil {
				b.log.Warn("polling batch", "batch", id, "error", err)
				continue
			}
			if batchFinished(bt) {
				continue
			}
		}
		if next.IsZero() || bt.NextPoll.Before(next) {
			next = bt.NextPoll
		}
	}
	return next
}

func (b *Batches) lock(id string) func() {
	b.mu.Lock()
	l, ok := b.locks[id]
	if !ok {
		l = &sync.Mutex{}
		b.locks[id] = l
	}
	b.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// refresh asks Gemini about every job of the batch that is not collected yet, collects those
// that finished, and stores the record with its next poll time. A batch already collected is
// returned as stored: its results are never downloaded twice.
func (b *Batches) refresh(ctx context.Context, id string) (*session.Batch, error) {
	defer b.lock(id)()
	if b.shared != nil {
		unlock, err := b.shared(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("locking batch %s: %w", id, err)
		}
		defer unlock() // the record is read after the lock: another replica may have collected it
	}
	bt, err := b.store.GetBatch(id)
	if err != nil || batchFinished(bt) {
		return bt, err
	}
	failed := false
	for j := range bt.Jobs {
		job := &bt.Jobs[j]
		if job.Collected || job.Name == "" {
			continue
		}
		st, err := b.api.BatchStatus(ctx, job.Name)
		if e, gone := goneUpstream(err); gone {
			failItems(bt, j, apierrors.New(apierrors.InvalidRequest, "The batch job no longer exists at Gemini ("+
				strings.TrimSuffix(e.Diagnosis.Summary, ".")+"); submit the batch again."))
			job.Collected = true
			continue
		}
		if err != nil {
			failed = true
			b.log.Warn("checking batch job", "batch", id, "job", job.Name, "error", apierrors.Sanitize(err.Error()))
			continue
		}
		job.State = st.State
		if !st.Done() {
			continue
		}
		if err := b.collect(ctx, bt, j, st); err != nil {
			if _, gone := goneUpstream(err); gone {
				// Output files are kept for 48 hours; past that the answers cannot be fetched.
				failItems(bt, j, apierrors.New(apierrors.NoImage, "The batch's answers can no longer be fetched from Gemini "+
					"(its output file is kept for 48 hours); submit the batch again."))
				job.Collected = true
				continue
			}
			failed = true
			b.log.Warn("collecting batch job", "batch", id, "job", job.Name, "error", apierrors.Sanitize(err.Error()))
			continue
		}
		job.Collected = true
		// The images are saved here now: free the project's file storage at Gemini.
		b.api.DeleteFiles(ctx, job.Input, st.OutputFile)
	}
	now := b.clock.Now()
	if failed {
		bt.PollErrors++
	} else {
		bt.PollErrors = 0
	}
	bt.Updated, bt.NextPoll = now, now.Add(pollInterval(now.Sub(bt.Created), bt.PollErrors))
	return bt, b.store.PutBatch(bt)
}

// collect saves the images of a finished job and explains each failed request.
func (b *Batches) collect(ctx context.Context, bt *session.Batch, j int, st *gemini.BatchJobStatus) error {
	job := &bt.Jobs[j]
	if st.State != string(genai.JobStateSucceeded) && st.State != string(genai.JobStatePartiallySucceeded) {
		e := jobFailure(st, job.Model)
		failItems(bt, j, e)
		return nil
	}
	plans := map[string]*gemini.Plan{}
	for i, it := range bt.Items {
		if it.Job != j {
			continue
		}
		p, err := b.api.PlanBatchItem(itemRequest(it))
		if err != nil {
			return fmt.Errorf("planning request %d: %w", i, err)
		}
		p.Owner = bt.Owner // the images are the batch owner's calls, whoever's poll collects them
		plans[itemKey(i)] = p
	}
	outcomes, err := b.api.BatchResults(ctx, st, plans)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, o := range outcomes {
		var i int
		if _, err := fmt.Sscanf(o.Key, "r%d", &i); err != nil || i < 0 || i >= len(bt.Items) || bt.Items[i].Job != j {
			continue
		}
		seen[o.Key] = true
		it := &bt.Items[i]
		if it.Status != session.ItemPending {
			continue // saved by an earlier, interrupted collection
		}
		if o.Err != nil {
			it.Status, it.Category, it.Error = session.ItemFailed, string(o.Err.Diagnosis.Category), o.Err.Diagnosis.Summary
			continue
		}
		imgID := session.NewID("img")
		rec, err := b.images.Save(imgID, it.Prompt, "", o.Result.Image.Data, o.Result.Image.MIMEType)
		if err != nil {
			return fmt.Errorf("saving the image of request %d: %w", i, err)
		}
		it.Status, it.ImageID, it.Path, it.MIMEType = session.ItemSucceeded, imgID, rec.Path, o.Result.Image.MIMEType
		it.Width, it.Height, it.Bytes, it.CostUSD = o.Result.Width, o.Result.Height, rec.Bytes, o.Result.CostUSD
	}
	for i := range bt.Items {
		if it := &bt.Items[i]; it.Job == j && it.Status == session.ItemPending && !seen[itemKey(i)] {
			it.Status, it.Category = session.ItemFailed, string(apierrors.NoImage)
			it.Error = "The batch finished without an answer for this request; submit it again."
		}
	}
	return nil
}

// failItems fails every request of job j still pending, for one reason.
func failItems(bt *session.Batch, j int, e *apierrors.Error) {
	summary := e.Diagnosis.Summary
	bt.Jobs[j].Error = summary
	for i := range bt.Items {
		if it := &bt.Items[i]; it.Job == j && it.Status == session.ItemPending {
			it.Status, it.Category, it.Error = session.ItemFailed, string(e.Diagnosis.Category), summary
		}
	}
}

// goneUpstream reports whether err says the job or its output no longer exists at Gemini (404,
// or the 403 the Files API answers for a file that is gone): polling again cannot help.
func goneUpstream(err error) (*apierrors.Error, bool) {
	e, ok := apierrors.As(err)
	if !ok || err == nil {
		return nil, false
	}
	return e, e.Diagnosis.HTTPStatus == 404 || e.Diagnosis.HTTPStatus == 403
}

// jobFailure explains a job that ended without results.
func jobFailure(st *gemini.BatchJobStatus, model string) *apierrors.Error {
	var e *apierrors.Error
	switch st.State {
	case string(genai.JobStateCancelled):
		e = apierrors.New(apierrors.Cancelled, "The batch job was cancelled before this request was answered; submit it again if you still need it.")
	case string(genai.JobStateExpired):
		e = apierrors.New(apierrors.Timeout, "The batch job expired (Gemini runs a batch for at most 48 hours) before this request was answered; submit it again, perhaps in smaller batches.")
	default:
		msg := "The batch job failed at Gemini"
		if st.Message != "" {
			msg += " (" + st.Message + ")"
		}
		e = apierrors.New(apierrors.ServerError, msg+"; submit the batch again.")
	}
	e.Diagnosis.Model = model
	return e
}

func itemKey(i int) string { return fmt.Sprintf("r%d", i) }

func itemRequest(it session.BatchItem) gemini.Request {
	return gemini.Request{Prompt: it.Prompt, Options: gemini.Options{Model: it.Model, AspectRatio: it.AspectRatio,
		ImageSize: it.ImageSize, ThinkingLevel: it.ThinkingLevel}}
}

// batchFinished reports whether every job of the batch has been collected (or was never submitted).
func batchFinished(bt *session.Batch) bool {
	for _, j := range bt.Jobs {
		if !j.Collected && j.Name != "" {
			return false
		}
	}
	return true
}

// batchState sums a batch up in the tool's vocabulary.
func batchState(bt *session.Batch) string {
	if !batchFinished(bt) {
		for _, j := range bt.Jobs {
			if j.State == string(genai.JobStateRunning) || j.Collected {
				return "running"
			}
		}
		return "pending"
	}
	ok, failed := countItems(bt)
	switch {
	case failed == 0 && ok > 0:
		return "succeeded"
	case ok > 0:
		return "partially_succeeded"
	}
	all := func(state genai.JobState) bool {
		for _, j := range bt.Jobs {
			if j.State != string(state) {
				return false
			}
		}
		return len(bt.Jobs) > 0
	}
	switch {
	case all(genai.JobStateCancelled):
		return "cancelled"
	case all(genai.JobStateExpired):
		return "expired"
	}
	return "failed"
}

func countItems(bt *session.Batch) (ok, failed int) {
	for _, it := range bt.Items {
		switch it.Status {
		case session.ItemSucceeded:
			ok++
		case session.ItemFailed:
			failed++
		}
	}
	return ok, failed
}

// poke wakes the poller (a new batch to follow).
func (b *Batches) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

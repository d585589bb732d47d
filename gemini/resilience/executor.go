package resilience

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// DefaultMaxAttempts bounds the upstream calls of one Do.
const DefaultMaxAttempts = 4

// Candidate is a model the executor may call.
type Candidate struct {
	ID     string
	Family string // "flash" or "pro": sets the rate-limit backoff's first step
}

// Plan is what one Do may try.
type Plan struct {
	Model     Candidate   // the primary model
	Fallbacks []Candidate // tried in order when the primary is overloaded, failing or paused
	// Pinned forbids fallback: a conversation's thought signatures only work with its model.
	// A failure that would have fallen back says how to carry on instead.
	Pinned bool
	// FallbackOnQuota lets a spent quota of a model (daily_quota, no_free_tier, or a
	// per-minute wait past the deadline) move to the next model instead of failing.
	FallbackOnQuota bool
	// MaxAttempts bounds upstream calls, all models together; 0 means the Executor's.
	MaxAttempts int
	// Images is how many output images one call produces (for the IPM bucket); 0 means 1.
	Images int
	// AttemptTimeout, when set, bounds each call (wall clock: the call itself is real I/O);
	// after a timeout the next attempt gets 1.5 times as long.
	AttemptTimeout time.Duration
	// MinCallTime is how long a call needs; a wait that would leave less than this before
	// ctx's deadline is not started.
	MinCallTime time.Duration
	// OnEvent receives progress; it is called on the Do goroutine and must not block long.
	OnEvent func(Event)
}

// EventKind names an Event.
type EventKind string

// The event kinds.
const (
	EventQueued   EventKind = "queued"   // waiting for the local limiter
	EventAttempt  EventKind = "attempt"  // an upstream call starts
	EventWaiting  EventKind = "waiting"  // waiting before a retry; repeated every ProgressInterval
	EventFallback EventKind = "fallback" // moving to the next model
)

// Event is progress a tool can forward (notifications/progress).
type Event struct {
	Kind        EventKind
	Model       string // the model being waited for or called; for fallback, the new one
	From        string // for fallback: the model left behind
	Attempt     int    // the attempt this event leads to, from 1
	MaxAttempts int
	Wait        time.Duration // remaining wait, for queued and waiting
	Reason      string
	Category    apierrors.Category // the failure that led here, if any
	Message     string             // one line for a person: "waiting 37 s for …, attempt 2 of 4"
}

// Try is one upstream call.
type Try struct {
	Model    string             `json:"model"`
	Category apierrors.Category `json:"category,omitempty"` // empty: it succeeded
	Elapsed  time.Duration      `json:"elapsed"`
}

// Outcome is what Do did, for the tool result and the usage report.
type Outcome struct {
	Model        string               // the model that served, or last tried
	FallbackFrom string               // the primary, when a fallback served
	Attempts     int                  // upstream calls made
	Waited       time.Duration        // time spent queued and waiting to retry
	Queued       time.Duration        // the part of Waited spent in the local limiter's queue
	Tries        []Try                // one per upstream call, in order
	Diagnosis    *apierrors.Diagnosis // the failure, when Do failed
}

// Executor runs calls through the breaker, the limiter and the retry policy, with fallback.
// The zero value works: no local limits, no breaker, the real clock.
type Executor struct {
	Limiter     *Limiter // nil: no local limits
	Breaker     *Breaker // nil: no breaker
	Clock       Clock    // nil: RealClock
	MaxAttempts int      // 0: DefaultMaxAttempts
	// ClassifyWith are the options a failed attempt is classified with besides its model
	// (gemini adds the registry's replacements); nil: the Clock, for daily-quota resets. Each
	// failure is classified once, here, where it becomes known: the Diagnosis travels up in
	// the returned *apierrors.Error and in Outcome.Diagnosis.
	ClassifyWith []apierrors.Option
}

// Do calls until one call succeeds, the policy stops, the attempts run out or the next wait
// would pass ctx's deadline, and returns the result of the call that succeeded. Each attempt
// passes the breaker (open: the next fallback, or a fast failure saying when the model is
// tried again) and the limiter, then the failure is classified, recorded and learnt from, and
// the policy picks: retry after a wait, fall back, or stop. A failure is an *apierrors.Error
// carrying the last Diagnosis (also in Outcome.Diagnosis), with RetryAfterSeconds saying when
// to try again. Waits end at once when ctx ends. (A function, not a method: Go methods cannot
// have type parameters.)
func Do[T any](ctx context.Context, e *Executor, p Plan, call func(ctx context.Context, c Candidate) (T, error)) (T, Outcome, error) {
	r := &run{e: e, p: p, clock: e.Clock, tries: map[string]*modelTries{}}
	if r.clock == nil {
		r.clock = RealClock{}
	}
	r.max = firstPositive(p.MaxAttempts, e.MaxAttempts, DefaultMaxAttempts)
	r.chain = []Candidate{p.Model}
	if !p.Pinned {
		for _, c := range p.Fallbacks {
			if !strings.EqualFold(c.ID, p.Model.ID) {
				r.chain = append(r.chain, c)
			}
		}
	}
	return do(ctx, r, call)
}

// run is the state of one Do.
type run struct {
	e       *Executor
	p       Plan
	clock   Clock
	max     int
	chain   []Candidate
	idx     int
	tries   map[string]*modelTries
	out     Outcome
	timeout time.Duration
}

// do is Do's loop: one iteration per attempt, breaker check or fallback.
func do[T any](ctx context.Context, r *run, call func(context.Context, Candidate) (T, error)) (T, Outcome, error) {
	var zero T
	fail := func(d apierrors.Diagnosis, err error, note string, retryIn time.Duration) (T, Outcome, error) {
		out, err := r.fail(d, err, note, retryIn)
		return zero, out, err
	}
	r.timeout = r.p.AttemptTimeout
	var last apierrors.Diagnosis
	var lastErr error
	for {
		m := r.chain[r.idx]
		r.out.Model = m.ID
		canFallback := r.idx+1 < len(r.chain)
		if r.out.Attempts >= r.max {
			return fail(last, lastErr, fmt.Sprintf("gave up after %d attempts", r.out.Attempts), 0)
		}
		if b := r.e.Breaker; b != nil {
			if ok, retryIn := b.Allow(m.ID); !ok {
				if canFallback {
					r.fallback(m, fmt.Sprintf("because calls to %s are paused after repeated failures (next try in %s)", m.ID, formatWait(retryIn)), "")
					continue
				}
				return fail(r.pausedDiagnosis(m.ID, retryIn, last), lastErr, "", retryIn)
			}
		}
		release, err := r.acquire(ctx, m)
		if err != nil {
			if b := r.e.Breaker; b != nil {
				b.Abandon(m.ID)
			}
			d := r.classify(err, m.ID)
			// Already on a fallback, a spent local quota just means the next one.
			if ctx.Err() == nil && canFallback && (r.p.FallbackOnQuota || r.idx > 0) && isQuota(d.Category) {
				r.fallback(m, "because "+quotaReason(d)+" is used up", d.Category)
				continue
			}
			return fail(d, err, "", 0)
		}
		r.out.Attempts++
		n := r.out.Attempts
		r.emit(Event{Kind: EventAttempt, Model: m.ID, Message: fmt.Sprintf("calling %s, attempt %d of %d", m.ID, n, r.max)})
		start := r.clock.Now()
		v, err := attempt(ctx, r.timeout, call, m)
		release()
		try := Try{Model: m.ID, Elapsed: r.clock.Now().Sub(start)}
		if err == nil {
			r.out.Tries = append(r.out.Tries, try)
			r.record(m.ID, "")
			if r.idx > 0 {
				r.out.FallbackFrom = r.chain[0].ID
			}
			return v, r.out, nil
		}
		d := r.classify(err, m.ID)
		try.Category = d.Category
		r.out.Tries = append(r.out.Tries, try)
		last, lastErr = d, err
		if ctx.Err() != nil {
			if ctx.Err() == context.Canceled {
				d.Category = apierrors.Cancelled
			}
			r.record(m.ID, d.Category)
			return fail(d, err, "", 0)
		}
		r.record(m.ID, d.Category)
		if l := r.e.Limiter; l != nil {
			l.Learn(m.ID, d)
		}
		dec := decide(d, err, r.triesOf(m), canFallback, r.p.FallbackOnQuota)
		switch dec.Action {
		case Stop:
			return fail(d, err, "", 0)
		case Fallback:
			r.fallback(m, dec.Reason, d.Category)
			continue
		}
		if dec.TimeoutFactor > 1 && r.timeout > 0 {
			r.timeout = time.Duration(float64(r.timeout) * dec.TimeoutFactor)
		}
		if n >= r.max {
			return fail(d, err, fmt.Sprintf("gave up after %d attempts", n), dec.Wait)
		}
		if dl, ok := ctx.Deadline(); ok && r.clock.Now().Add(dec.Wait+r.p.MinCallTime).After(dl) {
			if canFallback && r.p.FallbackOnQuota && isQuota(d.Category) {
				r.fallback(m, "because "+quotaReason(d)+" needs a wait past the deadline", d.Category)
				continue
			}
			return fail(d, err, fmt.Sprintf("stopped after %d attempts because the next one, in %s, would pass this call's deadline", n, formatWait(dec.Wait)), dec.Wait)
		}
		if err := r.wait(ctx, m.ID, dec, n+1, d.Category); err != nil {
			return fail(r.classify(err, m.ID), err, "", 0)
		}
	}
}

// acquire waits for the limiter, reporting the queue as events.
func (r *run) acquire(ctx context.Context, m Candidate) (func(), error) {
	l := r.e.Limiter
	if l == nil {
		return func() {}, nil
	}
	actx := ctx
	if dl, ok := ctx.Deadline(); ok && r.p.MinCallTime > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithDeadline(ctx, dl.Add(-r.p.MinCallTime))
		defer cancel()
	}
	next := r.out.Attempts + 1
	release, waited, err := l.Acquire(actx, m.ID, r.p.Images, OnQueued(func(wait time.Duration, reason string) {
		msg := "queued, waiting for " + reason
		if wait > 0 {
			msg = fmt.Sprintf("queued, waiting %s for %s", formatWait(wait), reason)
		}
		r.emit(Event{Kind: EventQueued, Model: m.ID, Wait: wait, Reason: reason,
			Message: fmt.Sprintf("%s, attempt %d of %d", msg, next, r.max)})
	}))
	r.out.Waited += waited
	r.out.Queued += waited
	return release, err
}

// attempt makes one upstream call under the attempt timeout, if any.
func attempt[T any](ctx context.Context, timeout time.Duration, call func(context.Context, Candidate) (T, error), c Candidate) (T, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return call(ctx, c)
}

// wait sleeps before a retry, reporting progress.
func (r *run) wait(ctx context.Context, model string, dec Decision, next int, cat apierrors.Category) error {
	ev := func(rem time.Duration) {
		r.emit(Event{Kind: EventWaiting, Model: model, Attempt: next, Wait: rem, Reason: dec.Reason, Category: cat,
			Message: fmt.Sprintf("waiting %s %s, attempt %d of %d", formatWait(rem), dec.Reason, next, r.max)})
	}
	if dec.Wait <= 0 {
		return ctx.Err()
	}
	ev(dec.Wait)
	start := r.clock.Now()
	err := sleep(ctx, r.clock, dec.Wait, ev)
	r.out.Waited += r.clock.Now().Sub(start)
	return err
}

func (r *run) fallback(from Candidate, reason string, cat apierrors.Category) {
	r.idx++
	to := r.chain[r.idx]
	r.emit(Event{Kind: EventFallback, Model: to.ID, From: from.ID, Reason: reason, Category: cat,
		Attempt: r.out.Attempts + 1,
		Message: fmt.Sprintf("switching from %s to %s %s", from.ID, to.ID, reason)})
}

func (r *run) emit(ev Event) {
	if r.p.OnEvent == nil {
		return
	}
	if ev.MaxAttempts == 0 {
		ev.MaxAttempts = r.max
	}
	if ev.Attempt == 0 {
		ev.Attempt = r.out.Attempts + 1
	}
	r.p.OnEvent(ev)
}

func (r *run) record(model string, cat apierrors.Category) {
	if b := r.e.Breaker; b != nil {
		b.Record(model, cat)
	}
}

func (r *run) triesOf(m Candidate) *modelTries {
	k := key(m.ID)
	t, ok := r.tries[k]
	if !ok {
		t = newModelTries(m.Family, r.clock)
		r.tries[k] = t
	}
	return t
}

func (r *run) classify(err error, model string) apierrors.Diagnosis {
	if r.e.ClassifyWith != nil {
		return apierrors.Classify(err, append([]apierrors.Option{apierrors.ForModel(model)}, r.e.ClassifyWith...)...)
	}
	return apierrors.Classify(err, apierrors.ForModel(model), apierrors.WithClock(r.clock.Now))
}

// pausedDiagnosis explains a model whose breaker is open, with no fallback left.
func (r *run) pausedDiagnosis(model string, retryIn time.Duration, last apierrors.Diagnosis) apierrors.Diagnosis {
	e := apierrors.Newf(apierrors.Overloaded,
		"Calls to %s are paused because it failed repeatedly; it will be tried again in %s.", model, formatWait(retryIn))
	d := e.Diagnosis
	d.Model = model
	d.Actor = apierrors.ActorGoogle
	if last.Category != "" && last.Model == model {
		d.Category, d.HTTPStatus, d.Status = last.Category, last.HTTPStatus, last.Status
	}
	return d
}

// fail ends the run with d. note, when set, amends the summary; a positive retryIn sets
// RetryAfterSeconds (never below what the upstream asked for).
func (r *run) fail(d apierrors.Diagnosis, err error, note string, retryIn time.Duration) (Outcome, error) {
	if d.Category == "" {
		d = apierrors.Classify(err)
	}
	if s := math.Ceil(retryIn.Seconds()); s > d.RetryAfterSeconds {
		d.RetryAfterSeconds = s
	}
	if note != "" {
		d.Summary = amend(d.Summary, note)
	}
	if r.p.Pinned && len(r.p.Fallbacks) > 0 && wouldFallBack(d.Category, r.p.FallbackOnQuota) {
		d.Summary = amend(d.Summary, fmt.Sprintf(
			"this conversation is pinned to %s (its thought signatures only work there), so try again later or start a new conversation with another model", r.p.Model.ID))
		d.Fix = append(d.Fix, fmt.Sprintf("Continue this conversation later, when %s recovers.", r.p.Model.ID),
			"Or start a new conversation (generate_image, or edit_image with the last image) on another model; it cannot keep this one's thinking context.")
	}
	r.out.Diagnosis = &d
	cause := err
	if ae, ok := apierrors.As(err); ok && ae.Err != nil {
		cause = ae.Err
	} else if ok {
		cause = nil
	}
	return r.out, &apierrors.Error{Diagnosis: d, Err: cause}
}

func wouldFallBack(c apierrors.Category, quota bool) bool {
	switch c {
	case apierrors.Overloaded, apierrors.BadGateway, apierrors.ServerError, apierrors.Timeout:
		return true
	}
	return quota && isQuota(c)
}

func isQuota(c apierrors.Category) bool {
	return c == apierrors.RateLimited || c == apierrors.DailyQuota || c == apierrors.NoFreeTier
}

// amend adds a clause to a one-sentence summary, keeping it one sentence.
func amend(summary, clause string) string {
	s := strings.TrimRight(strings.TrimSpace(summary), ".")
	if s == "" {
		return upperFirst(clause) + "."
	}
	return s + "; " + clause + "."
}

func firstPositive(ns ...int) int {
	for _, n := range ns {
		if n > 0 {
			return n
		}
	}
	return 0
}

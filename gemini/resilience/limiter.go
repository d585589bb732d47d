package resilience

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// DefaultConcurrency is how many calls to one model may run at once unless configured.
// Generations take 30–170 s, so a handful in flight already uses a Tier 1 minute's quota.
const DefaultConcurrency = 4

// LimiterConfig configures a Limiter. The zero value limits only concurrency.
type LimiterConfig struct {
	// Tier selects the preset limits ("free", "1", "2", "3"); empty means no preset.
	Tier string
	// Override replaces the preset for every model, field by field, where non-zero
	// (--rpm, --ipm, --rpd).
	Override Limits
	// PerModel replaces the preset for one model id, field by field, where non-zero.
	PerModel map[string]Limits
	// Concurrency caps the calls in flight per model; 0 means DefaultConcurrency and a
	// negative value means no cap.
	Concurrency int
	// StatePath is the JSON file that keeps the daily counts across restarts; empty keeps
	// them in memory only.
	StatePath string
	// Daily counts the requests per day; nil means the file-backed counter at StatePath.
	// RedisShared.Daily shares the count between replicas.
	Daily DailyCounter
	// Window is the log of sends the per-minute limits are kept in; nil means an in-memory
	// one, shared by every caller of this Limiter.
	Window Window
	// Clock is the time source; nil means RealClock.
	Clock Clock
	// Logger receives warnings (a damaged state file, a failed save); nil means slog.Default().
	Logger *slog.Logger
}

// Limiter keeps each model's calls within its RPM, IPM, RPD and concurrency limits. Gemini
// quotas are per project and per model, so every model has its own limits. The per-minute
// limits are paced by a rolling window, as Google counts them: a burst up to the limit goes at
// once and no Span ever holds more than the limit. It is safe for concurrent use.
type Limiter struct {
	cfg    LimiterConfig
	clock  Clock
	log    *slog.Logger
	mu     sync.Mutex
	models map[string]*modelLimiter
	days   DailyCounter
	window Window
}

type modelLimiter struct {
	id     string
	limits Limits
	sem    chan struct{} // nil: unlimited
}

// NewLimiter returns a Limiter, loading the daily counts from cfg.StatePath when it exists. A
// damaged state file is logged as a warning and the counts start afresh; an unknown tier is
// an error.
func NewLimiter(cfg LimiterConfig) (*Limiter, error) {
	if cfg.Tier != "" {
		if _, err := Tier(cfg.Tier, ""); err != nil {
			return nil, err
		}
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Window == nil {
		cfg.Window = NewMemoryWindow()
	}
	l := &Limiter{cfg: cfg, clock: cfg.Clock, log: cfg.Logger, models: map[string]*modelLimiter{}, window: cfg.Window}
	l.days = cfg.Daily
	if l.days == nil {
		l.days = loadDays(cfg.StatePath, cfg.Logger)
	}
	return l, nil
}

// Limits returns the limits in force for a model, including any learned from the upstream.
func (l *Limiter) Limits(model string) Limits {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.model(model).limits
}

// UsedToday returns how many requests to a model were sent today (Pacific time).
func (l *Limiter) UsedToday(model string) int {
	return l.days.used(key(model), l.clock.Now())
}

func key(model string) string { return strings.ToLower(strings.TrimSpace(model)) }

// model returns the model's limiter, creating it on first use. l.mu must be held.
func (l *Limiter) model(id string) *modelLimiter {
	k := key(id)
	if m, ok := l.models[k]; ok {
		return m
	}
	var lim Limits
	if l.cfg.Tier != "" {
		lim, _ = Tier(l.cfg.Tier, k) // checked in NewLimiter
	}
	lim = merge(lim, l.cfg.Override)
	for name, o := range l.cfg.PerModel {
		if key(name) == k {
			lim = merge(lim, o)
		}
	}
	m := &modelLimiter{id: id, limits: lim}
	switch n := l.cfg.Concurrency; {
	case n == 0:
		m.sem = make(chan struct{}, DefaultConcurrency)
	case n > 0:
		m.sem = make(chan struct{}, n)
	}
	l.models[k] = m
	return m
}

func merge(base, over Limits) Limits {
	if over.RPM != 0 {
		base.RPM = over.RPM
	}
	if over.IPM != 0 {
		base.IPM = over.IPM
	}
	if over.RPD != 0 {
		base.RPD = over.RPD
	}
	return base
}

// AcquireOption tailors one Acquire call.
type AcquireOption func(*acquireOptions)

type acquireOptions struct {
	onQueued func(wait time.Duration, reason string)
}

// OnQueued reports that the call must queue: wait is how long it will still wait (0 when
// unknown, e.g. behind the concurrency limit) and reason names the limit, e.g. "the
// per-minute quota of gemini-3-pro-image (10 requests/min)". It is called when queuing starts
// and then every ProgressInterval.
func OnQueued(f func(wait time.Duration, reason string)) AcquireOption {
	return func(o *acquireOptions) { o.onQueued = f }
}

// Acquire waits for model's turn to send one request producing images output images. It
// returns a release func to call when the request is over (it frees the concurrency slot; it
// is safe to call twice) and how long it waited. When the wait would pass ctx's deadline it
// fails at once with an *apierrors.Error (rate_limited, or daily_quota when the day's requests
// are spent) whose summary states the wait; ctx's end stops any wait at once.
func (l *Limiter) Acquire(ctx context.Context, model string, images int, opts ...AcquireOption) (release func(), waited time.Duration, err error) {
	var o acquireOptions
	for _, opt := range opts {
		opt(&o)
	}
	start := l.clock.Now()
	l.mu.Lock()
	m := l.model(model)
	l.mu.Unlock()

	if err := l.enter(ctx, m, o); err != nil {
		return nil, l.clock.Now().Sub(start), err
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if m.sem != nil {
				<-m.sem
			}
		})
	}
	if err := l.reserve(ctx, m, images, o); err != nil {
		release()
		return nil, l.clock.Now().Sub(start), err
	}
	return release, l.clock.Now().Sub(start), nil
}

// enter takes a concurrency slot.
func (l *Limiter) enter(ctx context.Context, m *modelLimiter, o acquireOptions) error {
	if m.sem == nil {
		return nil
	}
	select {
	case m.sem <- struct{}{}:
		return nil
	default:
	}
	if o.onQueued != nil {
		o.onQueued(0, fmt.Sprintf("a free slot (%d calls to %s are already running)", cap(m.sem), m.id))
	}
	select {
	case m.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		if ctx.Err() == context.DeadlineExceeded {
			e := apierrors.Newf(apierrors.Timeout,
				"%d calls to %s were already running and none finished before this call's deadline; try again shortly or raise the concurrency limit.",
				cap(m.sem), m.id)
			e.Err = ctx.Err()
			return e
		}
		return fmt.Errorf("waiting for a free slot for %s: %w", m.id, ctx.Err())
	}
}

// reserve counts the request against the day and waits for its turn in the minute window.
func (l *Limiter) reserve(ctx context.Context, m *modelLimiter, images int, o acquireOptions) error {
	now := l.clock.Now()
	l.mu.Lock()
	lim := m.limits // Learn may lower them
	l.mu.Unlock()
	if err := l.days.take(key(m.id), lim.RPD, now); err != nil {
		return l.dailyError(m.id, lim.RPD, now)
	}
	if images < 1 {
		images = 1
	}
	var wants []Want
	var reasons []string
	if lim.RPM > 0 {
		wants = append(wants, Want{Key: "rpm/" + key(m.id), Limit: lim.RPM, N: 1})
		reasons = append(reasons, fmt.Sprintf("the per-minute quota of %s (%d requests/min)", m.id, lim.RPM))
	}
	if lim.IPM > 0 {
		wants = append(wants, Want{Key: "ipm/" + key(m.id), Limit: lim.IPM, N: images})
		reasons = append(reasons, fmt.Sprintf("the per-minute image quota of %s (%d images/min)", m.id, lim.IPM))
	}
	var delay time.Duration
	reason := ""
	cancel := func() {}
	if len(wants) > 0 {
		var at time.Time
		at, cancel = l.window.Book(now, Span, wants)
		delay = at.Sub(now)
		reason = blamed(wants, reasons)
	}
	undo := func() {
		cancel()
		l.days.give(key(m.id), l.clock.Now())
	}
	if delay <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && now.Add(delay).After(dl) {
		undo()
		return l.minuteError(m.id, reason, delay)
	}
	if o.onQueued != nil {
		o.onQueued(delay, reason)
	}
	var tick func(time.Duration)
	if o.onQueued != nil {
		tick = func(rem time.Duration) { o.onQueued(rem, reason) }
	}
	if err := sleepUntil(ctx, l.clock, now.Add(delay), tick); err != nil {
		undo()
		return fmt.Errorf("waiting for %s: %w", reason, err)
	}
	return nil
}

// blamed names the limit a wait is for: the tighter of the two, the one with fewer sends of
// this size per window (the window log does not say which one set the instant).
func blamed(wants []Want, reasons []string) string {
	best := 0
	for i, w := range wants {
		if w.Limit*clampN(wants[best]) < wants[best].Limit*clampN(w) {
			best = i
		}
	}
	return reasons[best]
}

func (l *Limiter) minuteError(model, reason string, wait time.Duration) error {
	secs := math.Ceil(wait.Seconds())
	e := apierrors.Newf(apierrors.RateLimited,
		"%s is used up here; the next slot is in %s, after this call's deadline, so try again then or raise the limit with --tier or --rpm.",
		upperFirst(reason), formatWait(wait))
	e.Diagnosis.RetryAfterSeconds = secs
	e.Diagnosis.Model = model
	e.Diagnosis.Actor = apierrors.ActorWait
	dim := "RPM"
	if strings.Contains(reason, "image quota") {
		dim = "IPM"
	}
	e.Diagnosis.Quota = &apierrors.Quota{Dimension: dim, Model: model, Limit: int64(l.Limits(model).get(dim))}
	return e
}

func (l *Limiter) dailyError(model string, rpd int, now time.Time) error {
	wait := untilPacificMidnight(now)
	limit := ""
	if rpd > 0 {
		limit = fmt.Sprintf(" (%d requests/day)", rpd)
	}
	e := apierrors.Newf(apierrors.DailyQuota,
		"The daily quota of %s%s is used up here; it resets at midnight Pacific time, in %s, so wait or raise the project's tier.",
		model, limit, formatWait(wait))
	e.Diagnosis.RetryAfterSeconds = math.Ceil(wait.Seconds())
	e.Diagnosis.Model = model
	e.Diagnosis.Quota = &apierrors.Quota{Dimension: "RPD", Limit: int64(rpd), Model: model}
	return e
}

func (x Limits) get(dim string) int {
	switch dim {
	case "RPM":
		return x.RPM
	case "IPM":
		return x.IPM
	case "RPD":
		return x.RPD
	}
	return 0
}

// Learn adjusts a model's limits from an upstream answer: a 429 that states its limit
// (Quota.Limit with dimension RPM, IPM or RPD) lowers that limit to it. Limits are only ever
// lowered.
func (l *Limiter) Learn(model string, d apierrors.Diagnosis) {
	l.mu.Lock()
	m := l.model(model)
	if q := d.Quota; q != nil && q.Limit > 0 && q.Limit < math.MaxInt32 {
		n := int(q.Limit)
		switch strings.ToUpper(q.Dimension) {
		case "RPM":
			if m.limits.RPM == 0 || n < m.limits.RPM {
				m.limits.RPM = n
				l.log.Info("lowered the per-minute request limit from Gemini's answer", "model", m.id, "rpm", n)
			}
		case "IPM":
			if m.limits.IPM == 0 || n < m.limits.IPM {
				m.limits.IPM = n
				l.log.Info("lowered the per-minute image limit from Gemini's answer", "model", m.id, "ipm", n)
			}
		case "RPD":
			if m.limits.RPD == 0 || n < m.limits.RPD {
				m.limits.RPD = n
				l.log.Info("lowered the daily request limit from Gemini's answer", "model", m.id, "rpd", n)
			}
		}
	}
	l.mu.Unlock()
	// A per-day 429 does not mark the day spent here: Gemini's answer stays the authority (the
	// next one is as quick as a local refusal, and a tier upgrade or a one-off error clears
	// without us knowing). Only a configured --rpd is enforced locally.
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// formatWait renders a wait for a sentence: "37 s", "3 min", "5 h 20 min".
func formatWait(d time.Duration) string { return apierrors.FormatWait(d) }

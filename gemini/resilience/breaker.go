package resilience

import (
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// Breaker defaults: the seeds' production clients open after 5 consecutive 502/503s and
// stay open for 2 minutes.
const (
	DefaultBreakerThreshold = 5
	DefaultBreakerCooldown  = 120 * time.Second
)

// BreakerState is where a model's breaker stands.
type BreakerState string

// The breaker states.
const (
	Closed   BreakerState = "closed"    // calls go through
	Open     BreakerState = "open"      // calls are refused until the cool-down ends
	HalfOpen BreakerState = "half_open" // one probe call is let through
)

// BreakerStatus is a model's breaker as seen from outside, for usage reports.
type BreakerStatus struct {
	Model    string       `json:"model"`
	State    BreakerState `json:"state"`
	Failures int          `json:"consecutive_failures"`
	OpenedAt time.Time    `json:"opened_at,omitzero"`
	RetryAt  time.Time    `json:"retry_at,omitzero"` // when an open breaker lets a probe through
	Opens    int          `json:"opens"`             // how many times it has opened
}

// BreakerConfig configures a Breaker; zero fields take the defaults.
type BreakerConfig struct {
	Threshold int           // consecutive server-side failures that open it
	Cooldown  time.Duration // how long it stays open
	Clock     Clock
	// OnChange, when set, is told of every state change (for logs and metrics).
	OnChange func(model string, from, to BreakerState)
	// Shared, when set, tells the other replicas when a breaker opens here and opens it
	// here when a peer's is open (RedisShared.Breakers); nil keeps every breaker to itself.
	Shared BreakerShare
}

// Breaker is a circuit breaker per model. It counts consecutive server-side failures
// (overloaded, server_error, bad_gateway, timeout); at the threshold it opens, refusing calls
// for the cool-down; then it lets exactly one probe through, which closes it on success and
// re-opens it on failure. It is safe for concurrent use.
type Breaker struct {
	cfg    BreakerConfig
	mu     sync.Mutex
	models map[string]*breakerModel
}

type breakerModel struct {
	status BreakerStatus
	probe  bool // a half-open probe is in flight
}

// NewBreaker returns a Breaker with every model closed.
func NewBreaker(cfg BreakerConfig) *Breaker {
	if cfg.Threshold <= 0 {
		cfg.Threshold = DefaultBreakerThreshold
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = DefaultBreakerCooldown
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	return &Breaker{cfg: cfg, models: map[string]*breakerModel{}}
}

func (b *Breaker) model(id string) *breakerModel {
	k := key(id)
	m, ok := b.models[k]
	if !ok {
		m = &breakerModel{status: BreakerStatus{Model: id, State: Closed}}
		b.models[k] = m
	}
	return m
}

// Allow reports whether a call to model may go ahead. When it may not, retryIn says when the
// model will be tried again. A true answer in the half-open state makes the caller the probe:
// it must report the outcome with Record, or Abandon when it never makes the call.
func (b *Breaker) Allow(model string) (ok bool, retryIn time.Duration) {
	now := b.cfg.Clock.Now()
	var peer time.Time
	if b.cfg.Shared != nil {
		peer = b.cfg.Shared.OpenUntil(model, now) // before the lock: a round trip to Redis
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.model(model)
	if peer.After(now) && !m.probe && (m.status.State != Open || peer.After(m.status.RetryAt)) {
		// A peer's calls failed: this replica's would too. Open until the peer probes.
		if m.status.State != Open {
			m.status.OpenedAt = now
			m.status.Opens++
		}
		m.status.RetryAt = peer
		b.set(m, Open)
	}
	switch m.status.State {
	case Open:
		if now.Before(m.status.RetryAt) {
			return false, m.status.RetryAt.Sub(now)
		}
		b.set(m, HalfOpen)
		m.probe = true
		return true, 0
	case HalfOpen:
		if m.probe {
			// Another call is probing; its answer decides. If it never reports, the probe
			// is considered lost after a further cool-down.
			if now.Before(m.status.RetryAt.Add(b.cfg.Cooldown)) {
				return false, m.status.RetryAt.Add(b.cfg.Cooldown).Sub(now)
			}
		}
		m.probe = true
		m.status.RetryAt = now
		return true, 0
	}
	return true, 0
}

// serverSide reports whether a category counts against a model's health.
func serverSide(c apierrors.Category) bool {
	switch c {
	case apierrors.Overloaded, apierrors.ServerError, apierrors.BadGateway, apierrors.Timeout:
		return true
	}
	return false
}

// neutral reports whether a category says nothing about the model's health.
func neutral(c apierrors.Category) bool {
	switch c {
	case apierrors.Cancelled, apierrors.Network, apierrors.Unknown:
		return true
	}
	return false
}

// Record reports the outcome of a call Allow let through: category is "" for success, else
// the Diagnosis category. Server-side failures count towards opening; any answer from the
// upstream that is not one (a 200, a 400, a 429) shows the model is up and resets the count;
// cancelled, network and unknown outcomes change nothing but free the half-open probe.
func (b *Breaker) Record(model string, category apierrors.Category) {
	now := b.cfg.Clock.Now()
	var publish func()
	defer func() {
		if publish != nil {
			publish() // after the unlock below: no round trip to Redis under b.mu
		}
	}()
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.model(model)
	wasProbe := m.probe
	m.probe = false
	switch {
	case neutral(category):
		return
	case serverSide(category):
		m.status.Failures++
		if (m.status.State == HalfOpen && wasProbe) || (m.status.State == Closed && m.status.Failures >= b.cfg.Threshold) {
			m.status.OpenedAt = now
			m.status.RetryAt = now.Add(b.cfg.Cooldown)
			m.status.Opens++
			b.set(m, Open)
			if s := b.cfg.Shared; s != nil {
				until := m.status.RetryAt
				publish = func() { s.Opened(model, until, now) }
			}
		}
	default:
		m.status.Failures = 0
		if m.status.State != Closed {
			m.status.OpenedAt, m.status.RetryAt = time.Time{}, time.Time{}
			b.set(m, Closed)
		}
	}
}

// Abandon frees a half-open probe that Allow granted but that was never sent (the limiter
// refused it, or the caller gave up).
func (b *Breaker) Abandon(model string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.model(model).probe = false
}

func (b *Breaker) set(m *breakerModel, to BreakerState) {
	from := m.status.State
	m.status.State = to
	if b.cfg.OnChange != nil && from != to {
		// Called with b.mu held: OnChange must not call back into the Breaker.
		b.cfg.OnChange(m.status.Model, from, to)
	}
}

// Status returns a model's breaker.
func (b *Breaker) Status(model string) BreakerStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.model(model).status
}

// Snapshot returns every model's breaker that has been used, sorted by model.
func (b *Breaker) Snapshot() []BreakerStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]BreakerStatus, 0, len(b.models))
	for _, m := range b.models {
		out = append(out, m.status)
	}
	sort.Slice(out, func(i, j int) bool { return strings.Compare(out[i].Model, out[j].Model) < 0 })
	return out
}

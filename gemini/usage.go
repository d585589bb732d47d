package gemini

import (
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience"
)

// CallRecord is what one generation cost and how it went.
type CallRecord struct {
	At           time.Time
	Owner        string // who made the call (Request.Owner); "" when not told
	Model        string // the model that served, or was tried last
	FallbackFrom string
	Attempts     int
	Waited       time.Duration
	Queued       time.Duration // the part of Waited spent in the local limiter's queue
	Latency      time.Duration
	Category     apierrors.Category // "" on success
	Usage        Usage
	CostUSD      float64
	Tries        []resilience.Try
	Grounded     bool // served with Google Search grounding: billed separately
	Batch        bool // an answer of a batch job, at batch prices
}

// Recorder sees what the client does, for metrics (the metrics package implements it, so this
// package needs no metrics library). Its methods are called on the calling goroutine and must
// not block.
type Recorder interface {
	// Generation is called once per finished generation or batch answer, with the record the
	// usage log keeps: its Tries carry each upstream call's model, latency and failure.
	Generation(CallRecord)
	// Fallback is called each time a call moves from one model to the next.
	Fallback(from, to string)
}

// record keeps a finished call in the usage log and tells the recorder.
func (c *Client) record(r CallRecord) {
	c.usage.Record(r)
	if c.rec != nil {
		c.rec.Generation(r)
	}
}

// UsageLog keeps the most recent calls in memory, for usage_report and the hourly log line.
type UsageLog struct {
	mu      sync.Mutex
	records []CallRecord
	next    int
	max     int
	// shared, with a store replicas share, holds every replica's records (shared.go); the
	// in-memory ring is then unused.
	shared  SharedRecords
	log     *slog.Logger
	evicted time.Time
}

// NewUsageLog keeps at most max records (the oldest are dropped).
func NewUsageLog(max int) *UsageLog {
	if max <= 0 {
		max = 10000
	}
	return &UsageLog{max: max}
}

// Record adds a call.
func (u *UsageLog) Record(r CallRecord) {
	if u.shared != nil {
		u.share(r)
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.records) < u.max {
		u.records = append(u.records, r)
		return
	}
	u.records[u.next] = r
	u.next = (u.next + 1) % u.max
}

// UsageReport summarises calls since a time.
type UsageReport struct {
	Since        time.Time      `json:"since"`
	Calls        int            `json:"calls"`
	Images       int            `json:"images"`
	SuccessRate  float64        `json:"success_rate" jsonschema_description:"successful calls / calls"`
	LatencyP50MS int64          `json:"latency_p50_ms"`
	LatencyP95MS int64          `json:"latency_p95_ms"`
	Attempts     int            `json:"attempts" jsonschema_description:"upstream calls"`
	WaitedMS     int64          `json:"waited_ms" jsonschema_description:"queued or waiting to retry"`
	Fallbacks    int            `json:"fallbacks" jsonschema_description:"served by a fallback"`
	Errors       map[string]int `json:"errors" jsonschema_description:"by category"`
	UpstreamErrs map[string]int `json:"upstream_errors" jsonschema_description:"by category, retries included"`
	CostUSD      float64        `json:"cost_usd"`
	BatchImages  int            `json:"batch_images" jsonschema_description:"at batch prices"`
	CostPerImage float64        `json:"cost_per_image_usd"`
	Tokens       int            `json:"tokens"`
	Hours        []HourUsage    `json:"hours"`
	// Grounded calls are billed apart from images: 5,000 free a month, then $14 per 1,000.
	GroundedCalls     int `json:"grounded_calls" jsonschema_description:"in Google Search"`
	GroundedThisMonth int `json:"grounded_calls_this_month" jsonschema_description:"this UTC month: 5,000 free, then $14 per 1,000"`
}

// HourUsage is one hour of a UsageReport.
type HourUsage struct {
	Hour     string         `json:"hour" jsonschema_description:"RFC 3339"`
	Calls    int            `json:"calls"`
	Images   int            `json:"images"`
	Errors   map[string]int `json:"errors"`
	CostUSD  float64        `json:"cost_usd"`
	P50MS    int64          `json:"latency_p50_ms"`
	Attempts int            `json:"attempts"`
}

// Report summarises every call made since since, in total and per hour: the operator's view.
func (u *UsageLog) Report(since time.Time) UsageReport {
	return report(u.all(since), since)
}

// all is every record a report since since may count.
func (u *UsageLog) all(since time.Time) []CallRecord {
	if u.shared != nil {
		return u.sharedRecords(since)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.records)
}

// ReportFor is Report limited to the calls of one owner.
func (u *UsageLog) ReportFor(since time.Time, owner string) UsageReport {
	recs := slices.DeleteFunc(u.all(since), func(r CallRecord) bool { return r.Owner != owner })
	return report(recs, since)
}

func report(recs []CallRecord, since time.Time) UsageReport {
	sort.Slice(recs, func(i, j int) bool { return recs[i].At.Before(recs[j].At) })
	rep := UsageReport{Since: since, Errors: map[string]int{}, UpstreamErrs: map[string]int{}, Hours: []HourUsage{}}
	month := time.Now().UTC()
	for _, r := range recs {
		if at := r.At.UTC(); r.Grounded && r.Category == "" && at.Year() == month.Year() && at.Month() == month.Month() {
			rep.GroundedThisMonth++
		}
	}
	var lat []time.Duration
	hours := map[time.Time]*HourUsage{}
	hourLat := map[time.Time][]time.Duration{}
	for _, r := range recs {
		if r.At.Before(since) {
			continue
		}
		rep.Calls++
		rep.Attempts += r.Attempts
		rep.WaitedMS += r.Waited.Milliseconds()
		for _, t := range r.Tries {
			if t.Category != "" {
				rep.UpstreamErrs[string(t.Category)]++
			}
		}
		h := r.At.UTC().Truncate(time.Hour)
		hu := hours[h]
		if hu == nil {
			hu = &HourUsage{Hour: h.Format(time.RFC3339), Errors: map[string]int{}}
			hours[h] = hu
		}
		hu.Calls++
		hu.Attempts += r.Attempts
		if r.Category != "" {
			rep.Errors[string(r.Category)]++
			hu.Errors[string(r.Category)]++
			continue
		}
		rep.Images++
		hu.Images++
		if r.Batch {
			rep.BatchImages++
		}
		if r.FallbackFrom != "" {
			rep.Fallbacks++
		}
		if r.Grounded {
			rep.GroundedCalls++
		}
		rep.CostUSD += r.CostUSD
		hu.CostUSD += r.CostUSD
		rep.Tokens += r.Usage.TotalTokens
		if r.Batch {
			continue // a batch answer has no latency of its own
		}
		lat = append(lat, r.Latency)
		hourLat[h] = append(hourLat[h], r.Latency)
	}
	if rep.Calls > 0 {
		rep.SuccessRate = round(float64(rep.Images)/float64(rep.Calls), 4)
	}
	if rep.Images > 0 {
		rep.CostPerImage = round(rep.CostUSD/float64(rep.Images), 4)
	}
	rep.CostUSD = round(rep.CostUSD, 4)
	rep.LatencyP50MS, rep.LatencyP95MS = percentile(lat, 50), percentile(lat, 95)
	keys := make([]time.Time, 0, len(hours))
	for h := range hours {
		keys = append(keys, h)
	}
	slices.SortFunc(keys, func(a, b time.Time) int { return a.Compare(b) })
	for _, h := range keys {
		hu := hours[h]
		hu.P50MS, hu.CostUSD = percentile(hourLat[h], 50), round(hu.CostUSD, 4)
		rep.Hours = append(rep.Hours, *hu)
	}
	return rep
}

func percentile(d []time.Duration, p int) int64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))].Milliseconds()
}

func round(v float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}

// BreakerStatus is a model's circuit breaker as usage reports show it.
type BreakerStatus struct {
	Model    string    `json:"model"`
	State    string    `json:"state"` // closed, open or half_open
	Failures int       `json:"consecutive_failures"`
	OpenedAt time.Time `json:"opened_at,omitzero"`
	RetryAt  time.Time `json:"retry_at,omitzero"` // when an open breaker lets a probe through
	Opens    int       `json:"opens"`             // how many times it has opened
}

// Breakers reports the circuit breaker of every model that has one.
func (c *Client) Breakers() []BreakerStatus {
	if c.res.Breaker == nil {
		return nil
	}
	snap := c.res.Breaker.Snapshot()
	out := make([]BreakerStatus, len(snap))
	for i, b := range snap {
		out[i] = BreakerStatus{Model: b.Model, State: string(b.State), Failures: b.Failures, OpenedAt: b.OpenedAt,
			RetryAt: b.RetryAt, Opens: b.Opens}
	}
	return out
}

// Package metrics exposes what one replica does as Prometheus metrics: tool calls, upstream
// calls, errors by category, retries, fallbacks, cost, limiter waits, breakers and the store.
// It is the only package that imports the Prometheus client: the others report through small
// interfaces it implements (server.CallObserver, gemini.Recorder). Labels are bounded: tool,
// model, category, outcome; never a prompt, a principal or an id.
package metrics

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
)

const namespace = "nanobanana"

// maxModels bounds the model label: models come from the registry and --model, but a label
// must stay bounded whatever happens, so models past this many are counted as "other".
const maxModels = 32

// durationBuckets span a cached answer to a slow 4K image with retries (seconds).
var durationBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600}

// waitBuckets start at zero: most calls never queue.
var waitBuckets = []float64{0, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// Metrics holds one replica's metrics in its own registry (not the global one, so tests and
// embedders get exactly these series).
type Metrics struct {
	reg *prometheus.Registry

	toolCalls    *prometheus.CounterVec
	toolErrors   *prometheus.CounterVec
	toolDuration *prometheus.HistogramVec
	inflight     prometheus.Gauge
	generations  *prometheus.CounterVec
	genErrors    *prometheus.CounterVec
	upstream     *prometheus.HistogramVec
	upstreamErrs *prometheus.CounterVec
	retries      *prometheus.CounterVec
	fallbacks    *prometheus.CounterVec
	cost         *prometheus.CounterVec
	images       *prometheus.CounterVec
	queueWait    *prometheus.HistogramVec
	watched      *watched
	mu           sync.Mutex
	models       map[string]bool
}

// New registers every series; the Go runtime's and the process's (resident memory, open files)
// are included, so one scrape shows a replica's health.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), models: map[string]bool{}, watched: &watched{}}
	f := factory{m.reg}
	m.toolCalls = f.counter("tool_calls_total", "Tool calls by tool and outcome (ok, error, cancelled).", "tool", "outcome")
	m.toolErrors = f.counter("tool_errors_total", "Failed tool calls by tool and error category.", "tool", "category")
	m.toolDuration = f.histogram("tool_call_duration_seconds", "How long tool calls took, queueing and retries included.", durationBuckets, "tool")
	m.inflight = f.gauge("tool_calls_in_flight", "Tool calls running now.")
	m.generations = f.counter("generations_total", "Generations (after retries and fallbacks) by the model that served or was tried last, and outcome (ok, error).", "model", "outcome")
	m.genErrors = f.counter("generation_errors_total", "Failed generations by model and error category.", "model", "category")
	m.upstream = f.histogram("upstream_request_duration_seconds", "Each upstream Gemini request, retries included, by model.", durationBuckets, "model")
	m.upstreamErrs = f.counter("upstream_errors_total", "Failed upstream requests by model and error category, retries included.", "model", "category")
	m.retries = f.counter("retries_total", "Upstream requests repeated on the same model after a failure.", "model")
	m.fallbacks = f.counter("fallbacks_total", "Moves from one model to the next in the fallback chain.", "from", "to")
	m.cost = f.counter("cost_usd_total", "Estimated spend in US dollars, at the usage report's prices.", "model")
	m.images = f.counter("images_total", "Images generated, batch answers included.", "model")
	m.queueWait = f.histogram("limiter_wait_seconds", "Time a generation waited in the local rate limiter's queue.", waitBuckets, "model")
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.watched)
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// CallStarted implements server.CallObserver.
func (m *Metrics) CallStarted(string) { m.inflight.Inc() }

// CallFinished implements server.CallObserver.
func (m *Metrics) CallFinished(tool, outcome, category string, elapsed time.Duration) {
	m.inflight.Dec()
	m.toolCalls.WithLabelValues(tool, outcome).Inc()
	if category != "" {
		m.toolErrors.WithLabelValues(tool, category).Inc()
	}
	m.toolDuration.WithLabelValues(tool).Observe(elapsed.Seconds())
}

// Generation implements gemini.Recorder.
func (m *Metrics) Generation(r gemini.CallRecord) {
	model := m.model(r.Model)
	prev := ""
	for _, t := range r.Tries {
		tm := m.model(t.Model)
		m.upstream.WithLabelValues(tm).Observe(t.Elapsed.Seconds())
		if t.Category != "" {
			m.upstreamErrs.WithLabelValues(tm, string(t.Category)).Inc()
		}
		if t.Model == prev {
			m.retries.WithLabelValues(tm).Inc()
		}
		prev = t.Model
	}
	if !r.Batch {
		m.queueWait.WithLabelValues(model).Observe(r.Queued.Seconds())
	}
	if r.Category != "" {
		m.generations.WithLabelValues(model, "error").Inc()
		m.genErrors.WithLabelValues(model, string(r.Category)).Inc()
		return
	}
	m.generations.WithLabelValues(model, "ok").Inc()
	m.images.WithLabelValues(model).Inc()
	m.cost.WithLabelValues(model).Add(r.CostUSD)
}

// Fallback implements gemini.Recorder.
func (m *Metrics) Fallback(from, to string) {
	m.fallbacks.WithLabelValues(m.model(from), m.model(to)).Inc()
}

// model bounds the model label.
func (m *Metrics) model(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.models[name] {
		return name
	}
	if len(m.models) >= maxModels {
		return "other"
	}
	m.models[name] = true
	return name
}

// Watch adds what is read at each scrape rather than counted: the breakers (gemini.Client's
// Breakers) and the store's health (a ping). Either may be nil. Call it before serving.
func (m *Metrics) Watch(breakers func() []gemini.BreakerStatus, store func(context.Context) error) {
	m.watched.breakers, m.watched.store = breakers, store
}

type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string, labels ...string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(v)
	return v
}

func (f factory) histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(v)
	return v
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

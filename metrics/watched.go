package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
)

// storeTimeout bounds the store ping of one scrape: a scrape must answer even when the store
// does not (it then reports the store down).
const storeTimeout = 2 * time.Second

var (
	breakerDesc = prometheus.NewDesc(namespace+"_breaker_state",
		"Circuit breaker per model: 0 closed (calls go through), 1 half-open (one probe), 2 open (calls refused).",
		[]string{"model"}, nil)
	storeUpDesc = prometheus.NewDesc(namespace+"_store_up",
		"1 when the conversation store answered this scrape's ping, 0 when it did not.", nil, nil)
	storePingDesc = prometheus.NewDesc(namespace+"_store_ping_seconds",
		"How long this scrape's store ping took.", nil, nil)
)

// breakerValue orders the states by how much they refuse.
var breakerValue = map[string]float64{"closed": 0, "half_open": 1, "open": 2}

// watched reads state at scrape time rather than counting events: a breaker's state and the
// store's health are what they are now.
type watched struct {
	breakers func() []gemini.BreakerStatus
	store    func(context.Context) error
}

func (w *watched) Describe(ch chan<- *prometheus.Desc) {
	ch <- breakerDesc
	ch <- storeUpDesc
	ch <- storePingDesc
}

func (w *watched) Collect(ch chan<- prometheus.Metric) {
	if w.breakers != nil {
		for _, b := range w.breakers() {
			ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, breakerValue[b.State], b.Model)
		}
	}
	if w.store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		start := time.Now()
		up := 1.0
		if err := w.store(ctx); err != nil {
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, up)
		ch <- prometheus.MustNewConstMetric(storePingDesc, prometheus.GaugeValue, time.Since(start).Seconds())
	}
}

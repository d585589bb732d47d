package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience"
)

const (
	pro   = "gemini-3-pro-image"
	flash = "gemini-nano-banana-2.1"
)

// One generation that fell back from an overloaded Pro to 2.1, was retried there after a 502
// and succeeded: each upstream call is timed and its failure counted by category, the retry
// and the fallback are counted once, the image and its cost are counted for the model that
// served it.
func TestGenerationCountsTriesRetriesFallbacksAndCost(t *testing.T) {
	m := New()
	m.Fallback(pro, flash)
	m.Generation(gemini.CallRecord{Model: flash, FallbackFrom: pro, Attempts: 3, CostUSD: 0.067, Queued: 2 * time.Second,
		Tries: []resilience.Try{
			{Model: pro, Category: apierrors.Overloaded, Elapsed: time.Second},
			{Model: flash, Category: apierrors.ServerError, Elapsed: time.Second},
			{Model: flash, Elapsed: 8 * time.Second},
		}})
	m.Generation(gemini.CallRecord{Model: pro, Category: apierrors.SafetyBlocked, Attempts: 1,
		Tries: []resilience.Try{{Model: pro, Category: apierrors.SafetyBlocked, Elapsed: time.Second}}})
	for name, c := range map[string]struct{ got, want float64 }{
		"retries on 2.1":             {testutil.ToFloat64(m.retries.WithLabelValues(flash)), 1},
		"retries on Pro":             {testutil.ToFloat64(m.retries.WithLabelValues(pro)), 0},
		"fallbacks Pro→2.1":          {testutil.ToFloat64(m.fallbacks.WithLabelValues(pro, flash)), 1},
		"Pro overloaded":             {testutil.ToFloat64(m.upstreamErrs.WithLabelValues(pro, "overloaded")), 1},
		"Pro safety upstream":        {testutil.ToFloat64(m.upstreamErrs.WithLabelValues(pro, "safety_blocked")), 1},
		"2.1 server error":           {testutil.ToFloat64(m.upstreamErrs.WithLabelValues(flash, string(apierrors.ServerError))), 1},
		"generations ok on 2.1":      {testutil.ToFloat64(m.generations.WithLabelValues(flash, "ok")), 1},
		"generations failed on Pro":  {testutil.ToFloat64(m.generations.WithLabelValues(pro, "error")), 1},
		"Pro failed for safety":      {testutil.ToFloat64(m.genErrors.WithLabelValues(pro, "safety_blocked")), 1},
		"images on 2.1":              {testutil.ToFloat64(m.images.WithLabelValues(flash)), 1},
		"images on Pro":              {testutil.ToFloat64(m.images.WithLabelValues(pro)), 0},
		"cost on 2.1":                {testutil.ToFloat64(m.cost.WithLabelValues(flash)), 0.067},
		"upstream requests timed":    {float64(testutil.CollectAndCount(m.upstream)), 2},
		"limiter waits, both models": {float64(testutil.CollectAndCount(m.queueWait)), 2},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", name, c.got, c.want)
		}
	}
	text := scrapeText(t, m)
	for _, want := range []string{
		`nanobanana_upstream_request_duration_seconds_count{model="gemini-nano-banana-2.1"} 2`,
		`nanobanana_upstream_request_duration_seconds_sum{model="gemini-nano-banana-2.1"} 9`,
		`nanobanana_limiter_wait_seconds_sum{model="gemini-nano-banana-2.1"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the scrape lacks %s", want)
		}
	}
}

// A batch answer has no latency or queue of its own: it counts an image and its cost only.
func TestBatchAnswerCountsImageAndCostOnly(t *testing.T) {
	m := New()
	m.Generation(gemini.CallRecord{Model: flash, Batch: true, Attempts: 1, CostUSD: 0.02})
	if got := testutil.ToFloat64(m.images.WithLabelValues(flash)); got != 1 {
		t.Errorf("images %v, want 1", got)
	}
	if n := testutil.CollectAndCount(m.queueWait) + testutil.CollectAndCount(m.upstream); n != 0 {
		t.Errorf("a batch answer observed %d latency series, want none", n)
	}
}

// Tool calls: by outcome, failures by category, the in-flight gauge back to zero after each.
func TestToolCallsByOutcomeAndInFlight(t *testing.T) {
	m := New()
	m.CallStarted("generate_image")
	m.CallStarted("edit_image")
	if got := testutil.ToFloat64(m.inflight); got != 2 {
		t.Errorf("in flight %v while two calls run, want 2", got)
	}
	m.CallFinished("generate_image", "ok", "", 3*time.Second)
	m.CallFinished("edit_image", "error", "invalid_request", time.Millisecond)
	if got := testutil.ToFloat64(m.inflight); got != 0 {
		t.Errorf("in flight %v after both ended, want 0", got)
	}
	if got := testutil.ToFloat64(m.toolErrors.WithLabelValues("edit_image", "invalid_request")); got != 1 {
		t.Errorf("edit_image invalid_request errors %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.toolCalls.WithLabelValues("generate_image", "ok")); got != 1 {
		t.Errorf("generate_image ok calls %v, want 1", got)
	}
}

// The model label stays bounded whatever names reach it.
func TestModelLabelIsBounded(t *testing.T) {
	m := New()
	for i := range maxModels + 10 {
		m.Generation(gemini.CallRecord{Model: fmt.Sprintf("gemini-x-%d", i), Batch: true})
	}
	if got := testutil.ToFloat64(m.images.WithLabelValues("other")); got != 10 {
		t.Errorf("%v images counted as other, want the 10 past the first %d models", got, maxModels)
	}
	if n := testutil.CollectAndCount(m.images); n != maxModels+1 {
		t.Errorf("%d model series, want at most %d plus other", n, maxModels)
	}
}

// Breakers and the store are read at each scrape: an open breaker is 2, a store that does not
// answer is down, and the scrape still answers.
func TestBreakersAndStoreAreReadAtScrape(t *testing.T) {
	m := New()
	storeErr := error(nil)
	m.Watch(func() []gemini.BreakerStatus {
		return []gemini.BreakerStatus{{Model: pro, State: "open"}, {Model: flash, State: "closed"}}
	}, func(context.Context) error { return storeErr })
	text := scrapeText(t, m)
	for _, want := range []string{`nanobanana_breaker_state{model="gemini-3-pro-image"} 2`,
		`nanobanana_breaker_state{model="gemini-nano-banana-2.1"} 0`, "nanobanana_store_up 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("the scrape lacks %s", want)
		}
	}
	storeErr = errors.New("dial tcp 10.0.0.9:6379: connection refused")
	if text := scrapeText(t, m); !strings.Contains(text, "nanobanana_store_up 0") {
		t.Errorf("a store that fails its ping is not reported down:\n%s", text)
	}
}

// --metrics-addr must look like an address; the sentence says how to write one.
func TestOptionsValidate(t *testing.T) {
	for _, ok := range []string{"", ":9464", "10.0.0.5:9464", "[::1]:9464"} {
		if err := (Options{MetricsAddr: ok}).Validate(); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	err := Options{MetricsAddr: "9464"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Errorf("a bare port: %v", err)
	}
}

// The listener of its own serves /metrics without a token and stops with its context.
func TestServeStopsWithItsContext(t *testing.T) {
	m := New()
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := m.Serve(ctx, "127.0.0.1:0", discard())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "nanobanana_tool_calls_in_flight 0") {
		t.Errorf("status %d:\n%.300s", resp.StatusCode, body)
	}
	if _, err := m.Serve(context.Background(), addr, discard()); err == nil || !strings.Contains(err.Error(), "listening for metrics on") {
		t.Errorf("a second listener on a bound address: %v", err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("the metrics listener still answers after its context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func scrapeText(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape status %d", rec.Code)
	}
	return rec.Body.String()
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

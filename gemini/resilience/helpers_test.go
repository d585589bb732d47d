package resilience

import (
	"context"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"google.golang.org/genai"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience/resiliencetest"
)

// t0 is a fixed start for tests that need no deadline.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// newClock returns a fake clock reading the wall time, so that a real context deadline set
// relative to it means the same instant (the test finishes long before it passes for real).
func newClock() *resiliencetest.FakeClock { return resiliencetest.NewFakeClock(time.Now()) }

// drive runs f on a goroutine and keeps advancing c to its next timer until f returns.
func drive(t *testing.T, c *resiliencetest.FakeClock, f func()) { driveQuiet(t, c, nil, f) }

// driveQuiet is drive that advances only once parked() timers are pending, i.e. when every
// goroutine of f that should be waiting is waiting: the clock never moves under a goroutine
// that is still working.
func driveQuiet(t *testing.T, c *resiliencetest.FakeClock, parked func() int, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	for {
		select {
		case <-done:
			return
		default:
		}
		if n := c.Pending(); n > 0 && (parked == nil || n >= parked()) {
			c.AdvanceNext()
			continue
		}
		runtime.Gosched() // let goroutines reach their next wait; time comes from c
	}
}

func quota429(quotaID, value, delay string) error {
	details := []map[string]any{
		{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []any{map[string]any{
			"quotaMetric": "generativelanguage.googleapis.com/generate_content_paid_tier_requests",
			"quotaId":     quotaID,
			"quotaValue":  value,
		}}},
	}
	if delay != "" {
		details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay})
	}
	return genai.APIError{Code: 429, Status: "RESOURCE_EXHAUSTED", Message: "You exceeded your current quota, please check your plan and billing details.", Details: details}
}

var (
	errPerMinute = func(delay string) error {
		return quota429("GenerateRequestsPerMinutePerProjectPerModel", "10", delay)
	}
	errPerDay  = quota429("GenerateRequestsPerDayPerProjectPerModel", "1000", "")
	err503     = genai.APIError{Code: 503, Status: "UNAVAILABLE", Message: "The model is overloaded. Please try again later."}
	err502     = genai.APIError{Code: 502, Status: "502 Bad Gateway", Message: "<html><body><h1>502 Bad Gateway</h1></body></html>"}
	err500     = genai.APIError{Code: 500, Status: "INTERNAL", Message: "Internal error encountered."}
	err504     = genai.APIError{Code: 504, Status: "DEADLINE_EXCEEDED", Message: "Deadline exceeded."}
	err400     = genai.APIError{Code: 400, Status: "INVALID_ARGUMENT", Message: "Request contains an invalid argument."}
	errSafety  = apierrors.New(apierrors.SafetyBlocked, "The image was blocked by Gemini's safety filter; rephrase the prompt.")
	errNetwork = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
)

// script is a fake upstream: each model answers its list of errors in order (nil: success),
// then succeeds, answering "image from" the model.
type script struct {
	answers map[string][]error
	calls   []string
	at      []time.Time
	clock   Clock
}

func (s *script) call(_ context.Context, c Candidate) (string, error) {
	model := c.ID
	s.calls = append(s.calls, model)
	if s.clock != nil {
		s.at = append(s.at, s.clock.Now())
	}
	a := s.answers[model]
	if len(a) == 0 || a[0] == nil {
		if len(a) > 0 {
			s.answers[model] = a[1:]
		}
		return "image from " + model, nil
	}
	s.answers[model] = a[1:]
	return "", a[0]
}

func (s *script) count(model string) int {
	n := 0
	for _, m := range s.calls {
		if m == model {
			n++
		}
	}
	return n
}

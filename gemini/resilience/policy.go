package resilience

import (
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// Action is what to do after a failed attempt.
type Action int

// The actions.
const (
	Stop     Action = iota // give up and report the failure
	Retry                  // call the same model again after Decision.Wait
	Fallback               // move to the next model in the chain at once
)

// Decision is the policy's answer to one failure.
type Decision struct {
	Action Action
	Wait   time.Duration // before a retry
	// TimeoutFactor, when above 1, stretches the next attempt's own timeout (after a timeout).
	TimeoutFactor float64
	// Reason completes a progress message ("waiting 37 s …", "switching to … …"): "for the
	// per-minute quota of gemini-3-pro-image", "because gemini-3-pro-image is overloaded".
	Reason string
}

// Policy steps, from the issue and the seeds. Backoff for rate limits starts at 1 s on Flash
// models (seed 001) and 5 s on Pro (seed 000), doubling, jittered, capped at 60 s. A 503 rarely
// clears within seconds (seed 000: 30–120 min on Pro), so without a fallback it waits in long
// steps (seed 001: 5, 15, 30, 60 s). A 502/500 gets a short retry or two first.
var (
	overloadSteps = []time.Duration{5 * time.Second, 15 * time.Second, 30 * time.Second, 60 * time.Second}
	shortSteps    = []time.Duration{1 * time.Second, 3 * time.Second}
	networkSteps  = []time.Duration{500 * time.Millisecond, 1 * time.Second, 2 * time.Second, 4 * time.Second}
)

const (
	maxRateWait     = 60 * time.Second
	timeoutFactor   = 1.5 // seed 000: retry a timeout with the read timeout × 1.5
	shortRetries    = 2   // 502/500 retries on one model before the fallback
	timeoutRetries  = 1   // timeouts retried on one model before the fallback
	noImageRetries  = 1   // an empty answer is worth one more try
	backoffJitter   = 0.25
	backoffMultiple = 2
)

// modelTries is one model's failure history within one Do call.
type modelTries struct {
	family string
	counts map[apierrors.Category]int
	rate   *backoff.ExponentialBackOff
}

func newModelTries(family string, clock Clock) *modelTries {
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(initialBackoff(family)),
		backoff.WithMultiplier(backoffMultiple),
		backoff.WithRandomizationFactor(backoffJitter),
		backoff.WithMaxInterval(maxRateWait),
		backoff.WithMaxElapsedTime(0), // bounded by attempts and the deadline instead
		backoff.WithClockProvider(clock),
	)
	return &modelTries{family: family, counts: map[apierrors.Category]int{}, rate: b}
}

func initialBackoff(family string) time.Duration {
	if strings.EqualFold(family, "pro") {
		return 5 * time.Second
	}
	return time.Second
}

// decide applies the policy to the latest failure of a model. canFallback says whether a next
// model exists and the plan allows moving to it; quotaFallback whether quota exhaustion may.
func decide(d apierrors.Diagnosis, err error, t *modelTries, canFallback, quotaFallback bool) Decision {
	t.counts[d.Category]++
	n := t.counts[d.Category] // this failure's number among its kind, from 1
	switch d.Category {
	case apierrors.RateLimited:
		wait := secs(d.RetryAfterSeconds)
		if !retryStated(err) || wait <= 0 {
			wait = t.rate.NextBackOff()
		}
		return Decision{Action: Retry, Wait: wait, Reason: "for " + quotaReason(d)}
	case apierrors.DailyQuota, apierrors.NoFreeTier:
		if canFallback && quotaFallback {
			return Decision{Action: Fallback, Reason: "because " + quotaReason(d) + " is used up"}
		}
		return Decision{Action: Stop}
	case apierrors.Overloaded:
		if canFallback {
			return Decision{Action: Fallback, Reason: "because " + d.Model + " is overloaded"}
		}
		return Decision{Action: Retry, Wait: longStep(n, d), Reason: "because " + d.Model + " is overloaded"}
	case apierrors.BadGateway, apierrors.ServerError:
		if n <= shortRetries {
			return Decision{Action: Retry, Wait: shortSteps[n-1], Reason: serverReason(d)}
		}
		if canFallback {
			return Decision{Action: Fallback, Reason: serverReason(d)}
		}
		return Decision{Action: Retry, Wait: longStep(n-shortRetries, d), Reason: serverReason(d)}
	case apierrors.Timeout:
		if n <= timeoutRetries || !canFallback {
			return Decision{Action: Retry, TimeoutFactor: timeoutFactor, Reason: "because " + d.Model + " timed out"}
		}
		return Decision{Action: Fallback, Reason: "because " + d.Model + " timed out"}
	case apierrors.Network:
		return Decision{Action: Retry, Wait: step(networkSteps, n), Reason: "after a network error"}
	case apierrors.ModelNotFound:
		// A model the upstream does not serve (shut down, or not for this key) is never
		// retried, but the next model of the chain may well be served.
		if canFallback {
			return Decision{Action: Fallback, Reason: "because " + d.Model + " is not served"}
		}
	case apierrors.NoImage:
		if n <= noImageRetries {
			return Decision{Action: Retry, Reason: "because " + d.Model + " answered without an image"}
		}
	}
	// Never retried: invalid_request, unsupported_parameter, auth, location_unsupported,
	// safety_blocked, missing_thought_signature, model_not_found (falls back), cancelled, unknown.
	return Decision{Action: Stop}
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func step(steps []time.Duration, n int) time.Duration {
	if n > len(steps) {
		n = len(steps)
	}
	return steps[n-1]
}

// longStep is the n-th long wait, or what the upstream asked for if longer.
func longStep(n int, d apierrors.Diagnosis) time.Duration {
	w := step(overloadSteps, n)
	if a := secs(d.RetryAfterSeconds); a > w {
		w = a
	}
	return w
}

// retryStated reports whether the upstream itself said when to retry (RetryInfo, Retry-After
// or "retry in N s"). Classify fills 60 s when it did not, and that default must not stand in
// for the backoff.
func retryStated(err error) bool {
	if e, ok := apierrors.As(err); ok && e.Diagnosis.RetryAfterSeconds > 0 {
		return true // our own errors (the limiter's) state their wait exactly
	}
	if err == nil {
		return false
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "retrydelay") || strings.Contains(s, "retry in") ||
		strings.Contains(s, "retry-after") || strings.Contains(s, "retry after")
}

func quotaReason(d apierrors.Diagnosis) string {
	noun := "quota"
	limit := ""
	if q := d.Quota; q != nil {
		switch strings.ToUpper(q.Dimension) {
		case "RPM":
			noun = "per-minute quota"
			if q.Limit > 0 {
				limit = " (" + itoa(q.Limit) + " requests/min)"
			}
		case "IPM":
			noun = "per-minute image quota"
			if q.Limit > 0 {
				limit = " (" + itoa(q.Limit) + " images/min)"
			}
		case "TPM":
			noun = "per-minute token quota"
		case "RPD":
			noun = "daily quota"
			if q.Limit > 0 {
				limit = " (" + itoa(q.Limit) + " requests/day)"
			}
		}
	} else if d.Category == apierrors.RateLimited {
		noun = "per-minute quota"
	} else if d.Category == apierrors.DailyQuota {
		noun = "daily quota"
	}
	if d.Model == "" {
		return "the " + noun + limit
	}
	return "the " + noun + " of " + d.Model + limit
}

func serverReason(d apierrors.Diagnosis) string {
	if d.Category == apierrors.BadGateway {
		return "because " + d.Model + " answered 502 Bad Gateway"
	}
	return "because " + d.Model + " had an internal error"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

package geminitest

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
)

// Quota is one model's rate limits; 0 means unlimited.
type Quota struct {
	RPM int // requests per rolling minute
	RPD int // requests per day; the day resets at midnight America/Los_Angeles
	IPM int // output images per rolling minute
}

// dimension names one quota dimension and how the API labels it. The per-day
// and per-minute request ids are the ones seen in real bodies (paid tier has
// no "-FreeTier" suffix); the image-per-minute metric/id are modelled on them.
type dimension struct {
	name, metric, quotaID string
}

var (
	dimRPM = dimension{"RPM", "generativelanguage.googleapis.com/generate_requests_per_model", "GenerateRequestsPerMinutePerProjectPerModel"}
	dimRPD = dimension{"RPD", "generativelanguage.googleapis.com/generate_requests_per_model_per_day", "GenerateRequestsPerDayPerProjectPerModel"}
	dimIPM = dimension{"IPM", "generativelanguage.googleapis.com/generate_images_per_model", "GenerateImagesPerMinutePerProjectPerModel"}
	// Free-tier metric that answers "limit: 0" for models without a free tier.
	dimFree = dimension{"RPD", "generativelanguage.googleapis.com/generate_content_free_tier_requests", "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}
)

// pacific is where the daily quota resets. If the tz database is missing,
// a fixed UTC-8 offset keeps the simulator working.
var pacific = func() *time.Location {
	if loc, err := time.LoadLocation("America/Los_Angeles"); err == nil {
		return loc
	}
	return time.FixedZone("PST", -8*3600)
}()

type modelUsage struct {
	requests []time.Time // accepted requests in the last minute
	images   []time.Time // images produced in the last minute
	day      string      // Pacific date of dayCount
	dayCount int
}

// quotas tracks usage per model under one mutex; calls are cheap.
type quotas struct {
	mu     sync.Mutex
	limits map[string]Quota
	usage  map[string]*modelUsage
}

func newQuotas(limits map[string]Quota) *quotas {
	l := make(map[string]Quota, len(limits))
	for k, v := range limits {
		l[k] = v
	}
	return &quotas{limits: l, usage: map[string]*modelUsage{}}
}

func (q *quotas) reset() {
	q.mu.Lock()
	q.usage = map[string]*modelUsage{}
	q.mu.Unlock()
}

// admit checks the model's limits at now; when one is exceeded it returns the
// dimension, the limit and the real remaining wait. On success it records the
// request and its images.
func (q *quotas) admit(model string, now time.Time, images int) (dim dimension, limit int, wait time.Duration, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	lim, has := q.limits[model]
	if !has || (lim.RPM == 0 && lim.RPD == 0 && lim.IPM == 0) {
		return dimension{}, 0, 0, true
	}
	u := q.usage[model]
	if u == nil {
		u = &modelUsage{}
		q.usage[model] = u
	}
	u.requests = prune(u.requests, now)
	u.images = prune(u.images, now)
	day := now.In(pacific).Format(time.DateOnly)
	if u.day != day {
		u.day, u.dayCount = day, 0
	}
	if lim.RPD > 0 && u.dayCount >= lim.RPD {
		return dimRPD, lim.RPD, untilPacificMidnight(now), false
	}
	if lim.RPM > 0 && len(u.requests) >= lim.RPM {
		return dimRPM, lim.RPM, u.requests[len(u.requests)-lim.RPM].Add(time.Minute).Sub(now), false
	}
	if lim.IPM > 0 && len(u.images)+images > lim.IPM {
		wait := time.Minute
		if i := len(u.images) + images - lim.IPM - 1; i < len(u.images) {
			wait = u.images[i].Add(time.Minute).Sub(now)
		}
		return dimIPM, lim.IPM, wait, false
	}
	u.requests = append(u.requests, now)
	for range images {
		u.images = append(u.images, now)
	}
	u.dayCount++
	return dimension{}, 0, 0, true
}

func prune(ts []time.Time, now time.Time) []time.Time {
	cut := now.Add(-time.Minute)
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	return append(ts[:0], ts[i:]...)
}

func untilPacificMidnight(now time.Time) time.Duration {
	p := now.In(pacific)
	next := time.Date(p.Year(), p.Month(), p.Day()+1, 0, 0, 0, 0, pacific)
	return next.Sub(now)
}

// quotaExceeded builds the Gemini API 429 body: the message lists the metric
// and ends "Please retry in N s." (fractional seconds), details are Help,
// QuotaFailure (with quotaValue) and RetryInfo (whole seconds), in the order
// seen in captured bodies.
func quotaExceeded(d dimension, model string, limit int, wait time.Duration) rpcStatus {
	wait = max(wait, time.Millisecond)
	secs := wait.Seconds()
	msg := "You exceeded your current quota, please check your plan and billing details. " +
		"For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. " +
		"To monitor your current usage, head to: https://ai.dev/rate-limit. \n" +
		fmt.Sprintf("* Quota exceeded for metric: %s, limit: %d, model: %s\n", d.metric, limit, model) +
		"Please retry in " + strconv.FormatFloat(secs, 'f', -1, 64) + "s."
	return rpcStatus{Code: 429, Status: "RESOURCE_EXHAUSTED", Message: msg, Details: []map[string]any{
		{"@type": typeHelp, "links": []map[string]any{{
			"description": "Learn more about Gemini API quotas",
			"url":         "https://ai.google.dev/gemini-api/docs/rate-limits"}}},
		{"@type": typeQuotaFailure, "violations": []map[string]any{{
			"quotaMetric":     d.metric,
			"quotaId":         d.quotaID,
			"quotaDimensions": map[string]any{"location": "global", "model": model},
			"quotaValue":      strconv.Itoa(limit)}}},
		{"@type": typeRetryInfo, "retryDelay": strconv.FormatInt(int64(math.Floor(secs)), 10) + "s"},
	}}
}

// vertexExhausted is Vertex AI's generic dynamic-shared-quota 429.
func vertexExhausted() rpcStatus {
	return rpcStatus{Code: 429, Status: "RESOURCE_EXHAUSTED",
		Message: "Resource exhausted. Please try again later. Please refer to https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details."}
}

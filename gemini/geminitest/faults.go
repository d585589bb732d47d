package geminitest

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind names one way the upstream can misbehave.
type FaultKind string

// The fault kinds. The string values are the spec tokens ParseFaults accepts.
const (
	KindRateLimited     FaultKind = "429"         // per-minute quota, RetryInfo = Fault.Delay
	KindDailyQuota      FaultKind = "429-day"     // per-day quota (quotaId …PerDay…)
	KindNoFreeTier      FaultKind = "429-free"    // free tier "limit: 0"
	KindVertexExhausted FaultKind = "429-vertex"  // Vertex generic RESOURCE_EXHAUSTED
	KindInvalidKey      FaultKind = "400-key"     // API_KEY_INVALID
	KindPermission      FaultKind = "403"         // PERMISSION_DENIED (API disabled)
	KindNotFound        FaultKind = "404"         // model NOT_FOUND
	KindInternal        FaultKind = "500"         // INTERNAL
	KindBadGateway      FaultKind = "502"         // HTML body from a proxy
	KindOverloaded      FaultKind = "503"         // "The model is overloaded."
	KindDeadline        FaultKind = "504"         // DEADLINE_EXCEEDED
	KindSlow            FaultKind = "slow"        // wait Fault.Delay, then answer normally
	KindHang            FaultKind = "hang"        // never answer; ends when the client gives up
	KindReset           FaultKind = "reset"       // TCP reset before any response
	KindTruncated       FaultKind = "truncated"   // 200 headers, JSON body cut mid-way
	KindImageSafety     FaultKind = "safety"      // finishReason IMAGE_SAFETY
	KindImageProhibited FaultKind = "prohibited"  // finishReason IMAGE_PROHIBITED_CONTENT
	KindImageOther      FaultKind = "image-other" // finishReason IMAGE_OTHER
	KindNoImage         FaultKind = "no-image"    // finishReason NO_IMAGE, text only
	KindPromptBlocked   FaultKind = "blocked"     // promptFeedback.blockReason, no candidates
	KindLocation        FaultKind = "location"    // 400 FAILED_PRECONDITION, user location not supported
	// Model states rather than per-call faults: "MODEL:gone" (shut down: 404 and absent
	// from models.list) and "MODEL:retiring[=2027-01-15]" (answers carry modelStatus).
	KindGone          FaultKind = "gone"
	KindRetiring      FaultKind = "retiring"
	defaultRetryDelay           = 37 * time.Second
	defaultSlowDelay            = 2 * time.Second
)

var allKinds = []FaultKind{KindRateLimited, KindDailyQuota, KindNoFreeTier, KindVertexExhausted,
	KindInvalidKey, KindPermission, KindNotFound, KindInternal, KindBadGateway, KindOverloaded,
	KindDeadline, KindSlow, KindHang, KindReset, KindTruncated, KindImageSafety,
	KindImageProhibited, KindImageOther, KindNoImage, KindPromptBlocked, KindLocation, KindGone, KindRetiring}

// Fault is one scripted misbehaviour of a generateContent call.
type Fault struct {
	Kind FaultKind
	// Delay is the RetryInfo delay of a 429 (default 37s) or the wait of slow
	// (default 2s).
	Delay time.Duration
	// Reason is the promptFeedback.blockReason of KindPromptBlocked (default
	// PROHIBITED_CONTENT).
	Reason string
	// Date is the retirement time of KindRetiring (default 30 days from now).
	Date time.Time
}

// RateLimited is a per-minute 429 whose RetryInfo says retry after d.
func RateLimited(d time.Duration) Fault { return Fault{Kind: KindRateLimited, Delay: d} }

// DailyQuota is a per-day 429.
func DailyQuota() Fault { return Fault{Kind: KindDailyQuota} }

// NoFreeTier is the 429 with "limit: 0" a key without billing gets.
func NoFreeTier() Fault { return Fault{Kind: KindNoFreeTier} }

// VertexExhausted is Vertex AI's generic 429 without QuotaFailure details.
func VertexExhausted() Fault { return Fault{Kind: KindVertexExhausted} }

// InvalidKey is the 400 API_KEY_INVALID answer.
func InvalidKey() Fault { return Fault{Kind: KindInvalidKey} }

// PermissionDenied is a 403 PERMISSION_DENIED (API not enabled for the project).
func PermissionDenied() Fault { return Fault{Kind: KindPermission} }

// NotFound is the 404 NOT_FOUND answer for the requested model.
func NotFound() Fault { return Fault{Kind: KindNotFound} }

// Internal is a 500 INTERNAL.
func Internal() Fault { return Fault{Kind: KindInternal} }

// BadGateway is a 502 with an HTML body, as a front-end proxy sends it.
func BadGateway() Fault { return Fault{Kind: KindBadGateway} }

// Overloaded is the 503 UNAVAILABLE "The model is overloaded." answer.
func Overloaded() Fault { return Fault{Kind: KindOverloaded} }

// DeadlineExceeded is a 504 DEADLINE_EXCEEDED.
func DeadlineExceeded() Fault { return Fault{Kind: KindDeadline} }

// Slow delays the normal answer by d (honouring the request context).
func Slow(d time.Duration) Fault { return Fault{Kind: KindSlow, Delay: d} }

// Hang never answers; the request ends when the client gives up or the server closes.
func Hang() Fault { return Fault{Kind: KindHang} }

// Reset resets the TCP connection without answering.
func Reset() Fault { return Fault{Kind: KindReset} }

// Truncated sends 200 headers and half of the JSON body, then closes.
func Truncated() Fault { return Fault{Kind: KindTruncated} }

// ImageSafety answers 200 with finishReason IMAGE_SAFETY and no content.
func ImageSafety() Fault { return Fault{Kind: KindImageSafety} }

// ImageProhibited answers 200 with finishReason IMAGE_PROHIBITED_CONTENT.
func ImageProhibited() Fault { return Fault{Kind: KindImageProhibited} }

// ImageOther answers 200 with finishReason IMAGE_OTHER.
func ImageOther() Fault { return Fault{Kind: KindImageOther} }

// NoImage answers 200 with text only and finishReason NO_IMAGE.
func NoImage() Fault { return Fault{Kind: KindNoImage} }

// PromptBlocked answers 200 with promptFeedback.blockReason = reason and no
// candidates; "" means PROHIBITED_CONTENT.
func PromptBlocked(reason string) Fault { return Fault{Kind: KindPromptBlocked, Reason: reason} }

// UserLocation is the 400 FAILED_PRECONDITION a key gets from a country the API does not
// serve.
func UserLocation() Fault { return Fault{Kind: KindLocation} }

// FaultRule applies a fault to calls of a model ("" = any): to each call with
// Probability, or to the first Count calls.
type FaultRule struct {
	Model       string
	Fault       Fault
	Probability float64 // used when Count == 0
	Count       int
}

const faultGrammar = `want rules separated by commas, each [model:]kind[=duration][@probability|xcount], ` +
	`e.g. "503@0.3,429=20s@0.1" or "gemini-3-pro-image:503x5"; kinds: `

// ParseFaults parses a --simulate-faults spec such as "503@0.3,429@0.1"
// (each call fails with that probability) or "gemini-3-pro-image:503x5" (the
// first 5 calls of that model fail). A rule without @ or x applies to every
// call. "=duration" sets the retry delay of 429 or the wait of slow.
func ParseFaults(spec string) ([]FaultRule, error) {
	var rules []FaultRule
	for _, raw := range strings.Split(spec, ",") {
		item := strings.TrimSpace(raw)
		if item == "" {
			continue
		}
		r, err := parseRule(item)
		if err != nil {
			return nil, fmt.Errorf("fault rule %q: %w", item, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func parseRule(item string) (FaultRule, error) {
	r := FaultRule{Probability: 1}
	if model, rest, ok := strings.Cut(item, ":"); ok {
		if model == "" {
			return r, fmt.Errorf("empty model before ':'; %s", kindList())
		}
		r.Model, item = model, rest
	}
	if body, p, ok := strings.Cut(item, "@"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f <= 0 || f > 1 {
			return r, fmt.Errorf("probability %q is not a number in (0,1]", p)
		}
		r.Probability, item = f, body
	} else if i := strings.LastIndex(item, "x"); i > 0 && isDigits(item[i+1:]) {
		n, err := strconv.Atoi(item[i+1:])
		if err != nil || n <= 0 {
			return r, fmt.Errorf("count %q is not a positive integer", item[i+1:])
		}
		r.Count, item = n, item[:i]
	}
	kind, dur, hasDur := strings.Cut(item, "=")
	r.Fault = Fault{Kind: FaultKind(kind)}
	if !knownKind(r.Fault.Kind) {
		return r, fmt.Errorf("unknown fault kind %q; %s", kind, kindList())
	}
	if r.Fault.Kind == KindGone || r.Fault.Kind == KindRetiring {
		if r.Model == "" || r.Count > 0 || r.Probability != 1 {
			return r, fmt.Errorf("%s is a model's state: write MODEL:%s, without @ or x", kind, kind)
		}
		if hasDur {
			if r.Fault.Kind != KindRetiring {
				return r, fmt.Errorf("only retiring takes =date")
			}
			t, err := time.Parse("2006-01-02", dur)
			if err != nil {
				return r, fmt.Errorf("retirement date %q is not a date like 2027-01-15", dur)
			}
			r.Fault.Date = t
		}
		return r, nil
	}
	if hasDur {
		if r.Fault.Kind != KindRateLimited && r.Fault.Kind != KindSlow {
			return r, fmt.Errorf("only 429 and slow take =duration")
		}
		d, err := time.ParseDuration(dur)
		if err != nil || d < 0 {
			return r, fmt.Errorf("duration %q is not valid (e.g. 20s, 1m30s)", dur)
		}
		r.Fault.Delay = d
	}
	return r, nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func knownKind(k FaultKind) bool {
	for _, x := range allKinds {
		if x == k {
			return true
		}
	}
	return false
}

func kindList() string {
	names := make([]string, len(allKinds))
	for i, k := range allKinds {
		names[i] = string(k)
	}
	sort.Strings(names)
	return faultGrammar + strings.Join(names, ", ")
}

// injector holds the scripted queue and the configured rules.
type injector struct {
	mu     sync.Mutex
	queue  []queued
	rules  []FaultRule
	counts []int // remaining count per rule
	rng    *rand.Rand
}

type queued struct {
	model string
	fault Fault
}

func newInjector(rules []FaultRule, seed int64) *injector {
	in := &injector{rules: rules, rng: rand.New(rand.NewPCG(uint64(seed), 0x6e616e6f62616e61))}
	in.resetCounts()
	return in
}

func (in *injector) resetCounts() {
	in.counts = make([]int, len(in.rules))
	for i, r := range in.rules {
		in.counts[i] = r.Count
	}
}

func (in *injector) enqueue(model string, faults []Fault) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, f := range faults {
		in.queue = append(in.queue, queued{model, f})
	}
}

func (in *injector) reset() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.queue = nil
	in.resetCounts()
}

// next returns the fault for one call to model: the first queued fault for it,
// else the first matching count rule with calls left, else a probability rule.
func (in *injector) next(model string) (Fault, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, q := range in.queue {
		if q.model == "" || q.model == model {
			in.queue = append(in.queue[:i:i], in.queue[i+1:]...)
			return q.fault, true
		}
	}
	for i, r := range in.rules {
		if r.Model != "" && r.Model != model {
			continue
		}
		if r.Count > 0 {
			if in.counts[i] > 0 {
				in.counts[i]--
				return r.Fault, true
			}
			continue
		}
		if in.rng.Float64() < r.Probability {
			return r.Fault, true
		}
	}
	return Fault{}, false
}

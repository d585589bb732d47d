package errors

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// facts is what an upstream error says, whatever shape it arrived in: a genai.APIError, a JSON
// body, an SDK string from another language. diagnose turns facts into a Diagnosis.
type facts struct {
	code       int    // HTTP status, 0 when unknown
	status     string // google.rpc status word, e.g. RESOURCE_EXHAUSTED
	httpReason string // e.g. "Bad Gateway" when only an HTTP status line was seen
	icode      string // Interactions API string code, e.g. rate_limit_exceeded
	message    string // the upstream message
	extra      string // other upstream words worth matching (field violations, details)

	violations []violation
	retryAfter float64 // seconds; 0 when unknown
	reasons    []string
	links      []string
	model      string
	location   string
}

type violation struct {
	id, metric, model, value string
}

func (f *facts) empty() bool {
	return f.code == 0 && f.status == "" && f.icode == "" && f.message == ""
}

// lower returns everything matchable, lower-cased.
func (f *facts) lower() string {
	return strings.ToLower(f.message + "\n" + f.extra + "\n" + strings.Join(f.reasons, " "))
}

func (f *facts) hasReason(rs ...string) bool {
	for _, have := range f.reasons {
		for _, r := range rs {
			if strings.EqualFold(have, r) {
				return true
			}
		}
	}
	return false
}

// addDetails walks google.rpc detail objects (QuotaFailure, RetryInfo, ErrorInfo, Help,
// BadRequest, LocalizedMessage) and the legacy errors[] list, at any depth.
func (f *facts) addDetails(v any) {
	budget := 2000
	f.walk(v, 0, &budget)
}

func (f *facts) walk(v any, depth int, budget *int) {
	*budget--
	if depth > 24 || *budget < 0 {
		return
	}
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			f.walk(e, depth+1, budget)
		}
	case []map[string]any:
		for _, e := range t {
			f.walk(e, depth+1, budget)
		}
	case map[string]any:
		if id, ok := t["quotaId"].(string); ok {
			vi := violation{id: id}
			vi.metric, _ = t["quotaMetric"].(string)
			vi.value = scalarString(t["quotaValue"])
			if dims, ok := t["quotaDimensions"].(map[string]any); ok {
				vi.model, _ = dims["model"].(string)
				if loc, ok := dims["location"].(string); ok && f.location == "" && loc != "global" {
					f.location = loc
				}
			}
			f.violations = append(f.violations, vi)
		}
		if rd, ok := t["retryDelay"]; ok {
			if s := parseDelay(rd); s > 0 {
				f.retryAfter = s
			}
		}
		if r, ok := t["reason"].(string); ok && r != "" {
			f.reasons = append(f.reasons, r)
		}
		if md, ok := t["metadata"].(map[string]any); ok {
			if q, ok := md["quota_limit"].(string); ok {
				f.violations = append(f.violations, violation{id: q, metric: scalarString(md["quota_metric"]), value: scalarString(md["quota_limit_value"])})
			}
		}
		if u, ok := t["url"].(string); ok && strings.HasPrefix(u, "http") {
			f.links = append(f.links, u)
		}
		if d, ok := t["description"].(string); ok {
			f.extra += "\n" + d
		}
		if at, _ := t["@type"].(string); strings.HasSuffix(at, "LocalizedMessage") {
			if m, ok := t["message"].(string); ok {
				f.extra += "\n" + m
			}
		}
		for k, e := range t {
			switch e.(type) {
			case map[string]any, []any:
				if k != "quotaDimensions" {
					f.walk(e, depth+1, budget)
				}
			}
		}
	}
}

func scalarString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case json.Number:
		return t.String()
	}
	return ""
}

// parseDelay reads a protobuf Duration: "37s", "31.44s", "1.5ms", or {"seconds": 37}.
func parseDelay(v any) float64 {
	switch t := v.(type) {
	case string:
		if d, err := time.ParseDuration(strings.TrimSpace(t)); err == nil && d > 0 {
			return d.Seconds()
		}
	case map[string]any:
		s, _ := t["seconds"].(float64)
		if s == 0 {
			if str, ok := t["seconds"].(string); ok {
				s, _ = strconv.ParseFloat(str, 64)
			}
		}
		n, _ := t["nanos"].(float64)
		return s + n/1e9
	}
	return 0
}

var (
	retryInRE    = regexp.MustCompile(`(?i)(?:retry|try again) (?:in|after) ([0-9]{1,6}(?:\.[0-9]{1,12})?)\s?(ms|s|sec|seconds?|m|min|minutes?|h|hours?)\b`)
	retryDelayRE = regexp.MustCompile(`(?i)retry_?delay["']?\s*[:=]\s*["']?([0-9]{1,6}(?:\.[0-9]{1,12})?)s`)
	retryProtoRE = regexp.MustCompile(`retry_delay\s*\{\s*seconds:\s*([0-9]{1,6})`)
	retryAfterRE = regexp.MustCompile(`(?i)retry-after:\s*([0-9]{1,6})\b`)
	resetAfterRE = regexp.MustCompile(`(?i)reset after (?:([0-9]{1,3})h)?\s?(?:([0-9]{1,3})m)?\s?(?:([0-9]{1,3})s)?`)
	quotaLineRE  = regexp.MustCompile(`(?i)quota exceeded for metric:\s*([A-Za-z0-9_./-]+),\s*limit:\s*([0-9]+)(?:,\s*model:\s*([A-Za-z0-9_.-]+))?`)
	quotaIDRE    = regexp.MustCompile(`(?i)(?:quotaId|quota_id|quota_limit)["']?\s*[:=]\s*["']?([A-Za-z][A-Za-z0-9_-]{3,120})`)
	quotaValRE   = regexp.MustCompile(`(?i)(?:quotaValue|quota_limit_value)["']?\s*[:=]\s*["']?([0-9]{1,12})`)
	reasonRE     = regexp.MustCompile(`(?:reason|Reason)["']?\s*[:=]\s*["']?([A-Z][A-Z_]{3,60}|rateLimitExceeded|backendError)`)
	retryInfoRE  = regexp.MustCompile(`(?i)retry in ([0-9]{1,6}(?:\.[0-9]+)?)s`)
	modelPathRE  = regexp.MustCompile(`models/([A-Za-z0-9][A-Za-z0-9_.-]{1,80})`)
	modelKeyRE   = regexp.MustCompile(`(?i)\bmodel["']?\s*[:=]\s*["']?(gemini-[A-Za-z0-9_.-]{1,80}|imagen-[A-Za-z0-9_.-]{1,80}|nano-banana[A-Za-z0-9_.-]{0,40})`)
	locationRE   = regexp.MustCompile(`locations/([a-z0-9-]{2,40})/`)
	limitZeroRE  = regexp.MustCompile(`(?i)limit:\s*0\b`)
)

// scan reads the facts that any text shape carries: retry delays, quota ids and values,
// ErrorInfo reasons, model ids and Vertex locations. It complements addDetails for text
// that is not JSON (Go map printing, Python reprs, log lines).
func (f *facts) scan(text string) {
	// RetryInfo is whole seconds ("31s") while the message may say "Please retry in 31.44s":
	// honour the longer of the two, so a retry is never early.
	if s := scanRetry(text); s > f.retryAfter {
		f.retryAfter = s
	}
	for _, m := range quotaLineRE.FindAllStringSubmatch(text, 8) {
		f.violations = append(f.violations, violation{metric: m[1], value: m[2], model: m[3]})
	}
	ids := quotaIDRE.FindAllStringSubmatch(text, 8)
	vals := quotaValRE.FindAllStringSubmatch(text, 8)
	for i, m := range ids {
		if f.hasViolation(m[1]) {
			continue
		}
		v := violation{id: m[1]}
		if len(vals) == len(ids) {
			v.value = vals[i][1]
		}
		f.violations = append(f.violations, v)
	}
	if len(ids) == 0 {
		for _, m := range vals {
			f.violations = append(f.violations, violation{value: m[1]})
		}
	}
	for _, m := range reasonRE.FindAllStringSubmatch(text, 8) {
		if !f.hasReason(m[1]) {
			f.reasons = append(f.reasons, m[1])
		}
	}
	if f.model == "" {
		if m := modelPathRE.FindStringSubmatch(text); m != nil {
			f.model = strings.TrimRight(m[1], ".:`'\"")
		} else if m := modelKeyRE.FindStringSubmatch(text); m != nil {
			f.model = strings.TrimRight(m[1], ".:`'\"")
		}
	}
	if f.location == "" {
		if m := locationRE.FindStringSubmatch(text); m != nil {
			f.location = m[1]
		}
	}
}

func (f *facts) hasViolation(id string) bool {
	for _, v := range f.violations {
		if v.id == id {
			return true
		}
	}
	return false
}

func scanRetry(text string) float64 {
	if m := retryInRE.FindStringSubmatch(text); m != nil {
		n, _ := strconv.ParseFloat(m[1], 64)
		switch u := strings.ToLower(m[2]); {
		case u == "ms":
			return n / 1000
		case strings.HasPrefix(u, "h"):
			return n * 3600
		case u == "m" || strings.HasPrefix(u, "min"):
			return n * 60
		}
		return n
	}
	for _, re := range []*regexp.Regexp{retryDelayRE, retryProtoRE, retryAfterRE, retryInfoRE} {
		if m := re.FindStringSubmatch(text); m != nil {
			n, _ := strconv.ParseFloat(m[1], 64)
			return n
		}
	}
	if m := resetAfterRE.FindStringSubmatch(text); m != nil && (m[1] != "" || m[2] != "" || m[3] != "") {
		h, _ := strconv.Atoi(m[1])
		mi, _ := strconv.Atoi(m[2])
		s, _ := strconv.Atoi(m[3])
		return float64(h*3600 + mi*60 + s)
	}
	return 0
}

// dimension names a quota id's or metric's dimension: RPM, TPM, RPD or IPM.
func dimension(v violation) string {
	s := strings.ToLower(v.id + " " + v.metric)
	switch {
	case strings.Contains(s, "perday") || strings.Contains(s, "per_day") || strings.Contains(s, "daily"):
		return "RPD"
	case strings.Contains(s, "token"):
		return "TPM"
	case strings.Contains(s, "image"):
		return "IPM"
	case strings.Contains(s, "request") || strings.Contains(s, "perminute"):
		return "RPM"
	}
	return ""
}

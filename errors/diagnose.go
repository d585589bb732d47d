package errors

import (
	"regexp"
	"strconv"
	"strings"
)

var statusLineRE = regexp.MustCompile(`^([1-5][0-9]{2})\s+(.*)$`)

// normalize settles code and status: the SDK puts "502 Bad Gateway" in Status for non-JSON
// bodies, Interactions API errors carry string codes, and some texts give only one of the two.
func (f *facts) normalize() {
	st := strings.TrimSpace(f.status)
	if m := statusLineRE.FindStringSubmatch(st); m != nil {
		if f.code == 0 {
			f.code, _ = strconv.Atoi(m[1])
		}
		f.httpReason = m[2]
		st = ""
	}
	if st != "" && strings.ToUpper(st) == st && !strings.ContainsAny(st, " .") {
		f.status = st
	} else if st != "" {
		if f.httpReason == "" {
			f.httpReason = st
		}
		f.status = ""
	}
	if f.icode != "" {
		if c, ok := interactionsCodes[strings.ToLower(f.icode)]; ok && f.code == 0 {
			f.code = c
		}
	}
	if f.code == 0 && f.status != "" {
		f.code = statusCodes[f.status]
	}
	if f.status == "" && f.code != 0 {
		f.status = codeStatus[f.code]
	}
}

// The google.rpc codes and their usual HTTP statuses.
var statusCodes = map[string]int{
	"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400,
	"UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404, "ALREADY_EXISTS": 409,
	"ABORTED": 409, "RESOURCE_EXHAUSTED": 429, "CANCELLED": 499, "UNKNOWN": 500, "INTERNAL": 500,
	"DATA_LOSS": 500, "UNIMPLEMENTED": 501, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
}

var codeStatus = map[int]string{
	400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
	429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED",
	503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}

// The Interactions API's string codes (ai.google.dev/gemini-api/docs/api-errors).
var interactionsCodes = map[string]int{
	"invalid_request": 400, "failed_precondition": 400, "out_of_range": 416, "parameter_unknown": 400,
	"authentication": 401, "payment_required": 402, "permission_denied": 403, "not_found": 404,
	"model_not_found": 404, "already_exists": 409, "aborted": 409, "rate_limit_exceeded": 429,
	"quota_exceeded": 429, "too_many_requests": 429, "cancelled": 499, "api_error": 500,
	"internal": 500, "unimplemented": 501, "service_unavailable": 503, "unavailable": 503,
	"deadline_exceeded": 504, "resource_exhausted": 429, "invalid_argument": 400,
	"unauthenticated": 401, "overloaded": 503,
}

// verdict is a category and case with the particulars the summary needs.
type verdict struct {
	cat         Category
	kase        string
	dim         string
	limit       int64
	quotaID     string
	metric      string
	replacement string
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// decide picks the category. Specific messages win over status codes: a 400 about a thought
// signature is not an ordinary invalid request, and a 404 for a Vertex region is not a typo.
func decide(f *facts, cfg config) verdict {
	t := f.lower()
	ic := strings.ToLower(f.icode)
	switch {
	case containsAny(t, "thought_signature", "thought signature", "thoughtsignature", "missing_thought_signature"):
		return verdict{cat: MissingThoughtSignature}
	case containsAny(t, "location is not supported", "location not supported", "unsupported_country", "country is not supported", "region is not supported"):
		return verdict{cat: LocationUnsupported, kase: "user_location"}
	case containsAny(t, "api keys are not supported by this api"):
		return verdict{cat: Auth, kase: "vertex_api_key"}
	case f.hasReason("API_KEY_INVALID") || containsAny(t, "api key not valid", "api_key_invalid", "invalid api key", "api key is invalid", "invalid_api_key", "provided api key is invalid"):
		return verdict{cat: Auth, kase: "invalid_key"}
	case f.hasReason("API_KEY_EXPIRED") || containsAny(t, "api key expired", "api_key_expired"):
		return verdict{cat: Auth, kase: "expired_key"}
	case f.hasReason("SERVICE_DISABLED") || containsAny(t, "has not been used in project", "service_disabled"):
		return verdict{cat: Auth, kase: "service_disabled"}
	case f.hasReason("BILLING_DISABLED") || ic == "payment_required" || f.code == 402 ||
		(f.code != 429 && containsAny(t, "billing_disabled", "billing account", "billing to be enabled", "enable billing", "billing is disabled", "prepayment", "prepaid")):
		if f.code != 429 && !containsAny(t, "location") {
			return verdict{cat: NoFreeTier, kase: "billing_disabled"}
		}
	case f.hasReason("CONSUMER_SUSPENDED", "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "IAM_PERMISSION_DENIED", "API_KEY_SERVICE_BLOCKED", "API_KEY_HTTP_REFERRER_BLOCKED", "API_KEY_IP_ADDRESS_BLOCKED", "API_KEY_ANDROID_APP_BLOCKED", "API_KEY_IOS_APP_BLOCKED", "CREDENTIALS_MISSING", "ACCOUNT_STATE_INVALID"):
		return verdict{cat: Auth}
	}
	if containsAny(t, "publisher model") && containsAny(t, "not found", "does not have access") {
		return publisherNotFound(f, cfg)
	}
	is4xx := f.code == 0 || (f.code >= 400 && f.code < 500 && f.code != 429 && f.code != 404 && f.code != 401 && f.code != 403 && f.code != 499)
	if is4xx && (ic == "parameter_unknown" || ic == "out_of_range" || ic == "unimplemented" || unsupportedParam(t)) {
		if f.code != 0 || f.status != "" || ic != "" {
			return verdict{cat: UnsupportedParameter}
		}
	}

	switch {
	case f.code == 429 || f.status == "RESOURCE_EXHAUSTED" || ic == "rate_limit_exceeded" || ic == "quota_exceeded" || ic == "too_many_requests":
		return quotaVerdict(f, cfg, t)
	case f.code == 502:
		return verdict{cat: BadGateway}
	case f.code == 503 || f.status == "UNAVAILABLE" || ic == "service_unavailable":
		return overloadVerdict(f, cfg)
	case f.code == 504 || f.status == "DEADLINE_EXCEEDED" || f.code == 408:
		return verdict{cat: Timeout}
	case f.code == 499 || f.status == "CANCELLED":
		return verdict{cat: Cancelled}
	case f.code == 500 || f.status == "INTERNAL" || f.code == 501 && !is4xx:
		return verdict{cat: ServerError}
	case f.code == 401 || f.code == 403 || f.status == "UNAUTHENTICATED" || f.status == "PERMISSION_DENIED":
		return verdict{cat: Auth}
	case f.code == 404 || f.status == "NOT_FOUND":
		return notFound(f, cfg)
	case f.code >= 500:
		return verdict{cat: ServerError}
	case f.code >= 400:
		return verdict{cat: InvalidRequest}
	}
	// No status at all: only the words are left.
	switch {
	case containsAny(t, "overloaded", "high demand", "service is currently unavailable"):
		return overloadVerdict(f, cfg)
	case containsAny(t, "resource has been exhausted", "resource exhausted", "quota exceeded", "rate limit", "too many requests", "exceeded your current quota"):
		return quotaVerdict(f, cfg, t)
	case containsAny(t, "internal error has occurred", "internal server error"):
		return verdict{cat: ServerError}
	case containsAny(t, "bad gateway"):
		return verdict{cat: BadGateway}
	case containsAny(t, "gateway time-out", "gateway timeout", "deadline exceeded", "deadline expired"):
		return verdict{cat: Timeout}
	case containsAny(t, "is not found for api version", "model not found", "unknown model"):
		return notFound(f, cfg)
	case containsAny(t, "request contains an invalid argument", "invalid argument"):
		return verdict{cat: InvalidRequest}
	case containsAny(t, "permission denied", "unauthenticated", "unauthorized", "forbidden"):
		return verdict{cat: Auth}
	case unsupportedParam(t):
		return verdict{cat: UnsupportedParameter}
	}
	return verdict{cat: Unknown}
}

var retiredIDRE = regexp.MustCompile(`gemini-1\.|gemini-pro|-00[0-9]$|-exp|-[0-9]{2}-[0-9]{2}$`)

var lowerKRE = regexp.MustCompile(`\b[124]k\b`)

func unsupportedParam(t string) bool {
	return containsAny(t, "multiple candidates", "candidatecount", "candidate_count", "candidate count",
		"aspect ratio", "aspect_ratio", "aspectratio", "image_size", "imagesize", "image size",
		"only supported in", "is not supported for this model", "not supported by this model", "is not supported in",
		"too many images", "number of images", "images per prompt", "unknown name", "cannot find field",
		"outputmimetype", "output_mime_type", "response_modalities", "responsemodalities", "response modalities",
		"is not enabled for", "unsupported parameter", "unsupported value", "parameter_unknown", "not supported for generatecontent") ||
		lowerKRE.MatchString(t)
}

func quotaVerdict(f *facts, cfg config, t string) verdict {
	v := verdict{cat: RateLimited, kase: "per_minute"}
	model := f.model
	if model == "" {
		model = cfg.model
	}
	freeTier, zero, daily := false, false, false
	var pick *violation
	for i := range f.violations {
		vi := &f.violations[i]
		low := strings.ToLower(vi.id + vi.metric)
		if strings.Contains(low, "freetier") || strings.Contains(low, "free_tier") {
			freeTier = true
		}
		if vi.value == "0" {
			zero = true
		}
		d := dimension(*vi)
		if d == "RPD" {
			daily = true // QuotaFailure lists the quotas that failed, so a per-day one decides
		}
		if pick == nil || (d == "RPD" && dimension(*pick) != "RPD") || (pick.value == "" && vi.value != "" && dimension(*pick) == d) {
			pick = vi
		}
		if model == "" && vi.model != "" {
			model = vi.model
		}
	}
	if limitZeroRE.MatchString(t) && containsAny(t, "free_tier", "free tier", "freetier") {
		zero = true
	}
	noFree := containsAny(t, "free quota tier", "no free tier", "doesn't have a free", "does not have a free", "free tier is not available", "not available on the free tier")
	if freeTier && isPaidOnlyImageModel(model) {
		noFree = true
	}
	if pick != nil {
		v.dim = dimension(*pick)
		v.quotaID = pick.id
		v.metric = pick.metric
		if n, err := strconv.ParseInt(pick.value, 10, 64); err == nil {
			v.limit = n
		}
	}
	switch {
	case zero || noFree:
		v.cat, v.kase = NoFreeTier, "limit_zero"
	case daily || strings.ToLower(f.icode) == "quota_exceeded" || containsAny(t, "per day", "perday", "daily quota", "daily limit"):
		v.cat, v.kase = DailyQuota, "per_day"
		if v.dim == "" {
			v.dim = "RPD"
		}
	case len(f.violations) == 0 && (containsAny(t, "error-code-429", "resource exhausted. please try again later") || f.hasReason("rateLimitExceeded")):
		v.kase = "vertex_shared"
	}
	return v
}

// isPaidOnlyImageModel reports models documented as having no free tier for image output.
func isPaidOnlyImageModel(model string) bool {
	m := strings.ToLower(model)
	return strings.Contains(m, "pro-image") || strings.Contains(m, "3.1-flash-image") || strings.Contains(m, "nano-banana-pro") || strings.Contains(m, "nano-banana-2")
}

func overloadVerdict(f *facts, cfg config) verdict {
	model := cfg.model
	if model == "" {
		model = f.model
	}
	switch modelFamily(model) {
	case "pro":
		return verdict{cat: Overloaded, kase: "pro"}
	case "flash":
		return verdict{cat: Overloaded, kase: "flash"}
	}
	return verdict{cat: Overloaded, kase: defaultCase}
}

func notFound(f *facts, cfg config) verdict {
	v := verdict{cat: ModelNotFound, kase: defaultCase}
	model := f.model
	if model == "" {
		model = cfg.model
	}
	if cfg.replace != nil && model != "" {
		if r, ok := cfg.replace(model); ok && r != "" && r != model {
			v.kase, v.replacement = "retired", r
		}
	}
	return v
}

// publisherNotFound reads Vertex's 404. A model served only in global, asked for in a
// region, is the common case; an old or experimental id is more likely retired.
func publisherNotFound(f *facts, cfg config) verdict {
	v := notFound(f, cfg)
	if v.kase == "retired" {
		return v
	}
	m := strings.ToLower(f.model)
	retiredLooking := retiredIDRE.MatchString(m)
	if f.location != "" && f.location != "global" && !retiredLooking {
		return verdict{cat: LocationUnsupported, kase: "vertex_region"}
	}
	if f.location == "" && !retiredLooking {
		return verdict{cat: LocationUnsupported, kase: "vertex_region"}
	}
	return v
}

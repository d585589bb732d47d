package errors

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// maxScan bounds the text Explain reads: error texts are short, and the patterns it applies
// are linear-time, so a megabyte of junk costs no more than its first 64 KiB.
const maxScan = 64 << 10

// Explain parses error text a user pasted — a JSON body (generateContent or Interactions API),
// the Go SDK's "Error 429, Message: …", the Python SDK's "429 RESOURCE_EXHAUSTED. {'error': …}",
// JS SDK messages, HTTP status lines, bare codes, status words, finish-reason names, Go network
// errors, and the wrappers MCP clients put around them — and explains it.
func Explain(text string, opts ...Option) Diagnosis {
	return explain(text, newConfig(opts))
}

func explain(text string, cfg config) Diagnosis {
	if len(text) > maxScan {
		text = text[:maxScan]
	}
	text = strings.ToValidUTF8(text, "")
	if strings.TrimSpace(text) == "" {
		return complete(Diagnosis{Category: Unknown, Summary: "No error text was given; paste the full error message to have it explained.", Model: cfg.model})
	}
	f, ok := findAPIError(text, 0)
	if !ok {
		f = textFacts(text)
	}
	if !f.empty() && (f.code != 0 || f.status != "" || f.icode != "") {
		f.scan(f.message)
		f.scan(text)
		return build(f, cfg)
	}
	if d, ok := finishFromText(text); ok {
		if d.Model == "" {
			d.Model = cfg.model
		}
		return d
	}
	if d, ok := networkFromText(text, cfg); ok {
		return d
	}
	f.message = text
	f.scan(text)
	d := build(f, cfg)
	if d.Category == Unknown && containsAny(strings.ToLower(text), "no image", "no images were generated", "did not return an image", "no image data", "without an image", "image was not generated") {
		return FromFinish("NO_IMAGE", "", "").Diagnosis
	}
	return d
}

// findAPIError looks for a JSON (or Python-repr) object in text that holds an API error, and
// follows error messages that embed another error body (gateways and CLIs nest them).
func findAPIError(text string, depth int) (*facts, bool) {
	if depth > 3 {
		return nil, false
	}
	attempts := 0
	for i := 0; i < len(text) && attempts < 24; i++ {
		c := text[i]
		if c != '{' && c != '[' {
			continue
		}
		attempts++ // every scan counts: unbalanced junk must not cost one pass per bracket
		end := matchClose(text, i)
		if end < 0 {
			continue
		}
		v, ok := parseLoose(text[i : end+1])
		if !ok {
			continue
		}
		if f, ok := statusFrom(v, depth); ok {
			return f, true
		}
		i = end
	}
	return nil, false
}

// parseLoose parses JSON, then a Python repr, then JSON whose quotes were escaped once more.
func parseLoose(s string) (any, bool) {
	var v any
	if json.Unmarshal([]byte(s), &v) == nil {
		return v, true
	}
	if js, ok := pyToJSON(s); ok && json.Unmarshal([]byte(js), &v) == nil {
		return v, true
	}
	if strings.Contains(s, `\"`) {
		u := strings.NewReplacer(`\\\"`, `"`, `\"`, `"`, `\\n`, " ", `\n`, " ").Replace(s)
		if json.Unmarshal([]byte(u), &v) == nil {
			return v, true
		}
	}
	return nil, false
}

// matchClose finds the bracket closing the one at text[start], honouring quoted strings.
func matchClose(text string, start int) int {
	depth := 0
	var quote byte
	limit := len(text)
	if limit-start > maxScan {
		limit = start + maxScan
	}
	for i := start; i < limit; i++ {
		c := text[i]
		if quote != 0 {
			switch c {
			case '\\':
				i++
			case quote:
				quote = 0
			}
			continue
		}
		switch c {
		case '"':
			quote = c
		case '\'':
			// An apostrophe opens a Python string only where a value or key can start.
			if j := prevNonSpace(text, i); j >= start && strings.IndexByte("{[:,", text[j]) >= 0 {
				quote = c
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func prevNonSpace(s string, i int) int {
	for j := i - 1; j >= 0; j-- {
		if s[j] != ' ' && s[j] != '\n' && s[j] != '\t' && s[j] != '\r' {
			return j
		}
	}
	return -1
}

// statusFrom reads a google.rpc.Status (or an Interactions API error) out of a parsed value.
func statusFrom(v any, depth int) (*facts, bool) {
	switch t := v.(type) {
	case []any:
		for i, e := range t {
			if i > 8 {
				break
			}
			if f, ok := statusFrom(e, depth); ok {
				return f, true
			}
		}
		return nil, false
	case map[string]any:
		if e, ok := t["error"]; ok {
			switch et := e.(type) {
			case map[string]any:
				return statusObject(et, t, depth)
			case string:
				f := &facts{message: et}
				fillCode(f, t["code"])
				fillCode(f, t["status"])
				if inner, ok := findAPIError(et, depth+1); ok {
					return merge(inner, f), true
				}
				if f.code != 0 || f.status != "" {
					return f, true
				}
			}
		}
		_, hasMsg := t["message"]
		_, hasCode := t["code"]
		_, hasStatus := t["status"]
		if hasMsg && (hasCode || hasStatus) {
			return statusObject(t, nil, depth)
		}
		if hasMsg {
			if m, ok := t["message"].(string); ok && strings.Contains(m, "{") {
				if inner, ok := findAPIError(m, depth+1); ok {
					return inner, true
				}
			}
		}
	}
	return nil, false
}

func statusObject(e, outer map[string]any, depth int) (*facts, bool) {
	f := &facts{}
	f.message, _ = e["message"].(string)
	fillCode(f, e["code"])
	fillCode(f, e["status"])
	if outer != nil {
		fillCode(f, outer["status"])
		fillCode(f, outer["code"])
	}
	f.addDetails(e["details"])
	f.addDetails(e["errors"])
	if md, ok := e["metadata"].(map[string]any); ok {
		if raw, ok := md["raw"].(string); ok {
			if inner, ok := findAPIError(raw, depth+1); ok {
				return merge(inner, f), true
			}
		}
	}
	if strings.Contains(f.message, "{") {
		if inner, ok := findAPIError(f.message, depth+1); ok {
			return merge(inner, f), true
		}
	}
	if f.code == 0 && f.status == "" && f.icode == "" && f.message == "" {
		return nil, false
	}
	return f, true
}

// merge prefers the inner (original) error and fills gaps from the wrapper.
func merge(inner, outer *facts) *facts {
	if inner.code == 0 {
		inner.code = outer.code
	}
	if inner.status == "" {
		inner.status = outer.status
	}
	return inner
}

// fillCode reads a code or status value: 429, "429", "RESOURCE_EXHAUSTED", "rate_limit_exceeded",
// "Service Unavailable".
func fillCode(f *facts, v any) {
	switch t := v.(type) {
	case float64:
		if f.code == 0 && t >= 100 && t < 600 {
			f.code = int(t)
		}
	case string:
		s := strings.TrimSpace(t)
		switch {
		case s == "":
		case len(s) == 3 && s[0] >= '1' && s[0] <= '5':
			if n, err := strconv.Atoi(s); err == nil && f.code == 0 {
				f.code = n
			}
		case strings.ToUpper(s) == s && statusCodes[s] != 0:
			if f.status == "" {
				f.status = s
			}
		case strings.ToLower(s) == s && interactionsCodes[s] != 0:
			if f.icode == "" {
				f.icode = s
			}
		case statusLineRE.MatchString(s):
			if f.status == "" {
				f.status = s
			}
		default:
			if f.httpReason == "" {
				f.httpReason = s
			}
		}
	}
}

var (
	goSDKRE     = regexp.MustCompile(`(?s)Error ([1-5][0-9]{2}), Message: (.*?), Status: ([A-Za-z0-9_ ]{0,60}), Details: `)
	pySDKRE     = regexp.MustCompile(`\b([1-5][0-9]{2}) ([A-Z][A-Z_]{2,40})\. `)
	bracketRE   = regexp.MustCompile(`\[([1-5][0-9]{2}) ([A-Za-z][A-Za-z -]{1,40})\]`)
	gotStatusRE = regexp.MustCompile(`got status: (?:([1-5][0-9]{2}) [A-Za-z -]{1,40}|([A-Z_]{4,40}))\.`)
	httpLineRE  = regexp.MustCompile(`HTTP/[0-9.]{1,3} ([1-5][0-9]{2})\b`)
	reasonPhRE  = regexp.MustCompile(`(?i)\b([45][0-9]{2})[ :-]+(service unavailable|bad gateway|too many requests|internal server error|gateway time-?out|not found|bad request|forbidden|unauthorized|request timeout)`)
	statusNumRE = regexp.MustCompile(`(?i)(?:status(?:[ _]?code)?|http(?: error)?|error code|code|error)["']?\s*[:=]?\s*["']?\(?([45][0-9]{2})\b`)
	parenNumRE  = regexp.MustCompile(`\(([45][0-9]{2})\)|\|\s*([45][0-9]{2})\s*\||(?:返回|报错|错误|状态码)\s*:?\s*([45][0-9]{2})`)
	excNumRE    = regexp.MustCompile(`(?:ResourceExhausted|ServiceUnavailable|InternalServerError|FailedPrecondition|InvalidArgument|PermissionDenied|NotFound|DeadlineExceeded|TooManyRequests|ClientError|ServerError|APIError|ApiError|Unauthenticated|BadRequest)[:\s]+([45][0-9]{2})\b`)
	statusWdRE  = regexp.MustCompile(`\b(RESOURCE_EXHAUSTED|UNAVAILABLE|INVALID_ARGUMENT|FAILED_PRECONDITION|PERMISSION_DENIED|UNAUTHENTICATED|NOT_FOUND|INTERNAL|DEADLINE_EXCEEDED|CANCELLED|OUT_OF_RANGE|UNIMPLEMENTED)\b`)
	bareCodeRE  = regexp.MustCompile(`^\s*([1-5][0-9]{2})\s*[.!]?\s*$`)
)

// textFacts reads code, status and message from the text shapes that are not a JSON body.
func textFacts(text string) *facts {
	f := &facts{message: text}
	if m := goSDKRE.FindStringSubmatch(text); m != nil {
		f.code, _ = strconv.Atoi(m[1])
		f.message = m[2]
		f.status = strings.TrimSpace(m[3])
		f.extra = text
		return f
	}
	if m := bareCodeRE.FindStringSubmatch(text); m != nil {
		f.code, _ = strconv.Atoi(m[1])
		f.message = ""
		return f
	}
	for _, re := range []*regexp.Regexp{pySDKRE, bracketRE, httpLineRE, reasonPhRE} {
		if m := re.FindStringSubmatch(text); m != nil {
			f.code, _ = strconv.Atoi(m[1])
			if re == pySDKRE && statusCodes[m[2]] != 0 {
				f.status = m[2]
			}
			break
		}
	}
	if f.code == 0 {
		if m := gotStatusRE.FindStringSubmatch(text); m != nil {
			if m[1] != "" {
				f.code, _ = strconv.Atoi(m[1])
			} else {
				f.status = m[2]
			}
		}
	}
	if f.code == 0 {
		for _, re := range []*regexp.Regexp{excNumRE, statusNumRE, parenNumRE} {
			if m := re.FindStringSubmatch(text); m != nil {
				f.code, _ = strconv.Atoi(strings.Join(m[1:], ""))
				break
			}
		}
	}
	if f.status == "" {
		if m := statusWdRE.FindStringSubmatch(text); m != nil {
			f.status = m[1]
		}
	}
	return f
}

var (
	strongFinishRE = regexp.MustCompile(`\b(IMAGE_SAFETY|IMAGE_PROHIBITED_CONTENT|IMAGE_RECITATION|IMAGE_OTHER|NO_IMAGE|PROHIBITED_CONTENT|BLOCKLIST|SPII|RECITATION|MAX_TOKENS|MISSING_THOUGHT_SIGNATURE|MALFORMED_RESPONSE)\b`)
	finishKeyRE    = regexp.MustCompile(`(?i)finish_?reason["']?\s*[:=]?\s*["']?(?:FinishReason\.)?([A-Z_]{3,40})`)
	blockKeyRE     = regexp.MustCompile(`(?i)block_?reason["']?\s*[:=]?\s*["']?(?:BlockedReason\.)?([A-Z_]{3,40})`)
	finishMsgRE    = regexp.MustCompile(`(?i)finish_?message["']?\s*[:=]\s*(?:"((?:[^"\\]|\\.){0,600})"|'((?:[^'\\]|\\.){0,600})')`)
	blockMsgRE     = regexp.MustCompile(`(?i)block_?reason_?message["']?\s*[:=]\s*["']([^"']{0,600})`)
	bareFinishRE   = regexp.MustCompile(`^\s*(?:FinishReason\.)?(SAFETY|OTHER|STOP|LANGUAGE|FINISH_REASON_UNSPECIFIED)\s*$`)
)

// finishFromText recognises finish reasons and prompt-block reasons in pasted text.
func finishFromText(text string) (Diagnosis, bool) {
	msg := ""
	if m := finishMsgRE.FindStringSubmatch(text); m != nil {
		msg = m[1] + m[2]
	}
	if m := blockKeyRE.FindStringSubmatch(text); m != nil && strings.ToUpper(m[1]) == m[1] && !strings.HasSuffix(m[1], "UNSPECIFIED") {
		bm := ""
		if mm := blockMsgRE.FindStringSubmatch(text); mm != nil {
			bm = mm[1]
		}
		return FromPromptBlock(m[1], bm).Diagnosis, true
	}
	if m := finishKeyRE.FindStringSubmatch(text); m != nil && strings.ToUpper(m[1]) == m[1] && m[1] != "STOP" {
		return FromFinish(m[1], msg, "").Diagnosis, true
	}
	if m := strongFinishRE.FindStringSubmatch(text); m != nil {
		return FromFinish(m[1], msg, "").Diagnosis, true
	}
	if m := bareFinishRE.FindStringSubmatch(text); m != nil {
		return FromFinish(m[1], msg, "").Diagnosis, true
	}
	return Diagnosis{}, false
}

// networkFromText recognises network, timeout and cancellation failures in Go, Node and
// Python wording.
func networkFromText(text string, cfg config) (Diagnosis, bool) {
	t := strings.ToLower(text)
	mk := func(cat Category, kase, summary string) (Diagnosis, bool) {
		d := Diagnosis{Category: cat, Case: kase, Summary: summary, Detail: clean(text, 300), Model: cfg.model}
		if e, ok := Lookup(cat, kase); ok {
			d.Case = e.Case
			d.Retryable = e.Retryable
		}
		return complete(d), true
	}
	switch {
	case containsAny(t, "context canceled", "context cancelled", "operation was canceled", "aborterror:", "[aborterror]", "operation was aborted", "user aborted", "request aborted", "request was aborted", "request cancelled by", "cancelled by user"):
		return mk(Cancelled, defaultCase, "The request was cancelled before it finished; nothing needs fixing, send it again if you still need it.")
	case containsAny(t, "no such host", "enotfound", "getaddrinfo", "name or service not known", "temporary failure in name resolution", "server misbehaving", "nodename nor servname", "name resolution"):
		return mk(Network, "dns", "Could not resolve the Gemini host name (DNS lookup failed); check the network connection and the base URL, then retry.")
	case containsAny(t, "x509:", "tls:", "certificate verify failed", "certificate signed by unknown authority", "self signed certificate", "self-signed certificate", "unable_to_verify_leaf_signature", "cert_has_expired", "sslerror", "ssl: ", "handshake failure", "wrong version number"):
		return mk(Network, "tls", "The TLS connection to Gemini could not be verified; install the proxy's CA certificate or the system CA bundle, or fix the base URL.")
	case containsAny(t, "dial tcp") && containsAny(t, "i/o timeout"):
		return mk(Network, defaultCase, "Could not connect to Gemini (the connection attempt timed out); check the network, proxy or firewall, then retry.")
	case containsAny(t, "context deadline exceeded", "client.timeout exceeded", "deadline exceeded", "i/o timeout", "etimedout", "timed out", "timeout was reached", "timeouterror", "readtimeout", "read timeout", "timeout of ", "request timeout", "-32001", "took too long", "timeout exceeded"):
		return mk(Timeout, defaultCase, "The request timed out before Gemini answered; retry with a longer timeout (image generation takes 30–170 s) or a smaller image size.")
	case containsAny(t, "connection refused", "econnrefused", "actively refused", "10061"):
		return mk(Network, defaultCase, "The connection to Gemini was refused; check the base URL, proxy or firewall, then retry.")
	case containsAny(t, "connection reset", "econnreset", "broken pipe", "epipe", "socket hang up", "unexpected eof", "remotedisconnected", "connection aborted", "connection closed", "premature close", "terminated", "other side closed"):
		return mk(Network, defaultCase, "The connection to Gemini was cut mid-request; retry, and check any proxy if it keeps happening.")
	case containsAny(t, "fetch failed", "failed to fetch", "load failed", "networkerror", "network error", "failed to establish a new connection", "max retries exceeded", "cannot connect to proxy", "proxyerror", "ehostunreach", "enetunreach", "network is unreachable", "no route to host", "connecterror", "connection error", "could not connect", "unable to connect"):
		return mk(Network, defaultCase, "Could not reach Gemini over the network; check the connection, proxy and base URL, then retry.")
	}
	return Diagnosis{}, false
}

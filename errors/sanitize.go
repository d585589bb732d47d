package errors

import (
	"regexp"
	"strings"
)

// The patterns below are linear-time (RE2); each replaces a secret with a marker that says
// what was removed, so a reader still understands the text.
var secretPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	// The SDK's NewClient errors print the whole ClientConfig with %#v.
	{regexp.MustCompile(`(APIKey:\s*)"[^"]*"`), `${1}"[REDACTED]"`},
	{regexp.MustCompile(`(?i)((?:x-goog-api-key|api[_-]?key|apikey|access[_-]?token|GEMINI_API_KEY|GOOGLE_API_KEY)["']?\s*[:=]\s*["']?)[A-Za-z0-9._~+/\-]{8,}`), `${1}[REDACTED]`},
	{regexp.MustCompile(`(?i)([?&](?:key|api_key|apikey|access_token|token)=)[^&\s"'<>]+`), `${1}[REDACTED]`},
	{regexp.MustCompile(`(?i)(bearer\s+)[A-Za-z0-9._~+/\-]+=*`), `${1}[REDACTED]`},
	// Google API keys: "AIza" and 35 more characters.
	{regexp.MustCompile(`AIza[0-9A-Za-z_\-]{35}`), `[REDACTED_API_KEY]`},
	// Vertex express keys and OAuth access tokens.
	{regexp.MustCompile(`\bAQ\.[A-Za-z0-9_\-]{20,}`), `[REDACTED_API_KEY]`},
	{regexp.MustCompile(`\bya29\.[A-Za-z0-9_\-.]{10,}`), `[REDACTED_TOKEN]`},
}

// Sanitize removes secrets from text that may be shown to a user or logged: every value given
// to RegisterSecret, Google API keys (AIza…), key= and token= query parameters, Bearer tokens,
// OAuth access tokens, and the APIKey:"…" field the SDK prints in NewClient errors.
func Sanitize(s string) string {
	if s == "" {
		return s
	}
	s = redactValues(s)
	lower := strings.ToLower(s)
	if !strings.Contains(s, "AIza") && !strings.Contains(lower, "key") && !strings.Contains(lower, "token") &&
		!strings.Contains(lower, "bearer") && !strings.Contains(s, "AQ.") && !strings.Contains(s, "ya29.") {
		return s
	}
	for _, p := range secretPatterns {
		s = p.re.ReplaceAllString(s, p.repl)
	}
	return s
}

// shorten collapses whitespace and cuts s to at most n runes, at a word boundary when one is near.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n*3/4 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:") + "…"
}

// clean prepares upstream words for a Diagnosis: secrets removed, markup dropped, shortened.
func clean(s string, n int) string {
	if len(s) > 8<<10 {
		s = strings.ToValidUTF8(s[:8<<10], "")
	}
	s = stripTags(s)
	return shorten(Sanitize(s), n)
}

var tagRE = regexp.MustCompile(`(?s)<(script|style)[^<>]*>.*?</(script|style)>|<[^<>]*>`)

// stripTags turns an HTML error page into its visible text.
func stripTags(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	return tagRE.ReplaceAllString(s, " ")
}

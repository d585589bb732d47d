package errors

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestSanitize(t *testing.T) {
	key := "AIzaSyA1234567890abcdefghijklmnopqrstuv"
	cases := []string{
		"key " + key + " leaked",
		"GET https://generativelanguage.googleapis.com/v1beta/models?key=abc123def456&alt=json",
		"Authorization: Bearer ya29.a0AfH6SMBxyz-123",
		`&genai.ClientConfig{APIKey:"secret-value-123", Backend:1}`,
		"GEMINI_API_KEY=sk-whatever-1234567",
		`{"x-goog-api-key": "abcdefgh12345678"}`,
	}
	for _, c := range cases {
		got := Sanitize(c)
		for _, secret := range []string{key, "abc123def456", "ya29.a0AfH6SMBxyz", "secret-value-123", "sk-whatever-1234567", "abcdefgh12345678"} {
			if strings.Contains(got, secret) {
				t.Errorf("Sanitize(%q) = %q keeps %q", c, got, secret)
			}
		}
	}
	if s := "The model is overloaded."; Sanitize(s) != s {
		t.Errorf("changed harmless text")
	}
	d := Explain(`{"error":{"code":400,"message":"API key not valid: ` + key + `","status":"INVALID_ARGUMENT"}}`)
	b, _ := json.Marshal(d)
	if strings.Contains(string(b), key) {
		t.Errorf("diagnosis leaks the key: %s", b)
	}
}

func TestFromFinish(t *testing.T) {
	tests := []struct {
		reason    string
		cat       Category
		retryable bool
	}{
		{"IMAGE_SAFETY", SafetyBlocked, false},
		{"IMAGE_PROHIBITED_CONTENT", SafetyBlocked, false},
		{"IMAGE_RECITATION", SafetyBlocked, false},
		{"IMAGE_OTHER", NoImage, true},
		{"NO_IMAGE", NoImage, true},
		{"SAFETY", SafetyBlocked, false},
		{"PROHIBITED_CONTENT", SafetyBlocked, false},
		{"BLOCKLIST", SafetyBlocked, false},
		{"SPII", SafetyBlocked, false},
		{"RECITATION", SafetyBlocked, false},
		{"MAX_TOKENS", NoImage, false},
		{"MISSING_THOUGHT_SIGNATURE", MissingThoughtSignature, false},
		{"MALFORMED_RESPONSE", NoImage, true},
		{"OTHER", NoImage, true},
		{"STOP", NoImage, true},
		{"SOMETHING_NEW", NoImage, true},
	}
	for _, tt := range tests {
		e := FromFinish(tt.reason, "", "I can't make that image. Key AIzaSyA1234567890abcdefghijklmnopqrstuv")
		d := e.Diagnosis
		if d.Category != tt.cat || d.Retryable != tt.retryable || d.HTTPStatus != 200 || d.Status != tt.reason {
			t.Errorf("%s: got %+v", tt.reason, d)
		}
		if !strings.Contains(d.Summary, "I can't make that image") || strings.Contains(d.Summary, "AIza") || strings.Contains(d.Detail, "AIza") {
			t.Errorf("%s: model words not quoted safely: %q / %q", tt.reason, d.Summary, d.Detail)
		}
	}
	msg := "The model output could not be generated. This output contains sensitive words that violate Google's Responsible AI practices. Support code: 42876398."
	if d := FromFinish("IMAGE_PROHIBITED_CONTENT", msg, "").Diagnosis; !strings.Contains(d.Detail, "Support code: 42876398") {
		t.Errorf("detail %q", d.Detail)
	}
	d := FromPromptBlock("PROHIBITED_CONTENT", "").Diagnosis
	if d.Category != SafetyBlocked || d.Case != "prompt" || d.Retryable {
		t.Errorf("prompt block: %+v", d)
	}
	if d := FromPromptBlock("IMAGE_SAFETY", "").Diagnosis; !strings.Contains(d.Summary, "reference image") {
		t.Errorf("image block: %q", d.Summary)
	}
}

func TestExplainShapes(t *testing.T) {
	tests := []struct {
		text string
		cat  Category
	}{
		{"", Unknown},
		{"429", RateLimited},
		{"UNAVAILABLE", Overloaded},
		{"PERMISSION_DENIED", Auth},
		{"HTTP/2 500", ServerError},
		{"404 Not Found", ModelNotFound},
		{"FinishReason.SAFETY", SafetyBlocked},
		{"OTHER", NoImage},
		{"ApiError: {\"error\":{\"code\":503,\"message\":\"The model is overloaded. Please try again later.\",\"status\":\"UNAVAILABLE\"}}", Overloaded},
		{"[GoogleGenerativeAI Error]: Error fetching from https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash-image:generateContent: [429 Too Many Requests] Resource has been exhausted (e.g. check quota).", RateLimited},
		{"dial tcp: lookup generativelanguage.googleapis.com on 127.0.0.53:53: server misbehaving", Network},
		{"read tcp 10.0.0.2:50712->142.250.1.95:443: read: connection reset by peer", Network},
		{"blockReason: OTHER", SafetyBlocked},
		{"lorem ipsum dolor", Unknown},
	}
	for _, tt := range tests {
		d := Explain(tt.text)
		if d.Category != tt.cat {
			t.Errorf("Explain(%q) = %s (%s), want %s", tt.text, d.Category, d.Summary, tt.cat)
		}
		if d.Summary == "" || len(d.Fix) == 0 {
			t.Errorf("Explain(%q) incomplete", tt.text)
		}
	}
}

func TestExplainBoundedOnJunk(t *testing.T) {
	junk := strings.Repeat(`{"error":{"message":"{'a': [[[[`, 40000) // ≈1.3 MB of unbalanced nesting
	start := time.Now()
	d := Explain(junk)
	// Explain reads at most 64 KiB, so this takes milliseconds; the bound only catches a
	// catastrophic regression (a regexp that backtracks for minutes), never a slow machine.
	if el := time.Since(start); el > 30*time.Second {
		t.Fatalf("took %v", el)
	}
	if d.Summary == "" {
		t.Fatal("no summary")
	}
}

func TestCatalogComplete(t *testing.T) {
	seen := map[Category]bool{}
	for _, e := range Catalog() {
		seen[e.Category] = true
		if e.Cause == "" || len(e.Fix) == 0 || e.Recovery == "" || e.Actor == "" || e.Title == "" {
			t.Errorf("incomplete entry %s/%s", e.Category, e.Case)
		}
		if e.Category != Unknown && len(e.Source) == 0 {
			t.Errorf("entry %s/%s has no source", e.Category, e.Case)
		}
	}
	for _, c := range []Category{RateLimited, DailyQuota, NoFreeTier, Overloaded, BadGateway, ServerError, Timeout, Network,
		InvalidRequest, UnsupportedParameter, MissingThoughtSignature, ModelNotFound, Auth, LocationUnsupported, SafetyBlocked,
		NoImage, Cancelled, Unknown} {
		if !seen[c] {
			t.Errorf("no catalog entry for %s", c)
		}
	}
	md := RenderMarkdown()
	if md != RenderMarkdown() || !strings.Contains(md, "| `rate_limited` | per_minute |") || !strings.Contains(md, "midnight Pacific") {
		t.Errorf("markdown not deterministic or incomplete")
	}
}

func TestPyToJSON(t *testing.T) {
	in := `{'a': 'it\'s', "b": "Google's", 'c': True, 'd': None, 'e': [1, False], 'f': '\n\x41'}`
	js, ok := pyToJSON(in)
	if !ok {
		t.Fatal("not converted")
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Fatalf("%v: %s", err, js)
	}
	if v["a"] != "it's" || v["b"] != "Google's" || v["c"] != true || v["d"] != nil || v["f"] != "\nA" {
		t.Errorf("%v", v)
	}
	if _, ok := pyToJSON(`{'a': 'unterminated`); ok {
		t.Error("accepted unterminated string")
	}
}

func FuzzExplain(f *testing.F) {
	for _, s := range loadCorpus(f) {
		f.Add(s.text)
	}
	f.Add(`{"error":{"code":"rate_limit_exceeded"}}`)
	f.Add(`Error 429, Message: x, Status: RESOURCE_EXHAUSTED, Details: [map[retryDelay:1s]]`)
	f.Fuzz(func(t *testing.T, s string) {
		start := time.Now()
		d := Explain(s, ForModel("gemini-3-pro-image-preview"))
		if time.Since(start) > time.Second {
			t.Fatalf("slow on %d bytes", len(s))
		}
		if d.Category == "" || d.Summary == "" || len(d.Fix) == 0 {
			t.Fatalf("incomplete diagnosis %+v", d)
		}
		if strings.Contains(d.Summary+d.Detail, "AIza") && strings.Contains(s, "AIza") {
			// Keys shorter than 39 characters are not keys; only full keys must go.
			for _, part := range []string{d.Summary, d.Detail} {
				if fullKeyRE.MatchString(part) {
					t.Fatalf("key leaked: %q", part)
				}
			}
		}
	})
}

var fullKeyRE = regexp.MustCompile(`AIza[0-9A-Za-z_\-]{35}`)

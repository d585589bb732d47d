package errors

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"
)

func quotaError(quotaID, value, delay, model string) genai.APIError {
	return genai.APIError{
		Code:    429,
		Status:  "RESOURCE_EXHAUSTED",
		Message: "You exceeded your current quota, please check your plan and billing details.",
		Details: []map[string]any{
			{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []any{map[string]any{
				"quotaMetric":     "generativelanguage.googleapis.com/generate_content_paid_tier_requests",
				"quotaId":         quotaID,
				"quotaDimensions": map[string]any{"location": "global", "model": model},
				"quotaValue":      value,
			}}},
			{"@type": "type.googleapis.com/google.rpc.Help", "links": []any{map[string]any{"description": "Learn more", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}}},
			{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay},
		},
	}
}

func TestClassifyAPIError(t *testing.T) {
	noon := time.Date(2026, 3, 2, 12, 0, 0, 0, time.FixedZone("PST", -8*3600))
	tests := []struct {
		name      string
		err       error
		opts      []Option
		cat       Category
		retryable bool
		check     func(t *testing.T, d Diagnosis)
	}{
		{"per minute", fmt.Errorf("generating: %w", quotaError("GenerateRequestsPerMinutePerProjectPerModel", "10", "40.3s", "gemini-3-pro-image")), nil, RateLimited, true,
			func(t *testing.T, d Diagnosis) {
				want := "Gemini's per-minute quota for gemini-3-pro-image (10 requests/min) is used up; retry in 41 s, or lower the request rate."
				if d.Summary != want {
					t.Errorf("summary\n got %q\nwant %q", d.Summary, want)
				}
				if d.Quota == nil || d.Quota.Dimension != "RPM" || d.Quota.Limit != 10 || d.RetryAfterSeconds != 41 {
					t.Errorf("quota %+v retry %v", d.Quota, d.RetryAfterSeconds)
				}
			}},
		{"per day", quotaError("GenerateRequestsPerDayPerProjectPerModel", "1000", "3600s", "gemini-3.1-flash-image"), []Option{WithClock(func() time.Time { return noon })}, DailyQuota, false,
			func(t *testing.T, d Diagnosis) {
				if d.RetryAfterSeconds != 12*3600 || d.Quota.Dimension != "RPD" {
					t.Errorf("retry %v quota %+v", d.RetryAfterSeconds, d.Quota)
				}
				if !strings.Contains(d.Summary, "midnight Pacific") {
					t.Errorf("summary %q", d.Summary)
				}
			}},
		{"limit zero", quotaError("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "0", "37s", "gemini-2.5-flash-image"), nil, NoFreeTier, false, nil},
		{"free tier on paid-only model", quotaError("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "", "37s", "gemini-3-pro-image-preview"), nil, NoFreeTier, false, nil},
		{"errorinfo rate limit", genai.APIError{Code: 429, Status: "RESOURCE_EXHAUSTED", Message: "Resource has been exhausted (e.g. check quota).",
			Details: []map[string]any{{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
				"metadata": map[string]any{"quota_limit": "GenerateContentRequestsPerMinutePerProjectPerModel", "quota_limit_value": "10"}}}}, nil, RateLimited, true,
			func(t *testing.T, d Diagnosis) {
				if d.Quota == nil || d.Quota.Limit != 10 || d.RetryAfterSeconds != 60 {
					t.Errorf("quota %+v retry %v", d.Quota, d.RetryAfterSeconds)
				}
			}},
		{"retry text only", genai.APIError{Code: 429, Status: "RESOURCE_EXHAUSTED", Message: "Quota exceeded.\nPlease retry in 31.44s."}, nil, RateLimited, true,
			func(t *testing.T, d Diagnosis) {
				if d.RetryAfterSeconds != 32 {
					t.Errorf("retry %v", d.RetryAfterSeconds)
				}
			}},
		{"vertex 429", genai.APIError{Code: 429, Status: "RESOURCE_EXHAUSTED", Message: "Resource exhausted. Please try again later. Please refer to https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details."}, nil, RateLimited, true,
			func(t *testing.T, d Diagnosis) {
				if d.Case != "vertex_shared" {
					t.Errorf("case %q", d.Case)
				}
			}},
		{"api key invalid", genai.APIError{Code: 400, Status: "INVALID_ARGUMENT", Message: "API key not valid. Please pass a valid API key.",
			Details: []map[string]any{{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}}}, nil, Auth, false, nil},
		{"api key expired", genai.APIError{Code: 400, Status: "INVALID_ARGUMENT", Message: "API key expired. Please renew the API key.",
			Details: []map[string]any{{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_EXPIRED"}}}, nil, Auth, false, nil},
		{"service disabled", genai.APIError{Code: 403, Status: "PERMISSION_DENIED", Message: "Generative Language API has not been used in project 123 before or it is disabled.",
			Details: []map[string]any{{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED"}}}, nil, Auth, false, nil},
		{"billing disabled", genai.APIError{Code: 403, Status: "PERMISSION_DENIED", Message: "This API method requires billing to be enabled.",
			Details: []map[string]any{{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BILLING_DISABLED"}}}, nil, NoFreeTier, false, nil},
		{"scope", genai.APIError{Code: 403, Status: "PERMISSION_DENIED", Message: "Request had insufficient authentication scopes.",
			Details: []map[string]any{{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}}}, nil, Auth, false, nil},
		{"html 502", genai.APIError{Code: 502, Status: "502 Bad Gateway", Message: "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"}, nil, BadGateway, true,
			func(t *testing.T, d Diagnosis) {
				if strings.Contains(d.Detail, "<") {
					t.Errorf("detail keeps markup: %q", d.Detail)
				}
			}},
		{"503 pro", genai.APIError{Code: 503, Status: "UNAVAILABLE", Message: "The model is overloaded. Please try again later."}, []Option{ForModel("gemini-3-pro-image-preview")}, Overloaded, true,
			func(t *testing.T, d Diagnosis) {
				if d.Recovery != "30–120 min" || !strings.Contains(d.Summary, "30–120 min") {
					t.Errorf("recovery %q summary %q", d.Recovery, d.Summary)
				}
			}},
		{"503 flash", genai.APIError{Code: 503, Status: "UNAVAILABLE", Message: "The model is overloaded. Please try again later."}, []Option{ForModel("gemini-2.5-flash-image")}, Overloaded, true,
			func(t *testing.T, d Diagnosis) {
				if d.Recovery != "5–15 min" {
					t.Errorf("recovery %q", d.Recovery)
				}
			}},
		{"500", genai.APIError{Code: 500, Status: "INTERNAL", Message: "Internal error encountered."}, nil, ServerError, true, nil},
		{"504", genai.APIError{Code: 504, Status: "DEADLINE_EXCEEDED", Message: "Deadline exceeded."}, nil, Timeout, true, nil},
		{"thought signature", genai.APIError{Code: 400, Status: "INVALID_ARGUMENT", Message: "Image part is missing a thought_signature in content position 2, part position 1."}, nil, MissingThoughtSignature, false, nil},
		{"location", genai.APIError{Code: 400, Status: "FAILED_PRECONDITION", Message: "User location is not supported for the API use."}, nil, LocationUnsupported, false, nil},
		{"lowercase k", genai.APIError{Code: 400, Status: "INVALID_ARGUMENT", Message: "Invalid image size 2k; use 1K, 2K or 4K."}, nil, UnsupportedParameter, false, nil},
		{"aspect ratio", genai.APIError{Code: 400, Status: "INVALID_ARGUMENT", Message: "Unsupported aspect ratio: 7:3"}, nil, UnsupportedParameter, false, nil},
		{"candidates", genai.APIError{Code: 400, Status: "INVALID_ARGUMENT", Message: "Multiple candidates is not enabled for this model"}, nil, UnsupportedParameter, false, nil},
		{"invalid", genai.APIError{Code: 400, Status: "INVALID_ARGUMENT", Message: "Request contains an invalid argument."}, nil, InvalidRequest, false, nil},
		{"vertex region", genai.APIError{Code: 404, Status: "NOT_FOUND", Message: "Publisher Model `projects/p/locations/us-central1/publishers/google/models/gemini-3-pro-image-preview` was not found or your project does not have access to it."}, nil, LocationUnsupported, false,
			func(t *testing.T, d Diagnosis) {
				if !strings.Contains(d.Summary, "us-central1") || !strings.Contains(d.Summary, "global") {
					t.Errorf("summary %q", d.Summary)
				}
			}},
		{"vertex api key", genai.APIError{Code: 401, Status: "UNAUTHENTICATED", Message: "API keys are not supported by this API. Expected OAuth2 access token or other authentication credentials that assert a principal."}, nil, Auth, false, nil},
		{"retired model", genai.APIError{Code: 404, Status: "NOT_FOUND", Message: "models/gemini-2.5-flash-image-preview is not found for API version v1beta, or is not supported for generateContent."},
			[]Option{WithReplacements(func(m string) (string, bool) { return "gemini-2.5-flash-image", m == "gemini-2.5-flash-image-preview" })}, ModelNotFound, false,
			func(t *testing.T, d Diagnosis) {
				if !strings.Contains(d.Summary, "use gemini-2.5-flash-image instead") || d.Case != "retired" {
					t.Errorf("summary %q case %q", d.Summary, d.Case)
				}
			}},
		{"cancelled code", genai.APIError{Code: 499, Status: "CANCELLED", Message: "The operation was cancelled."}, nil, Cancelled, false, nil},
		{"unknown code", genai.APIError{Code: 418, Message: "I'm a teapot"}, nil, InvalidRequest, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Classify(tt.err, tt.opts...)
			if d.Category != tt.cat || d.Retryable != tt.retryable {
				t.Fatalf("got %s/%v, want %s/%v: %s", d.Category, d.Retryable, tt.cat, tt.retryable, d.Summary)
			}
			if d.Summary == "" || len(d.Fix) == 0 || d.Cause == "" {
				t.Errorf("incomplete: %+v", d)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

func TestClassifyGoErrors(t *testing.T) {
	// A real refused connection: listen, take the port, close, dial.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, refused := net.DialTimeout("tcp", addr, time.Second)
	if refused == nil {
		t.Skip("port unexpectedly open")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dctx, dcancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer dcancel()
	<-dctx.Done()

	tests := []struct {
		name      string
		err       error
		cat       Category
		kase      string
		retryable bool
	}{
		{"refused", fmt.Errorf("doRequest: error sending request: %w", refused), Network, defaultCase, true},
		{"dns", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nonexistent.invalid", IsNotFound: true}}, Network, "dns", true},
		{"deadline", fmt.Errorf("doRequest: %w", dctx.Err()), Timeout, defaultCase, true},
		{"canceled", fmt.Errorf("doRequest: %w", ctx.Err()), Cancelled, defaultCase, false},
		{"eof", fmt.Errorf("reading body: %w", io.ErrUnexpectedEOF), Network, defaultCase, true},
		{"x509", fmt.Errorf("post: %w", x509.UnknownAuthorityError{}), Network, "tls", false},
		{"client validation", fmt.Errorf("outputMimeType parameter is only supported in Gemini Enterprise Agent Platform mode, not in Gemini Developer API mode"), UnsupportedParameter, defaultCase, false},
		{"opaque", fmt.Errorf("something odd happened"), Unknown, defaultCase, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Classify(tt.err)
			if d.Category != tt.cat || d.Case != tt.kase || d.Retryable != tt.retryable {
				t.Fatalf("got %s/%s/%v, want %s/%s/%v: %s", d.Category, d.Case, d.Retryable, tt.cat, tt.kase, tt.retryable, d.Summary)
			}
			if d.Summary == "" || len(d.Fix) == 0 {
				t.Errorf("incomplete: %+v", d)
			}
		})
	}
}

func TestClassifyOwnError(t *testing.T) {
	e := Newf(UnsupportedParameter, "aspect ratio %q is not supported by %s", "7:3", "gemini-2.5-flash-image")
	d := Classify(fmt.Errorf("validating: %w", e))
	if d.Category != UnsupportedParameter || d.Retryable || len(d.Fix) == 0 || d.Summary != `aspect ratio "7:3" is not supported by gemini-2.5-flash-image` {
		t.Fatalf("%+v", d)
	}
	raw := &Error{Diagnosis: Diagnosis{Category: Overloaded, Summary: "busy"}}
	if d := Classify(raw); !d.Retryable || d.Recovery == "" {
		t.Fatalf("not completed from catalog: %+v", d)
	}
}

func TestNewClientErrorIsSanitized(t *testing.T) {
	// The SDK prints the whole ClientConfig with %#v.
	msg := `project and location are not supported for Gemini API backend. ClientConfig: &genai.ClientConfig{APIKey:"AIzaSyA1234567890abcdefghijklmnopqrstuv", Backend:1, Project:"p"}`
	d := Classify(fmt.Errorf("creating client: %s", msg))
	for _, s := range []string{d.Summary, d.Detail, d.Cause} {
		if strings.Contains(s, "AIzaSy") {
			t.Fatalf("key leaked: %q", s)
		}
	}
}

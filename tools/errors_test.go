package tools_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// Every upstream failure the catalog covers, provoked through the simulator and seen through an
// MCP client: an isError result whose first line is one sentence and whose structuredContent is
// the Diagnosis.
func TestUpstreamFailuresBecomeToolErrors(t *testing.T) {
	const key = "AIzaSyD-fAkEkEy0123456789abcdefghijklmn"
	sim, err := geminitest.New(geminitest.Config{APIKeys: []string{key}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	gc, err := gemini.NewClient(context.Background(), gemini.Config{APIKey: key, BaseURL: sim.URL(),
		Timeout: 2 * time.Second, Timeout4K: 2 * time.Second, Resilience: oneShot})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessWith(t, sim, gc)
	cases := []struct {
		fault     geminitest.Fault
		cat       apierrors.Category
		retryable bool
		says      string
	}{
		{geminitest.RateLimited(41 * time.Second), apierrors.RateLimited, true, "41 s"},
		{geminitest.DailyQuota(), apierrors.DailyQuota, false, "midnight Pacific"},
		{geminitest.NoFreeTier(), apierrors.NoFreeTier, false, "billing"},
		{geminitest.VertexExhausted(), apierrors.RateLimited, true, ""},
		{geminitest.InvalidKey(), apierrors.Auth, false, "key"},
		{geminitest.PermissionDenied(), apierrors.Auth, false, ""},
		{geminitest.NotFound(), apierrors.ModelNotFound, false, ""},
		{geminitest.UserLocation(), apierrors.LocationUnsupported, false, ""},
		{geminitest.Internal(), apierrors.ServerError, true, ""},
		{geminitest.BadGateway(), apierrors.BadGateway, true, ""},
		{geminitest.Overloaded(), apierrors.Overloaded, true, "overloaded"},
		{geminitest.DeadlineExceeded(), apierrors.Timeout, true, ""},
		{geminitest.Hang(), apierrors.Timeout, true, ""},
		{geminitest.Reset(), apierrors.Network, true, ""},
		{geminitest.Truncated(), apierrors.Network, true, ""},
		{geminitest.ImageSafety(), apierrors.SafetyBlocked, false, ""},
		{geminitest.ImageProhibited(), apierrors.SafetyBlocked, false, ""},
		{geminitest.ImageOther(), apierrors.NoImage, true, ""},
		{geminitest.NoImage(), apierrors.NoImage, true, ""},
		{geminitest.PromptBlocked("SAFETY"), apierrors.SafetyBlocked, false, ""},
	}
	for _, c := range cases {
		t.Run(string(c.fault.Kind), func(t *testing.T) {
			h.sim.Enqueue("", c.fault)
			res := h.call(t, "generate_image", map[string]any{"prompt": "a quiet harbour"})
			var d apierrors.Diagnosis
			structured(t, res, &d)
			first, _, _ := strings.Cut(text(res), "\n")
			if !res.IsError || d.Category != c.cat || d.Retryable != c.retryable {
				t.Fatalf("isError %v category %s retryable %v; want %s %v\n%s", res.IsError, d.Category, d.Retryable, c.cat, c.retryable, text(res))
			}
			if first == "" || !strings.HasSuffix(first, ".") || first != d.Summary || !strings.Contains(first, c.says) {
				t.Errorf("first line %q should be the one-sentence summary mentioning %q", first, c.says)
			}
			raw, _ := json.Marshal(res)
			if strings.Contains(string(raw), key) || strings.Contains(string(raw), "AIzaSy") {
				t.Errorf("the API key leaked into the result: %s", raw)
			}
		})
	}
}

func TestExplainError(t *testing.T) {
	h := newHarness(t)
	res := h.call(t, "explain_error", nil)
	var out tools.ExplainErrorOutput
	structured(t, res, &out)
	if res.IsError || out.Source != "none" {
		t.Errorf("fresh session: %+v", out)
	}

	pasted := `Error 429, Message: You exceeded your current quota. Please retry in 12.5s., Status: RESOURCE_EXHAUSTED, Details: []`
	res = h.call(t, "explain_error", map[string]any{"error": pasted, "model": "nano-banana-pro"})
	structured(t, res, &out)
	if out.Source != "pasted" || out.Category != apierrors.RateLimited || !out.Retryable || out.RetryAfterSeconds < 12 {
		t.Errorf("pasted: %+v", out)
	}
	if !strings.Contains(text(res), "What to do:") {
		t.Errorf("text lacks fix steps: %s", text(res))
	}

	h.sim.Enqueue("", geminitest.Overloaded())
	h.call(t, "generate_image", map[string]any{"prompt": "p", "model": "nano-banana-pro"})
	res = h.call(t, "explain_error", map[string]any{})
	structured(t, res, &out)
	if out.Source != "last_failure" || out.Tool != "generate_image" || out.Category != apierrors.Overloaded ||
		!strings.Contains(out.Recovery, "30") {
		t.Errorf("last failure: %+v", out)
	}
}

func TestCheckConfig(t *testing.T) {
	h := newHarness(t)
	res := h.call(t, "check_config", map[string]any{"all": true})
	var out tools.CheckConfigOutput
	structured(t, res, &out)
	if !out.OK || out.Backend != "gemini-api" || len(out.Checks) != 2+len(gemini.DefaultRegistry().Models()) {
		t.Errorf("healthy setup: %s", text(res))
	}

	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	noKey, err := gemini.NewClient(context.Background(), gemini.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h = newHarnessWith(t, nil, noKey, func(d *tools.Wiring) { d.Images.Dir = filepath.Join(file, "images") })
	res = h.call(t, "check_config", nil)
	structured(t, res, &out)
	if out.OK || len(out.Checks) != 2 || out.Checks[0].OK || out.Checks[1].OK {
		t.Fatalf("broken setup passed: %s", text(res))
	}
	if out.Checks[1].Diagnosis.Category != apierrors.Auth || !strings.Contains(text(res), "GEMINI_API_KEY") {
		t.Errorf("missing key: %+v", out.Checks[1])
	}
	if !strings.Contains(out.Checks[0].Detail, "not writable") {
		t.Errorf("output dir: %+v", out.Checks[0])
	}
}

func TestErrorCatalogResource(t *testing.T) {
	h := newHarness(t)
	var req mcp.ReadResourceRequest
	req.Params.URI = "errors://catalog"
	res, err := h.client.ReadResource(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	tc, ok := res.Contents[0].(mcp.TextResourceContents)
	if !ok || !strings.Contains(tc.Text, "daily_quota") || !strings.Contains(tc.Text, "midnight Pacific") {
		t.Errorf("catalog resource: %+v", res.Contents)
	}
}

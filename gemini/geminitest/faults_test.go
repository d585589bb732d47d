package geminitest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genai"
)

func TestFaultsThroughSDK(t *testing.T) {
	srv, c := newSim(t, Config{})
	ctx := context.Background()
	const model = "gemini-3-pro-image-preview"
	call := func() (*genai.GenerateContentResponse, error) {
		return c.Models.GenerateContent(ctx, model, genai.Text("x"), imageConfig("1:1", "1K", false))
	}
	apiCases := []struct {
		f      Fault
		code   int
		status string
		text   string
	}{
		{RateLimited(20 * time.Second), 429, "RESOURCE_EXHAUSTED", "Please retry in 20s."},
		{DailyQuota(), 429, "RESOURCE_EXHAUSTED", "generate_requests_per_model_per_day"},
		{NoFreeTier(), 429, "RESOURCE_EXHAUSTED", "limit: 0"},
		{VertexExhausted(), 429, "RESOURCE_EXHAUSTED", "error-code-429"},
		{InvalidKey(), 400, "INVALID_ARGUMENT", "API key not valid"},
		{PermissionDenied(), 403, "PERMISSION_DENIED", "has not been used in project"},
		{NotFound(), 404, "NOT_FOUND", "is not found for API version v1beta"},
		{Internal(), 500, "INTERNAL", "An internal error has occurred"},
		{BadGateway(), 502, "502 Bad Gateway", "<title>Error 502 (Server Error)!!1</title>"},
		{Overloaded(), 503, "UNAVAILABLE", "This model is currently experiencing high demand. Spikes in demand are usually temporary. Please try again later."},
		{UserLocation(), 400, "FAILED_PRECONDITION", "User location is not supported for the API use."},
		{DeadlineExceeded(), 504, "DEADLINE_EXCEEDED", "Deadline expired"},
	}
	for _, tc := range apiCases {
		srv.Enqueue(model, tc.f)
		_, err := call()
		e := apiError(t, err)
		if e.Code != tc.code || e.Status != tc.status || !strings.Contains(e.Message, tc.text) {
			t.Errorf("%s: got %d %q %q", tc.f.Kind, e.Code, e.Status, e.Message)
		}
	}
	// RetryInfo and QuotaFailure details for the per-minute 429.
	srv.Enqueue("", RateLimited(20*time.Second))
	_, err := call()
	e := apiError(t, err)
	var delay, quotaID string
	for _, d := range e.Details {
		if d["@type"] == typeRetryInfo {
			delay, _ = d["retryDelay"].(string)
		}
		if v, ok := d["violations"].([]any); ok {
			quotaID, _ = v[0].(map[string]any)["quotaId"].(string)
		}
	}
	if delay != "20s" || !strings.Contains(quotaID, "PerMinute") {
		t.Errorf("retryDelay %q quotaId %q", delay, quotaID)
	}

	// 200 answers without an image.
	for _, tc := range []struct {
		f      Fault
		reason genai.FinishReason
	}{{ImageSafety(), "IMAGE_SAFETY"}, {ImageOther(), "IMAGE_OTHER"}, {ImageProhibited(), "IMAGE_PROHIBITED_CONTENT"}, {NoImage(), "NO_IMAGE"}} {
		srv.Enqueue(model, tc.f)
		resp, err := call()
		if err != nil {
			t.Fatalf("%s: %v", tc.f.Kind, err)
		}
		if got := resp.Candidates[0].FinishReason; got != tc.reason {
			t.Errorf("%s: finishReason %q", tc.f.Kind, got)
		}
	}
	srv.Enqueue(model, PromptBlocked(""))
	resp, err := call()
	if err != nil || len(resp.Candidates) != 0 || resp.PromptFeedback.BlockReason != "PROHIBITED_CONTENT" {
		t.Errorf("blocked: %v %+v", err, resp)
	}

	// Network-level faults surface as non-API errors.
	for _, f := range []Fault{Reset(), Truncated()} {
		srv.Enqueue(model, f)
		_, err := call()
		var ae genai.APIError
		if err == nil || errors.As(err, &ae) {
			t.Errorf("%s: want a transport error, got %v", f.Kind, err)
		}
	}
	srv.Enqueue(model, Hang())
	hctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = c.Models.GenerateContent(hctx, model, genai.Text("x"), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: %v", err)
	}
	srv.Enqueue(model, Slow(20*time.Millisecond))
	start := time.Now()
	if _, err := call(); err != nil || time.Since(start) < 20*time.Millisecond {
		t.Errorf("slow: %v after %v", err, time.Since(start))
	}
}

func TestFaultRules(t *testing.T) {
	srv, c := newSim(t, Config{Faults: "gemini-3-pro-image:503x2", Seed: 7})
	ctx := context.Background()
	var codes []int
	for range 3 {
		_, err := c.Models.GenerateContent(ctx, "gemini-3-pro-image", genai.Text("x"), nil)
		code := 200
		if err != nil {
			code = apiError(t, err).Code
		}
		codes = append(codes, code)
	}
	if codes[0] != 503 || codes[1] != 503 || codes[2] != 200 {
		t.Errorf("codes %v", codes)
	}
	if _, err := c.Models.GenerateContent(ctx, "gemini-2.5-flash-image", genai.Text("x"), nil); err != nil {
		t.Errorf("other model affected: %v", err)
	}
	srv.Reset()
	if _, err := c.Models.GenerateContent(ctx, "gemini-3-pro-image", genai.Text("x"), nil); err == nil {
		t.Error("Reset did not restore rule counts")
	}
}

func TestProbabilisticFaultsDeterministic(t *testing.T) {
	run := func() []bool {
		in := newInjector(mustParse(t, "503@0.5"), 42)
		var out []bool
		for range 50 {
			_, ok := in.next("m")
			out = append(out, ok)
		}
		return out
	}
	a, b := run(), run()
	hits := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different faults")
		}
		if a[i] {
			hits++
		}
	}
	if hits < 10 || hits > 40 {
		t.Errorf("hits %d of 50 at p=0.5", hits)
	}
}

func mustParse(t *testing.T, spec string) []FaultRule {
	t.Helper()
	r, err := ParseFaults(spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseFaults(t *testing.T) {
	r := mustParse(t, " 503@0.3, 429=20s@0.1 ,gemini-3-pro-image:503x5,slow=1s,hang@1")
	if len(r) != 5 || r[0].Probability != 0.3 || r[1].Fault.Delay != 20*time.Second ||
		r[2].Model != "gemini-3-pro-image" || r[2].Count != 5 || r[3].Probability != 1 || r[3].Fault.Kind != KindSlow {
		t.Errorf("parsed %+v", r)
	}
	if r, err := ParseFaults(""); err != nil || r != nil {
		t.Errorf("empty spec: %v %v", r, err)
	}
	for _, bad := range []string{"418", "503@2", "503@x", "503x0", ":503", "500=1s", "slow=fast", "429@"} {
		_, err := ParseFaults(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if strings.HasPrefix(bad, "418") && !strings.Contains(err.Error(), "kinds: 400-key, 403") {
			t.Errorf("%q: error does not list kinds: %v", bad, err)
		}
	}
	if _, err := New(Config{Faults: "nope"}); err == nil {
		t.Error("New accepted a bad spec")
	}
}

// fakeClock is a settable clock for quota tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestQuotas(t *testing.T) {
	// 2026-03-02 23:57:00 in Los Angeles.
	clk := &fakeClock{t: time.Date(2026, 3, 2, 23, 57, 0, 0, pacific)}
	const model = "gemini-3.1-flash-image-preview"
	_, c := newSim(t, Config{Clock: clk.now, Quotas: map[string]Quota{model: {RPM: 2, RPD: 3}}})
	ctx := context.Background()
	call := func() error {
		_, err := c.Models.GenerateContent(ctx, model, genai.Text("x"), imageConfig("1:1", "512", false))
		return err
	}
	if call() != nil || call() != nil {
		t.Fatal("within quota failed")
	}
	clk.add(15 * time.Second)
	e := apiError(t, call())
	if e.Code != 429 || !strings.Contains(e.Message, "Please retry in 45s.") || !strings.Contains(e.Message, "limit: 2, model: "+model) {
		t.Errorf("rpm: %d %q", e.Code, e.Message)
	}
	if d := retryDelay(e); d != "45s" {
		t.Errorf("rpm retryDelay %q", d)
	}
	clk.add(45 * time.Second)
	if err := call(); err != nil {
		t.Fatalf("after the minute: %v", err)
	}
	clk.add(time.Minute)
	e = apiError(t, call()) // 4th request of the day
	if !strings.Contains(e.Message, "per_day") || retryDelay(e) != "60s" {
		t.Errorf("rpd: %q %q", e.Message, retryDelay(e))
	}
	clk.add(time.Minute) // past Pacific midnight
	if err := call(); err != nil {
		t.Errorf("after midnight: %v", err)
	}
	// Other models are unaffected.
	if _, err := c.Models.GenerateContent(ctx, "gemini-2.5-flash-image", genai.Text("x"), nil); err != nil {
		t.Error(err)
	}
}

func TestImagesPerMinute(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)}
	q := newQuotas(map[string]Quota{"m": {IPM: 1}})
	if _, _, _, ok := q.admit("m", clk.now(), 1); !ok {
		t.Fatal("first image refused")
	}
	clk.add(10 * time.Second)
	d, lim, wait, ok := q.admit("m", clk.now(), 1)
	if ok || d.name != "IPM" || lim != 1 || wait != 50*time.Second {
		t.Errorf("ipm: %v %d %v %v", d, lim, wait, ok)
	}
}

func retryDelay(e genai.APIError) string {
	for _, d := range e.Details {
		if d["@type"] == typeRetryInfo {
			s, _ := d["retryDelay"].(string)
			return s
		}
	}
	return ""
}

func TestPathPrefixAndVertex(t *testing.T) {
	srv, _ := newSim(t, Config{})
	ctx := context.Background()
	c, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: "k", Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL() + "proxy/"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Models.GenerateContent(ctx, "gemini-2.5-flash-image", genai.Text("x"), nil); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if p := reqs[len(reqs)-1].Path; p != "/proxy/v1beta/models/gemini-2.5-flash-image:generateContent" {
		t.Errorf("path %q", p)
	}
	v, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: "k", Backend: genai.BackendVertexAI,
		HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	// Vertex does not reject replayed model parts without signatures.
	contents := []*genai.Content{genai.NewContentFromText("a", genai.RoleUser),
		{Role: "model", Parts: []*genai.Part{{Text: "unsigned"}}}, genai.NewContentFromText("b", genai.RoleUser)}
	if _, err := v.Models.GenerateContent(ctx, "gemini-3-pro-image-preview", contents, nil); err != nil {
		t.Fatalf("vertex: %v", err)
	}
	reqs = srv.Requests()
	if p := reqs[len(reqs)-1].Path; !strings.Contains(p, "/v1beta1/publishers/google/models/") {
		t.Errorf("vertex path %q", p)
	}
}

func BenchmarkGenerate4K(b *testing.B) {
	_, c := newSim(b, Config{})
	ctx := context.Background()
	cfg := imageConfig("16:9", "4K", false)
	if _, err := c.Models.GenerateContent(ctx, "gemini-3-pro-image-preview", genai.Text("a banana"), cfg); err != nil {
		b.Fatal(err) // warms the PNG cache
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Models.GenerateContent(ctx, "gemini-3-pro-image-preview", genai.Text("a banana"), cfg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRender4KUncached(b *testing.B) {
	for b.Loop() {
		_ = renderPNG(imageKey{W: 5504, H: 3072, Variant: 1})
	}
}

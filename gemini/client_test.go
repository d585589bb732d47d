package gemini

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
)

func newTestClient(t *testing.T, cfg Config) (*Client, *geminitest.Server) {
	t.Helper()
	sim, err := geminitest.New(geminitest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	cfg.APIKey, cfg.BaseURL = "k", sim.URL()
	c, err := NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, sim
}

func TestGenerateReadsPartsDirectly(t *testing.T) {
	c, sim := newTestClient(t, Config{})
	res, err := c.Generate(context.Background(), Request{Prompt: "a pear", KeepDrafts: true, Options: Options{Model: "nano-banana-pro", ImageSize: "4K", AspectRatio: "1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Width != 4096 || res.Height != 4096 || res.DraftCount == 0 || len(res.Drafts) != res.DraftCount {
		t.Errorf("final %d×%d drafts %d kept %d", res.Width, res.Height, res.DraftCount, len(res.Drafts))
	}
	if res.Usage.ImageTokens != 2000 || res.CostUSD < 0.24 || res.Finish != "STOP" || res.Text == "" {
		t.Errorf("usage %+v cost %v finish %q text %q", res.Usage, res.CostUSD, res.Finish, res.Text)
	}
	// The model turn is kept exactly, signatures included, for conversations.
	var signed int
	for _, p := range res.Content.Parts {
		if len(p.ThoughtSignature) > 0 {
			signed++
		}
	}
	if signed < 2 || res.UserContent.Role != genai.RoleUser {
		t.Errorf("signed parts %d, user role %q", signed, res.UserContent.Role)
	}
	body := sim.Requests()[0].Body
	gc := body["generationConfig"].(map[string]any)
	if gc["thinkingConfig"].(map[string]any)["includeThoughts"] != true {
		t.Errorf("thoughts not requested: %v", gc)
	}
	if _, ok := body["candidateCount"]; ok {
		t.Error("candidateCount must not be sent: image models reject values above 1")
	}
}

func TestGenerateWithoutImageIsNeverSuccess(t *testing.T) {
	c, sim := newTestClient(t, Config{Resilience: Resilience{MaxAttempts: 1}})
	cases := []struct {
		fault geminitest.Fault
		cat   apierrors.Category
		says  string
	}{
		{geminitest.ImageSafety(), apierrors.SafetyBlocked, "Prohibited Use policy"}, // finishMessage, which the SDK drops
		{geminitest.NoImage(), apierrors.NoImage, ""},
		{geminitest.ImageOther(), apierrors.NoImage, ""},
		{geminitest.PromptBlocked("PROHIBITED_CONTENT"), apierrors.SafetyBlocked, ""},
	}
	for _, tc := range cases {
		sim.Enqueue("", tc.fault)
		_, err := c.Generate(context.Background(), Request{Prompt: "p"})
		d := apierrors.Classify(err)
		if d.Category != tc.cat || d.Model != "gemini-nano-banana-2.1" {
			t.Errorf("%s: %+v", tc.fault.Kind, d)
		}
		if tc.says != "" && !strings.Contains(d.Summary+d.Detail+d.Cause, tc.says) {
			t.Errorf("%s: the model's own words are missing: %+v", tc.fault.Kind, d)
		}
	}
}

func TestPerRequestDeadline(t *testing.T) {
	c, sim := newTestClient(t, Config{Timeout: 50 * time.Millisecond, Timeout4K: time.Hour, Resilience: Resilience{MaxAttempts: 1}})
	if c.deadline("4K") != time.Hour || c.deadline("2K") != 50*time.Millisecond {
		t.Fatalf("deadline by size: %v %v", c.deadline("4K"), c.deadline("2K"))
	}
	sim.Enqueue("", geminitest.Hang())
	start := time.Now()
	_, err := c.Generate(context.Background(), Request{Prompt: "p"})
	if !errors.Is(err, context.DeadlineExceeded) || apierrors.Classify(err).Category != apierrors.Timeout {
		t.Errorf("err %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("the deadline did not cut the hanging call")
	}
}

func TestNoKeyFailsLocally(t *testing.T) {
	c, err := NewClient(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Generate(context.Background(), Request{Prompt: "p"})
	if d := apierrors.Classify(err); d.Category != apierrors.Auth || !strings.Contains(d.Summary, "--simulate") {
		t.Errorf("%+v", d)
	}
	if _, err := c.Generate(context.Background(), Request{Prompt: "p", Options: Options{AspectRatio: "5:1"}}); apierrors.Classify(err).Category != apierrors.UnsupportedParameter {
		t.Errorf("validation runs before the key check: %v", err)
	}
}

func TestUpstreamErrorsSurface(t *testing.T) {
	c, sim := newTestClient(t, Config{Resilience: Resilience{MaxAttempts: 1}})
	sim.Enqueue("", geminitest.Overloaded())
	_, err := c.Generate(context.Background(), Request{Prompt: "p", Options: Options{Model: "nano-banana-pro"}})
	var api genai.APIError
	if !errors.As(err, &api) || api.Code != 503 {
		t.Fatalf("err %v; the SDK's APIError stays reachable through the diagnosis", err)
	}
	if d := apierrors.Classify(err, apierrors.ForModel("gemini-3-pro-image")); d.Category != apierrors.Overloaded || !d.Retryable {
		t.Errorf("%+v", d)
	}
}

func TestVertexExpressModeReachesPublisherPath(t *testing.T) {
	sim, err := geminitest.New(geminitest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	c, err := NewClient(context.Background(), Config{Vertex: true, APIKey: "vertex-express-key", BaseURL: sim.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Backend() != "vertex-ai" {
		t.Errorf("backend %q", c.Backend())
	}
	if _, err := c.Generate(context.Background(), Request{Prompt: "p", Options: Options{Model: "nano-banana-pro"}}); err != nil {
		t.Fatal(err)
	}
	if p := sim.Requests()[0].Path; p != "/v1beta1/publishers/google/models/gemini-3-pro-image:generateContent" {
		t.Errorf("path %q", p)
	}
}

func TestVertexRegionIsCheckedBeforeSending(t *testing.T) {
	c := &Client{reg: DefaultRegistry(), backend: "vertex-ai", location: "us-central1", sdk: &genai.Client{}}
	_, err := c.Generate(context.Background(), Request{Prompt: "p", Options: Options{Model: "nano-banana-pro"}})
	if d := apierrors.Classify(err); d.Category != apierrors.LocationUnsupported || !strings.Contains(d.Summary, "GOOGLE_CLOUD_LOCATION=global") {
		t.Errorf("%+v", d)
	}
}

// A 404 for a model with no successor is reported as not found after one call: the
// preview ids Google shut down in June are never tried.
func TestNotFoundWithoutSuccessorIsOneCall(t *testing.T) {
	c, sim := newTestClient(t, Config{})
	sim.Enqueue("gemini-3-pro-image", geminitest.NotFound())
	_, err := c.Generate(context.Background(), Request{Prompt: "p", Options: Options{Model: "nano-banana-pro"}})
	if d := apierrors.Classify(err); d.Category != apierrors.ModelNotFound {
		t.Errorf("%+v", d)
	}
	if n := len(sim.Requests()); n != 1 {
		t.Errorf("%d upstream calls; want 1", n)
	}
}

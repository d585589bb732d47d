package tools_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience/resiliencetest"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// resilientHarness: the whole retry layer, on a fake clock that the test moves.
func resilientHarness(t *testing.T) (*harness, *resiliencetest.FakeClock) {
	t.Helper()
	sim, err := geminitest.New(geminitest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	clock := resiliencetest.NewFakeClock(time.Now())
	gc, err := gemini.NewClient(context.Background(), gemini.Config{APIKey: "k", BaseURL: sim.URL(),
		Resilience: gemini.Resilience{Fallbacks: gemini.DefaultFallbacks, Clock: clock,
			Breaker: resilience.NewBreaker(resilience.BreakerConfig{Clock: clock})}})
	if err != nil {
		t.Fatal(err)
	}
	return newHarnessWith(t, sim, gc), clock
}

// callDriven makes a tool call with a progress token while moving the fake clock to every
// timer the server waits on; it returns the result and the progress messages. It is
// callParked with no generation to wait for: any pending timer is advanced.
func callDriven(t *testing.T, h *harness, clock *resiliencetest.FakeClock, name string, args map[string]any) (*mcp.CallToolResult, []string) {
	t.Helper()
	return callParked(t, h, clock, 0, name, args)
}

func TestRateLimitedCallIsRetriedWithProgress(t *testing.T) {
	h, clock := resilientHarness(t)
	h.sim.Enqueue("", geminitest.RateLimited(37*time.Second))
	res, msgs := callDriven(t, h, clock, "generate_image", map[string]any{"prompt": "a fox", "model": "nano-banana-pro", "output": "path"})
	var out tools.ImageOutput
	structured(t, res, &out)
	if res.IsError || out.Attempts != 2 || out.Model != "gemini-3-pro-image" {
		t.Fatalf("attempts %d model %s: %s", out.Attempts, out.Model, text(res))
	}
	joined := strings.Join(msgs, "\n")
	if !strings.Contains(joined, "waiting") || !strings.Contains(joined, "per-minute quota of gemini-3-pro-image") ||
		!strings.Contains(joined, "attempt 2 of 4") {
		t.Errorf("progress while waiting should say what is happening:\n%s", joined)
	}
}

func TestOverloadedProIsServedByFallback(t *testing.T) {
	h, clock := resilientHarness(t)
	h.sim.Enqueue("gemini-3-pro-image", geminitest.Overloaded())
	res, _ := callDriven(t, h, clock, "generate_image", map[string]any{"prompt": "a fox", "model": "nano-banana-pro", "image_size": "2K", "output": "path"})
	var out tools.ImageOutput
	structured(t, res, &out)
	if res.IsError || out.Model != "gemini-nano-banana-2.1" || out.FallbackFrom != "gemini-3-pro-image" {
		t.Fatalf("model %s fallback_from %s: %s", out.Model, out.FallbackFrom, text(res))
	}
	rep, _ := callDriven(t, h, clock, "usage_report", nil)
	var u tools.UsageReportOutput
	structured(t, rep, &u)
	if u.Calls != 1 || u.Fallbacks != 1 || u.UpstreamErrs["overloaded"] != 1 || u.Attempts != 2 {
		t.Errorf("usage report %+v", u.UsageReport)
	}
}

// A conversation never falls back: its signatures are bound to the model.
func TestConversationOnOverloadedModelSaysHowToGoOn(t *testing.T) {
	h, clock := resilientHarness(t)
	first, _ := callDriven(t, h, clock, "generate_image", map[string]any{"prompt": "a fox", "model": "nano-banana-pro", "output": "path"})
	var out tools.ImageOutput
	structured(t, first, &out)
	for range 4 {
		h.sim.Enqueue("gemini-3-pro-image", geminitest.Overloaded())
	}
	res, _ := callDriven(t, h, clock, "edit_image", map[string]any{"prompt": "in winter", "conversation_id": out.ConversationID})
	if !res.IsError || !strings.Contains(text(res), "conversation") {
		t.Errorf("got %s", text(res))
	}
	for _, r := range h.sim.Requests() {
		if r.Model != "gemini-3-pro-image" {
			t.Errorf("the conversation went to %s", r.Model)
		}
	}
}

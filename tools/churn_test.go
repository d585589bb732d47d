package tools_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// Through MCP: nano-banana-2 on an upstream that shut it down is served by 2.1, with the
// note, model and fallback_from a client shows.
func TestShutDownModelIsServedBySuccessorThroughMCP(t *testing.T) {
	sim, err := geminitest.New(geminitest.Config{Faults: "gemini-3.1-flash-image:gone"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	h := newHarnessWithSim(t, sim)
	res := h.call(t, "check_config", nil) // lists the models, as the server does at start-up
	if !strings.Contains(text(res), "gemini-3.1-flash-image was shut down by Google; calls go to its successor gemini-nano-banana-2.1") {
		t.Errorf("check_config: %s", text(res))
	}
	sim.Reset()
	res = h.call(t, "generate_image", map[string]any{"prompt": "a pear", "model": "nano-banana-2", "output": "path"})
	var out tools.ImageOutput
	structured(t, res, &out)
	if res.IsError || out.Model != "gemini-nano-banana-2.1" || out.FallbackFrom != "gemini-3.1-flash-image" {
		t.Fatalf("model %s from %s: %s", out.Model, out.FallbackFrom, text(res))
	}
	if !slices.Contains(out.Notes, "gemini-3.1-flash-image was shut down by Google; used its successor gemini-nano-banana-2.1") {
		t.Errorf("notes %q", out.Notes)
	}
	if calls := sim.GenerateModels(); len(calls) != 1 {
		t.Errorf("upstream calls %v; want one", calls)
	}
	lm := h.call(t, "list_models", nil)
	var models tools.ListModelsOutput
	structured(t, lm, &models)
	for _, m := range models.Models {
		if m.ID == "gemini-3.1-flash-image" && (m.Availability != gemini.StateUnavailable || !strings.Contains(m.Warning, "successor")) {
			t.Errorf("list_models NB2: %+v", m)
		}
	}
}

// A conversation pinned to a model that has since been shut down names the image to start
// again from, and edit_image with that image continues on the successor in one step.
func TestConversationOnShutDownModelNamesTheImage(t *testing.T) {
	sim, err := geminitest.New(geminitest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	h := newHarnessWithSim(t, sim)
	first := h.call(t, "generate_image", map[string]any{"prompt": "a pear", "model": "nano-banana-2", "output": "path"})
	var out tools.ImageOutput
	structured(t, first, &out)
	if out.Model != "gemini-3.1-flash-image" {
		t.Fatalf("first turn on %s", out.Model)
	}
	sim.Shutdown("gemini-3.1-flash-image")
	res := h.call(t, "edit_image", map[string]any{"prompt": "in winter", "conversation_id": out.ConversationID})
	if !res.IsError || !strings.Contains(text(res), "shut down") || !strings.Contains(text(res), "image="+out.ImageID) {
		t.Fatalf("got %s", text(res))
	}
	res = h.call(t, "edit_image", map[string]any{"prompt": "in winter", "image": out.ImageID, "output": "path"})
	var next tools.ImageOutput
	structured(t, res, &next)
	if res.IsError || next.Model != "gemini-nano-banana-2.1" {
		t.Errorf("new conversation on %s: %s", next.Model, text(res))
	}
}

func TestRetirementShowsInNotesAndListModels(t *testing.T) {
	sim, err := geminitest.New(geminitest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	sim.Retire("gemini-nano-banana-2.1", time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))
	h := newHarnessWithSim(t, sim)
	res := h.call(t, "generate_image", map[string]any{"prompt": "a pear", "output": "path"})
	var out tools.ImageOutput
	structured(t, res, &out)
	if res.IsError || !strings.Contains(strings.Join(out.Notes, "\n"), "being retired by Google on 2027-03-01") {
		t.Errorf("notes %q: %s", out.Notes, text(res))
	}
	lm := h.call(t, "list_models", nil)
	var models tools.ListModelsOutput
	structured(t, lm, &models)
	if m := models.Models[0]; m.ID != "gemini-nano-banana-2.1" || m.Availability != gemini.StateRetiring ||
		m.RetirementTime != "2027-03-01T00:00:00Z" || !strings.Contains(text(lm), "warning: gemini-nano-banana-2.1 is being retired") {
		t.Errorf("list_models: %+v\n%s", m, text(lm))
	}
}

func TestThinkingLevelThroughMCP(t *testing.T) {
	h := newHarness(t)
	res := h.call(t, "generate_image", map[string]any{"prompt": "a pear", "thinking_level": "medium", "output": "path"})
	if res.IsError {
		t.Fatalf("medium on 2.1: %s", text(res))
	}
	n := len(h.sim.Requests())
	res = h.call(t, "generate_image", map[string]any{"prompt": "a pear", "model": "nano-banana-pro", "thinking_level": "medium"})
	if !res.IsError || !strings.Contains(text(res), "gemini-nano-banana-2.1") || len(h.sim.Requests()) != n {
		t.Errorf("Pro with medium: %s", text(res))
	}
}

// A running server's schemas come from the registry it runs with: a --models-file with a
// new ratio widens the aspect_ratio enum.
func TestSchemasFollowTheRegistry(t *testing.T) {
	var f struct {
		Default string           `json:"default"`
		Models  []map[string]any `json:"models"`
	}
	data, err := os.ReadFile(filepath.Join("..", "gemini", "models.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	m := f.Models[0]
	m["aspect_ratios"] = append(m["aspect_ratios"].([]any), "2:1")
	m["thinking_levels"] = append(m["thinking_levels"].([]any), "extreme")
	edited, _ := json.Marshal(f)
	reg, err := gemini.ParseRegistry(edited)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := geminitest.New(geminitest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	gc, err := gemini.NewClient(context.Background(), gemini.Config{APIKey: "k", BaseURL: sim.URL(), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range tools.New(tools.Wiring{Gemini: gc}).All() {
		if tl.Tool.Name != "generate_image" {
			continue
		}
		var schema struct {
			Properties map[string]struct {
				Enum []string `json:"enum"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(tl.Tool.RawInputSchema, &schema); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(schema.Properties["aspect_ratio"].Enum, "2:1") || !slices.Contains(schema.Properties["thinking_level"].Enum, "extreme") {
			t.Errorf("enums %+v", schema.Properties)
		}
	}
}

// explain_error names the registry's successor for a pasted 404 of a retired model.
func TestExplainErrorNamesSuccessor(t *testing.T) {
	h := newHarness(t)
	pasted := `Error 404, Message: models/gemini-3.1-flash-image is not found for API version v1beta, or is not supported for generateContent., Status: NOT_FOUND, Details: []`
	res := h.call(t, "explain_error", map[string]any{"error": pasted})
	if !strings.Contains(text(res), "use gemini-nano-banana-2.1 instead") {
		t.Errorf("got %s", text(res))
	}
}

// check_config of a model the server knows is shut down says its calls go to the successor,
// and passes: it is handled, not a wrong id to look up.
func TestCheckConfigOfAShutDownModelNamesTheSuccessor(t *testing.T) {
	sim, err := geminitest.New(geminitest.Config{Faults: "gemini-3.1-flash-image:gone"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	h := newHarnessWithSim(t, sim)
	res := h.call(t, "check_config", map[string]any{"models": []any{"nano-banana-2"}})
	var out tools.CheckConfigOutput
	structured(t, res, &out)
	if !out.OK || res.IsError || strings.Contains(text(res), "not found") || strings.Contains(text(res), "FAIL") {
		t.Errorf("check_config of a shut-down model: %s", text(res))
	}
	found := false
	for _, c := range out.Checks {
		found = found || c.Check == "model gemini-3.1-flash-image" && strings.Contains(c.Detail, "successor gemini-nano-banana-2.1")
	}
	if !found {
		t.Errorf("no check names the successor: %s", text(res))
	}
}

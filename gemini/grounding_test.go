package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

func seedOf(v int64) *int64 { return &v }

func TestSeedIsSentAndDecidesThePicture(t *testing.T) {
	c, sim := newTestClient(t, Config{})
	gen := func(seed int64) *Result {
		t.Helper()
		res, err := c.Generate(context.Background(), Request{Prompt: "a lighthouse", Options: Options{Seed: seedOf(seed)}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Seed == nil || int64(*res.Seed) != seed {
			t.Fatalf("result seed %v, want %d", res.Seed, seed)
		}
		return res
	}
	a, b, other := gen(42), gen(42), gen(43)
	if !bytes.Equal(a.Image.Data, b.Image.Data) {
		t.Error("the same seed and prompt gave different pictures")
	}
	if bytes.Equal(a.Image.Data, other.Image.Data) {
		t.Error("seeds 42 and 43 gave the same picture")
	}
	if far := gen(42 + 8*1000); bytes.Equal(a.Image.Data, far.Image.Data) {
		t.Error("seeds 42 and 8042 gave the same picture")
	}
	reqs := sim.Requests()
	cfg, _ := reqs[len(reqs)-1].Body["generationConfig"].(map[string]any)
	if cfg["seed"] != float64(8042) {
		t.Errorf("generationConfig on the wire %v, want seed 8042", cfg)
	}
	_, err := c.Generate(context.Background(), Request{Prompt: "p", Options: Options{Seed: seedOf(1 << 40)}})
	if d := apierrors.Classify(err); d.Category != apierrors.InvalidRequest || !strings.Contains(d.Summary, "-2147483648 to 2147483647") {
		t.Errorf("out-of-range seed: %v", err)
	}
}

func TestImageSearchGroundsAndReturnsSources(t *testing.T) {
	c, sim := newTestClient(t, Config{})
	res, err := c.Generate(context.Background(), Request{Prompt: "the Eiffel Tower today", Options: Options{Model: "nano-banana-2.1", ImageSearch: true}})
	if err != nil {
		t.Fatal(err)
	}
	tools, _ := sim.Requests()[0].Body["tools"].([]any)
	if len(tools) != 1 || !strings.Contains(jsonString(tools[0]), `"searchTypes":{"imageSearch":{},"webSearch":{}}`) {
		t.Errorf("tools on the wire %s, want Google Search with web and image search", jsonString(tools))
	}
	g := res.Grounding
	if g == nil || len(g.WebQueries) == 0 || len(g.ImageQueries) == 0 || len(g.Sources) < 2 ||
		g.Sources[0].URL == "" || g.Sources[0].Title == "" || !strings.Contains(g.SearchSuggestionsHTML, "<a") {
		t.Fatalf("grounding %+v", g)
	}
	// Web search alone sends the plain tool, as before.
	if _, err := c.Generate(context.Background(), Request{Prompt: "p", Options: Options{Model: "nano-banana-pro", GoogleSearch: true}}); err != nil {
		t.Fatal(err)
	}
	if got := jsonString(sim.Requests()[1].Body["tools"]); got != `[{"googleSearch":{}}]` {
		t.Errorf("web-only tools %s", got)
	}
}

func TestImageSearchOnProIsRefusedBeforeTheCall(t *testing.T) {
	c, sim := newTestClient(t, Config{})
	_, err := c.Generate(context.Background(), Request{Prompt: "p", Options: Options{Model: "nano-banana-pro", ImageSearch: true}})
	d := apierrors.Classify(err)
	if d.Category != apierrors.UnsupportedParameter || !strings.Contains(d.Summary, "gemini-nano-banana-2.1, gemini-3.1-flash-image") ||
		!strings.Contains(d.Summary, "image_search") {
		t.Errorf("diagnosis %+v", d)
	}
	_, err = c.Generate(context.Background(), Request{Prompt: "p", Options: Options{Model: "nano-banana", GoogleSearch: true}})
	if d := apierrors.Classify(err); d.Category != apierrors.UnsupportedParameter || !strings.Contains(d.Summary, "gemini-3-pro-image") {
		t.Errorf("web search on 2.5: %+v", d)
	}
	if n := len(sim.Requests()); n != 0 {
		t.Errorf("%d upstream calls for refused requests", n)
	}
}

// A call that asked for search never lands on a fallback that cannot search.
func TestSearchSkipsFallbacksThatCannotSearch(t *testing.T) {
	c, _, _ := resilientClient(t, DefaultFallbacks...)
	plan, err := c.reg.Validate(Request{Prompt: "p", Options: Options{Model: "nano-banana-2.1", ImageSearch: true}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nano-banana-pro", "nano-banana-2-lite", "nano-banana"} {
		if _, ok := c.adapt(plan, name); ok {
			t.Errorf("image search would fall back to %s", name)
		}
	}
	plan.ImageSearch = false
	if _, ok := c.adapt(plan, "nano-banana-pro"); !ok {
		t.Error("web search cannot fall back to Pro, which searches the web")
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

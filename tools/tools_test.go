package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

func allTools(t *testing.T) []tools.Tool {
	t.Helper()
	gc, err := gemini.NewClient(context.Background(), gemini.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return tools.New(tools.Wiring{Gemini: gc}).All()
}

// TestToolSnapshots fails when a tool's schema changes without its snapshot being reviewed:
// UPDATE_TOOLSNAPS=true go test ./tools rewrites them.
func TestToolSnapshots(t *testing.T) {
	for _, tl := range allTools(t) {
		got, err := json.MarshalIndent(tl.Tool, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		path := filepath.Join("testdata", "toolsnaps", tl.Tool.Name+".json")
		if os.Getenv("UPDATE_TOOLSNAPS") == "true" {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s has no snapshot; run UPDATE_TOOLSNAPS=true go test ./tools and review it", tl.Tool.Name)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s schema changed; review and run UPDATE_TOOLSNAPS=true go test ./tools\n%s", tl.Tool.Name, got)
		}
	}
}

func TestToolInvariants(t *testing.T) {
	for _, tl := range allTools(t) {
		tool := tl.Tool
		a := tool.Annotations
		if a.ReadOnlyHint == nil || a.DestructiveHint == nil || a.IdempotentHint == nil || a.OpenWorldHint == nil || a.Title == "" {
			t.Errorf("%s: all four annotations and a title must be set explicitly", tool.Name)
		}
		if tool.Description == "" || tl.Handler == nil {
			t.Errorf("%s: description and handler are required", tool.Name)
		}
		var schema map[string]any
		if err := json.Unmarshal(tool.RawInputSchema, &schema); err != nil {
			t.Fatalf("%s: input schema: %v", tool.Name, err)
		}
		if schema["type"] != "object" {
			t.Errorf("%s: input schema type %v", tool.Name, schema["type"])
		}
		for _, k := range []string{"anyOf", "oneOf", "allOf"} {
			if _, ok := schema[k]; ok {
				t.Errorf("%s: top-level %s (strict clients reject it)", tool.Name, k)
			}
		}
		var out map[string]any
		if err := json.Unmarshal(tool.RawOutputSchema, &out); err != nil || out["type"] != "object" {
			t.Errorf("%s: every tool declares an object output schema (%v)", tool.Name, err)
		}
		if bytes.Contains(tool.RawInputSchema, []byte(`"null"`)) || bytes.Contains(tool.RawOutputSchema, []byte(`"null"`)) {
			t.Errorf("%s: nullable type lists confuse strict clients", tool.Name)
		}
	}
}

// The schema's enumerations must match what the registry supports.
func TestGenerateImageEnumsMatchRegistry(t *testing.T) {
	reg := gemini.DefaultRegistry()
	var schema struct {
		Properties map[string]struct {
			Enum []string `json:"enum"`
		} `json:"properties"`
	}
	gen := allTools(t)[0].Tool
	if err := json.Unmarshal(gen.RawInputSchema, &schema); err != nil {
		t.Fatal(err)
	}
	if got := schema.Properties["aspect_ratio"].Enum; !sameSet(got, reg.AllAspectRatios()) {
		t.Errorf("aspect_ratio enum %v, registry %v", got, reg.AllAspectRatios())
	}
	if got := schema.Properties["image_size"].Enum; !sameSet(got, reg.AllSizes()) {
		t.Errorf("image_size enum %v, registry %v", got, reg.AllSizes())
	}
	if got := schema.Properties["output"].Enum; !sameSet(got, tools.OutputModes) {
		t.Errorf("output enum %v, modes %v", got, tools.OutputModes)
	}
}

func TestListModels(t *testing.T) {
	h := newHarness(t)
	res := h.call(t, "list_models", nil)
	var out tools.ListModelsOutput
	structured(t, res, &out)
	if res.IsError || out.Default != "gemini-nano-banana-2.1" || len(out.Models) < 3 {
		t.Fatalf("got %+v", out)
	}
	for _, m := range out.Models {
		if m.ID == "gemini-3-pro-image" && (slices.Contains(m.Sizes, "512") || !slices.Contains(m.Replaces, "gemini-3-pro-image-preview")) {
			t.Errorf("pro: %+v", m)
		}
	}
}

func sameSet(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(s string) bool { return !slices.Contains(b, s) })
}

func tinyPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 6))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

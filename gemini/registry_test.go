package gemini

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

func TestRegistryResolvesIDsAliasesAndRetiredIDs(t *testing.T) {
	r := DefaultRegistry()
	cases := []struct{ name, id, note string }{
		{"nano-banana-2", "gemini-3.1-flash-image", ""},
		{"nano-banana-2.1", "gemini-nano-banana-2.1", ""},
		{"nano-banana-2-lite", "gemini-3.1-flash-lite-image", ""},
		{"NANO-BANANA-PRO", "gemini-3-pro-image", ""},
		{"models/gemini-2.5-flash-image", "gemini-2.5-flash-image", ""},
		{"nano-banana", "gemini-2.5-flash-image", ""},
		{"gemini-3-pro-image-preview", "gemini-3-pro-image", "replaced by gemini-3-pro-image"},
		{"gemini-3.1-flash-image-preview", "gemini-3.1-flash-image", "replaced by gemini-3.1-flash-image"},
		{"gemini-2.5-flash-image-preview", "gemini-2.5-flash-image", "replaced"},
	}
	for _, c := range cases {
		res, err := r.Lookup(c.name)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if res.Model.ID != c.id || (c.note == "") != (res.Note == "") || !strings.Contains(res.Note, c.note) {
			t.Errorf("%s → %s note %q; want %s note %q", c.name, res.Model.ID, res.Note, c.id, c.note)
		}
	}
	if _, err := r.Lookup("imagen-4"); err == nil || !strings.Contains(err.Error(), "nano-banana-2") {
		t.Errorf("unknown model error %v should list the known names", err)
	}
	if repl, ok := r.Replacement("gemini-3-pro-image-preview"); !ok || repl != "gemini-3-pro-image" {
		t.Errorf("Replacement = %q %v", repl, ok)
	}
}

func TestParseRegistryRejectsBadData(t *testing.T) {
	base := `{"id":"m","name":"M","family":"flash","aspect_ratios":["1:1"],"sizes":["1K"],"default_size":"1K","max_reference_images":1,"thinking":false,"search":[],"image_tokens":{},"usd_per_image":{}}`
	cases := map[string]string{
		"empty":         `{"models":[]}`,
		"unknown field": `{"models":[` + strings.Replace(base, `"name"`, `"nmae"`, 1) + `]}`,
		"duplicate":     `{"models":[` + base + `,` + base + `]}`,
		"bad default":   `{"default":"zzz","models":[` + base + `]}`,
		"bad size":      `{"models":[` + strings.Replace(base, `"default_size":"1K"`, `"default_size":"2K"`, 1) + `]}`,
		"bad family":    `{"models":[` + strings.Replace(base, `"flash"`, `"ultra"`, 1) + `]}`,
		"not json":      `models:`,
		"bad successor": `{"models":[` + strings.Replace(base, `"search":[]`, `"search":[],"successor":"zzz"`, 1) + `]}`,
		"bad search":    `{"models":[` + strings.Replace(base, `"search":[]`, `"search":["news"]`, 1) + `]}`,
		"old grounding": `{"models":[` + strings.Replace(base, `"search":[]`, `"grounding":true`, 1) + `]}`,
	}
	for name, data := range cases {
		if _, err := ParseRegistry([]byte(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	r, err := ParseRegistry([]byte(`{"models":[` + base + `]}`))
	if err != nil || r.Default() != "m" {
		t.Fatalf("minimal registry: %v", err)
	}
}

func TestLoadRegistryFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "models.json")
	if err := os.WriteFile(path, embeddedModels, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRegistry(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRegistry(path + ".missing"); err == nil {
		t.Error("missing file accepted")
	}
}

func TestValidateNormalisesAndExplains(t *testing.T) {
	r := DefaultRegistry()
	p, err := r.Validate(Request{Prompt: " a cat ", Options: Options{Model: "nano-banana-2", ImageSize: "512px", AspectRatio: " 8:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Model.ID != "gemini-3.1-flash-image" || p.ImageSize != "512" || p.AspectRatio != "8:1" || p.Prompt != "a cat" {
		t.Errorf("plan %+v", p)
	}
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "normalised") {
		t.Errorf("notes %v", p.Notes)
	}
	p, err = r.Validate(Request{Prompt: "x", Options: Options{Model: "nano-banana"}})
	if err != nil || p.ImageSize != "1K" || p.Model.TakesSize() {
		t.Errorf("2.5 Flash: %+v %v; it takes no imageSize", p, err)
	}
	_, err = r.Validate(Request{Prompt: "x", Options: Options{Model: "nano-banana", GoogleSearch: true}})
	if e, ok := apierrors.As(err); !ok || e.Diagnosis.Category != apierrors.UnsupportedParameter ||
		!strings.Contains(e.Diagnosis.Summary, "gemini-3-pro-image") {
		t.Errorf("google_search on 2.5: %v", err)
	}
	_, err = r.Validate(Request{Prompt: "x", References: []Image{{}}})
	if e, ok := apierrors.As(err); !ok || e.Diagnosis.Category != apierrors.InvalidRequest {
		t.Errorf("empty reference: %v", err)
	}
}

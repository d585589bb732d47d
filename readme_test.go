package main

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// TestREADME keeps the generated README sections in step with the code:
// UPDATE_README=1 go test -run TestREADME . rewrites them.
func TestREADME(t *testing.T) {
	gc, err := gemini.NewClient(context.Background(), gemini.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{
		"TOOLS":   reference(tools.New(tools.Wiring{Gemini: gc}).All()),
		"ERRORS":  apierrors.RenderMarkdown(),
		"PRESETS": presetTable(),
		"MODELS":  modelTable(gc.Registry()),
	}
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	updated := string(raw)
	for name, body := range sections {
		re := regexp.MustCompile(`(?s)<!-- BEGIN ` + name + `[^>]*-->\n(.*?)<!-- END ` + name + ` -->`)
		m := re.FindStringSubmatchIndex(updated)
		if m == nil {
			t.Fatalf("README.md has no %s markers", name)
		}
		updated = updated[:m[2]] + "\n" + strings.TrimSpace(body) + "\n\n" + updated[m[3]:]
	}
	if updated == string(raw) {
		return
	}
	if os.Getenv("UPDATE_README") == "1" {
		if err := os.WriteFile("README.md", []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's generated sections are stale; run UPDATE_README=1 go test -run TestREADME . and commit")
}

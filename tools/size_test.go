package tools_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// tools/list budgets (DESIGN.md "Targets"): clients that forward schemas make the model's
// context pay for every byte, so the list stays small as tools are added.
const (
	listBudget    = 20_000 // the whole tools/list result
	visibleBudget = 8_000  // names, titles, descriptions and input schemas
)

// TestToolsListBudget ranges over tools.All, so a tool added later is counted too.
func TestToolsListBudget(t *testing.T) {
	var list mcp.ListToolsResult
	visible := 0
	for _, tl := range allTools(t) {
		list.Tools = append(list.Tools, tl.Tool)
		v, err := tools.ModelVisible(tl.Tool)
		if err != nil {
			t.Fatal(err)
		}
		visible += len(v)
	}
	raw, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tools/list %d bytes, model-visible %d bytes, %d tools", len(raw), visible, len(list.Tools))
	if len(raw) > listBudget {
		t.Errorf("tools/list is %d bytes, over its %d budget: share output definitions (describeOnce) or shorten descriptions", len(raw), listBudget)
	}
	if visible > visibleBudget {
		t.Errorf("the model-visible part of tools/list is %d bytes, over its %d budget: shorten tool and argument descriptions", visible, visibleBudget)
	}
}

// Every output schema describes its fields, and each description is paid for once: the
// Diagnosis in explain_error's schema, the image result in generate_image's. A field listed
// as {} is defined, with its type, by a tool the schema's description names.
func TestOutputSchemasDescribeOnce(t *testing.T) {
	seen := map[string]string{}
	typed := map[string]map[string]bool{} // tool → its top-level fields that carry a schema
	for _, tl := range allTools(t) {
		var schema map[string]any
		_ = json.Unmarshal(tl.Tool.RawOutputSchema, &schema)
		props, _ := schema["properties"].(map[string]any)
		typed[tl.Tool.Name] = map[string]bool{}
		for name, p := range props {
			if m, _ := p.(map[string]any); len(m) > 0 {
				typed[tl.Tool.Name][name] = true
			}
		}
	}
	for _, tl := range allTools(t) {
		var schema map[string]any
		_ = json.Unmarshal(tl.Tool.RawOutputSchema, &schema)
		desc, _ := schema["description"].(string)
		props, _ := schema["properties"].(map[string]any)
		for name, p := range props {
			if m, _ := p.(map[string]any); len(m) > 0 {
				continue
			}
			found := false
			for owner, fields := range typed {
				found = found || (fields[name] && owner != tl.Tool.Name && strings.Contains(desc, owner))
			}
			if !found {
				t.Errorf("%s: field %s is given as {} but no tool named in %q defines it", tl.Tool.Name, name, desc)
			}
		}
	}
	for _, tl := range allTools(t) {
		var schema map[string]any
		if err := json.Unmarshal(tl.Tool.RawOutputSchema, &schema); err != nil {
			t.Fatalf("%s: %v", tl.Tool.Name, err)
		}
		props, _ := schema["properties"].(map[string]any)
		if len(props) == 0 {
			t.Errorf("%s: the output schema declares no fields", tl.Tool.Name)
		}
		if d, _ := schema["description"].(string); !strings.Contains(d, "explain_error") {
			t.Errorf("%s: the output schema must say where failures (a Diagnosis) are described", tl.Tool.Name)
		}
		for name, p := range props {
			raw, _ := json.Marshal(p)
			if !strings.Contains(string(raw), `"description"`) {
				continue
			}
			key := name + string(raw)
			if first, dup := seen[key]; dup {
				t.Errorf("%s: field %s repeats the description %s already gives", tl.Tool.Name, name, first)
			}
			seen[key] = tl.Tool.Name
		}
	}
	if seen[`summary{"description":"one sentence: what happened and what to do","type":"string"}`] != "explain_error" {
		t.Error("explain_error's output schema must describe the Diagnosis")
	}
}

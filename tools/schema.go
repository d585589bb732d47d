package tools

import (
	"encoding/json"
	"sort"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
)

// registryEnums sets the enums of the model options (aspect_ratio, image_size,
// thinking_level) from the registry the server runs with, so that a model added to
// models.json or --models-file widens them with no code change.
func registryEnums(t mcp.Tool, reg *gemini.Registry) mcp.Tool {
	if len(t.RawInputSchema) == 0 || reg == nil {
		return t
	}
	enums := map[string][]string{
		"aspect_ratio":   reg.AllAspectRatios(),
		"image_size":     reg.AllSizes(),
		"thinking_level": reg.AllThinkingLevels(),
	}
	t.RawInputSchema = tidyRaw(t.RawInputSchema, func(schema map[string]any) {
		props, _ := schema["properties"].(map[string]any)
		for name, values := range enums {
			if p, ok := props[name].(map[string]any); ok && len(values) > 0 {
				p["enum"] = values
			}
		}
	})
	return t
}

// tidySchemas prepares the generated schemas for real clients.
//
// Nullable type lists: jsonschema-go marks slices and maps as ["null","array"], which
// Gemini-family and other strict schema consumers reject; an omitted argument already means
// "none".
//
// Failures: a failing call carries a Diagnosis as structuredContent, and the TypeScript SDK
// client validates structuredContent against the output schema even when isError is set
// (@modelcontextprotocol/sdk 1.32.2, client/index.js callTool). So every output schema also
// declares the Diagnosis fields and requires nothing: a result is either the tool's output or
// a Diagnosis. A top-level anyOf would say that more precisely, but strict clients reject it.
func tidySchemas(t mcp.Tool) mcp.Tool {
	if len(t.RawInputSchema) > 0 {
		t.RawInputSchema = tidyRaw(t.RawInputSchema, nil)
	}
	if t.OutputSchema.Type != "" {
		if raw, err := json.Marshal(t.OutputSchema); err == nil {
			t.RawOutputSchema = tidyRaw(raw, acceptDiagnosis)
			t.OutputSchema = mcp.ToolOutputSchema{}
		}
	}
	return t
}

func tidyRaw(raw json.RawMessage, also func(map[string]any)) json.RawMessage {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return raw
	}
	v = dropNullTypes(v)
	if m, ok := v.(map[string]any); ok && also != nil {
		also(m)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}

// acceptDiagnosis merges the Diagnosis properties into an output schema and drops required.
func acceptDiagnosis(schema map[string]any) {
	props, _ := schema["properties"].(map[string]any)
	if props == nil {
		return
	}
	diag := diagnosisProperties()
	names := make([]string, 0, len(diag))
	for k := range diag {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, exists := props[k]; !exists {
			props[k] = diag[k]
		}
	}
	delete(schema, "required")
	schema["description"] = "On success, the fields below that describe the result; on failure (isError), a Diagnosis: category, summary, retryable, fix, …"
}

func diagnosisProperties() map[string]any {
	tool := mcp.NewTool("diagnosis", mcp.WithOutputSchema[apierrors.Diagnosis]())
	raw, err := json.Marshal(tool.OutputSchema)
	if err != nil {
		return nil
	}
	var s struct {
		Properties map[string]any `json:"properties"`
	}
	_ = json.Unmarshal(tidyRaw(raw, nil), &s)
	return s.Properties
}

func dropNullTypes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if k == "type" {
				if list, ok := val.([]any); ok {
					var kept []any
					for _, t := range list {
						if t != "null" {
							kept = append(kept, t)
						}
					}
					if len(kept) == 1 {
						x[k] = kept[0]
					} else {
						x[k] = kept
					}
				}
				continue
			}
			x[k] = dropNullTypes(val)
		}
	case []any:
		for i := range x {
			x[i] = dropNullTypes(x[i])
		}
	}
	return v
}

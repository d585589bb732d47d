package tools

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// tidySchemas prepares the generated schemas for real clients.
//
// Nullable type lists: jsonschema-go marks slices and maps as ["null","array"], which
// Gemini-family and other strict schema consumers reject; an omitted argument already means
// "none".
//
// Failures: a failing call carries a Diagnosis as structuredContent, and the TypeScript SDK
// client validates structuredContent against the output schema even when isError is set
// (@modelcontextprotocol/sdk 1.32.2, client/index.js callTool). So every output schema
// requires nothing and allows more fields at its top level: a result is either the tool's
// output or a Diagnosis (explain_error's schema describes it). A top-level anyOf would say
// that more precisely, but strict clients reject it.
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

// acceptDiagnosis lets an output schema accept a Diagnosis too: nothing is required and the
// top level takes the Diagnosis fields. Those are described once, in explain_error's schema,
// rather than repeated in every tool's (they were 1.9 KB per tool, half of tools/list).
func acceptDiagnosis(schema map[string]any) {
	delete(schema, "required")
	delete(schema, "additionalProperties")
	schema["description"] = diagnosisNote
}

// diagnosisNote heads every output schema: a result is either the tool's output or a
// Diagnosis.
const diagnosisNote = "On isError: a Diagnosis, as explain_error describes."

// describeOnce keeps each output field's descriptions in the first tool (in list order) that
// declares it and strips them from the same field, described the same way, in every later
// tool, at any depth:
// generate_image, edit_image and get_generation return the same ImageOutput, and tools/list
// paid for its descriptions three times. Types, enums and required stay, so every schema
// still validates exactly what its results carry.
func describeOnce(list []Tool) {
	described := map[string]bool{} // field name + its whole schema, descriptions included
	for i := range list {
		t := &list[i].Tool
		var schema map[string]any
		if len(t.RawOutputSchema) == 0 || json.Unmarshal(t.RawOutputSchema, &schema) != nil {
			continue
		}
		if shareFields(schema, described) {
			if raw, err := json.Marshal(schema); err == nil {
				t.RawOutputSchema = raw
			}
		}
	}
}

// shareFields strips the descriptions of schema's fields already described elsewhere and
// records the others; it reports whether it changed anything.
func shareFields(schema map[string]any, described map[string]bool) bool {
	changed := false
	if items, ok := schema["items"].(map[string]any); ok {
		changed = shareFields(items, described)
	}
	props, _ := schema["properties"].(map[string]any)
	for _, name := range sortedKeys(props) {
		p, ok := props[name].(map[string]any)
		if !ok || !hasDescription(p) {
			continue
		}
		whole, _ := json.Marshal(p) // map keys sorted: a canonical form
		key := name + "\x00" + string(whole)
		if described[key] {
			props[name] = stripDescriptions(p)
			changed = true
			continue
		}
		described[key] = true
		changed = shareFields(p, described) || changed
	}
	return changed
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func hasDescription(schema map[string]any) bool {
	raw, _ := json.Marshal(schema)
	return strings.Contains(string(raw), `"description":`)
}

// stripDescriptions removes the descriptions of a schema and its subschemas (not properties
// that happen to be named "description").
func stripDescriptions(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	delete(m, "description")
	for _, k := range []string{"properties", "$defs", "definitions"} {
		if sub, ok := m[k].(map[string]any); ok {
			for name, s := range sub {
				sub[name] = stripDescriptions(s)
			}
		}
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if _, ok := m[k].(map[string]any); ok {
			m[k] = stripDescriptions(m[k])
		}
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if list, ok := m[k].([]any); ok {
			for i := range list {
				list[i] = stripDescriptions(list[i])
			}
		}
	}
	return m
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

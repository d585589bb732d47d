package tools

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

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
			t.RawOutputSchema = tidyRaw(raw, func(schema map[string]any) {
				if t.Name != describesDiagnosis {
					stripDescriptions(schema)
				}
				acceptDiagnosis(schema)
			})
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
	loosen(schema)
	schema["description"] = diagnosisNote
}

// loosen drops required and additionalProperties:false from an output schema at every depth.
// At the top they would reject a Diagnosis; below, they only make a client's validation fail
// on a field added or left empty in a later version, and they were 940 bytes of tools/list.
// Types, enums and the fields themselves stay.
func loosen(v any) {
	eachSchema(v, func(x map[string]any) {
		delete(x, "required")
		if ap, ok := x["additionalProperties"].(bool); ok && !ap {
			delete(x, "additionalProperties")
		}
	})
}

// eachSchema calls f on a schema and on each of its subschemas. The map under "properties"
// is not a schema (its keys are field names), so f sees its values, not the map itself.
func eachSchema(v any, f func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		f(x)
		for k, sub := range x {
			if props, ok := sub.(map[string]any); ok && k == "properties" {
				for _, p := range props {
					eachSchema(p, f)
				}
				continue
			}
			eachSchema(sub, f)
		}
	case []any:
		for _, e := range x {
			eachSchema(e, f)
		}
	}
}

// describesDiagnosis is the one tool whose output schema keeps its field descriptions: its
// result is the Diagnosis every failure carries. Elsewhere an output field is its name and
// type: output schemas serve clients' validation, models read the input side, and 13 tools'
// worth of output descriptions took tools/list past its budget.
const describesDiagnosis = "explain_error"

// stripDescriptions removes the descriptions of a schema and its subschemas (not properties
// that happen to be named "description").
func stripDescriptions(v any) {
	eachSchema(v, func(x map[string]any) {
		if _, ok := x["description"].(string); ok {
			delete(x, "description")
		}
	})
}

// diagnosisNote heads every output schema: a result is either the tool's output or a
// Diagnosis.
const diagnosisNote = "isError: a Diagnosis (explain_error)."

// describeOnce defines each output field once: the first tool (in list order) that declares a
// field gives its type and description, and a later tool whose field is identical (name and
// whole schema) lists it by name only, as {}, its schema's description naming the tool that
// defines it. generate_image, edit_image and get_generation return the same ImageOutput, the
// batch tools the same batch, and tools/list paid for each definition three times. JSON
// Schema cannot refer from one tool's schema into another's, so the reference is in words.
func describeOnce(list []Tool) {
	defined := map[string]string{} // field name + its whole schema → the tool that defines it
	for i := range list {
		t := &list[i].Tool
		var schema map[string]any
		if len(t.RawOutputSchema) == 0 || json.Unmarshal(t.RawOutputSchema, &schema) != nil {
			continue
		}
		var found []sharedField
		collectShared(t.Name, schema, defined, &found)
		// Naming a tool costs more than a few small coincidences save: refer to an owner only
		// for a real definition (a described or structured field), then for all it shares.
		owners := map[string]bool{}
		for _, f := range found {
			owners[f.owner] = owners[f.owner] || f.size >= minShared
		}
		from := map[string]bool{}
		for _, f := range found {
			if owners[f.owner] {
				f.props[f.name] = map[string]any{}
				from[f.owner] = true
			}
		}
		if len(from) == 0 {
			continue
		}
		note, _ := schema["description"].(string)
		schema["description"] = strings.TrimSpace(note + " {} fields: as in " + strings.Join(sortedKeys(from), ", ") + ".")
		if raw, err := json.Marshal(schema); err == nil {
			t.RawOutputSchema = raw
		}
	}
}

// minShared is the smallest field schema (in bytes) that makes another tool worth naming.
const minShared = 40

// sharedField is a field of one schema that an earlier tool defines identically.
type sharedField struct {
	props       map[string]any
	name, owner string
	size        int
}

// collectShared finds schema's fields already defined by another tool and records the others
// as defined by tool. A shared field's own fields are not looked into: it goes whole.
func collectShared(tool string, schema map[string]any, defined map[string]string, found *[]sharedField) {
	if items, ok := schema["items"].(map[string]any); ok {
		collectShared(tool, items, defined, found)
	}
	props, _ := schema["properties"].(map[string]any)
	for _, name := range sortedKeys(props) {
		p, ok := props[name].(map[string]any)
		if !ok || len(p) == 0 {
			continue
		}
		whole, _ := json.Marshal(p) // map keys sorted: a canonical form
		key := name + "\x00" + string(whole)
		if owner, ok := defined[key]; ok && owner != tool {
			*found = append(*found, sharedField{props: props, name: name, owner: owner, size: len(whole)})
			continue
		}
		defined[key] = tool
		collectShared(tool, p, defined, found)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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

// ModelVisible is what a client's model sees of a tool: its name, title, description and
// input schema (clients that forward schemas put these in the model's context; the output
// schema and the hints stay with the client). The tools/list budget test and the benchmark
// measure it.
func ModelVisible(tool mcp.Tool) ([]byte, error) {
	raw, err := json.Marshal(tool)
	if err != nil {
		return nil, err
	}
	var v struct {
		Name        string          `json:"name"`
		Title       string          `json:"title,omitempty"`
		Description string          `json:"description,omitempty"`
		InputSchema json.RawMessage `json:"inputSchema"`
		Annotations struct {
			Title string `json:"title,omitempty"`
		} `json:"annotations"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

package tools

import (
	"encoding/json"

	"github.com/mark3labs/mcp-go/mcp"
)

// tidySchemas rewrites the generated schemas for strict clients: jsonschema-go marks slices
// and maps as nullable with a type list (["null","array"]), which Gemini-family and other
// strict schema consumers reject. An omitted argument already means "none".
func tidySchemas(t mcp.Tool) mcp.Tool {
	if len(t.RawInputSchema) > 0 {
		t.RawInputSchema = tidyRaw(t.RawInputSchema)
	}
	if t.OutputSchema.Type != "" {
		if raw, err := json.Marshal(t.OutputSchema); err == nil {
			t.RawOutputSchema = tidyRaw(raw)
			t.OutputSchema = mcp.ToolOutputSchema{}
		}
	}
	return t
}

func tidyRaw(raw json.RawMessage) json.RawMessage {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return raw
	}
	out, err := json.Marshal(dropNullTypes(v))
	if err != nil {
		return raw
	}
	return out
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

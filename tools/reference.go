package tools

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Reference renders the tool reference for the README from the tool list itself, so the docs
// cannot drift from the schemas.
func Reference(list []Tool) string {
	var b strings.Builder
	for _, t := range list {
		fmt.Fprintf(&b, "### `%s`\n\n%s\n\n", t.Tool.Name, t.Tool.Description)
		a := t.Tool.Annotations
		fmt.Fprintf(&b, "_read-only: %s · destructive: %s · idempotent: %s · open-world: %s_\n\n",
			yesNo(a.ReadOnlyHint), yesNo(a.DestructiveHint), yesNo(a.IdempotentHint), yesNo(a.OpenWorldHint))
		props, required := schemaProps(t.Tool.RawInputSchema)
		if len(props) == 0 {
			b.WriteString("No arguments.\n\n")
			continue
		}
		b.WriteString("| argument | type | required | description |\n|---|---|---|---|\n")
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		sort.SliceStable(names, func(i, j int) bool {
			ri, rj := slices.Contains(required, names[i]), slices.Contains(required, names[j])
			if ri != rj {
				return ri
			}
			return names[i] < names[j]
		})
		for _, n := range names {
			p := props[n]
			desc := p.Description
			if len(p.Enum) > 0 {
				desc += " One of: " + joinEnum(p.Enum) + "."
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", n, p.typeName(), yesNo(ptr(slices.Contains(required, n))),
				strings.ReplaceAll(strings.TrimSpace(desc), "|", `\|`))
		}
		b.WriteString("\n")
	}
	return strings.TrimSpace(b.String()) + "\n"
}

type schemaProp struct {
	Type        any    `json:"type"`
	Description string `json:"description"`
	Enum        []any  `json:"enum"`
	Items       *struct {
		Type any `json:"type"`
	} `json:"items"`
}

func (p schemaProp) typeName() string {
	t := fmt.Sprint(p.Type)
	if t == "array" && p.Items != nil {
		return fmt.Sprint(p.Items.Type) + "[]"
	}
	return t
}

func schemaProps(raw json.RawMessage) (map[string]schemaProp, []string) {
	var s struct {
		Properties map[string]schemaProp `json:"properties"`
		Required   []string              `json:"required"`
	}
	_ = json.Unmarshal(raw, &s)
	return s.Properties, s.Required
}

func joinEnum(vals []any) string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = fmt.Sprintf("`%v`", v)
	}
	return strings.Join(out, ", ")
}

func yesNo(b *bool) string {
	if b != nil && *b {
		return "yes"
	}
	return "no"
}

func ptr[T any](v T) *T { return &v }

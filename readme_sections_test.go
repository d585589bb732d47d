package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// The README's generated sections, rendered from the tool list, the presets and the model
// registry themselves so the docs cannot drift from the code. Only TestREADME needs them, so
// they live here rather than in the server.

// reference renders the tool reference for the README from the tool list itself, so the docs
// cannot drift from the schemas.
func reference(list []tools.Tool) string {
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
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", n, p.typeName(), yesNoBool(slices.Contains(required, n)),
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

// modelTable renders the registry as the README's model table.
func modelTable(reg *gemini.Registry) string {
	def, _ := reg.Lookup(reg.Default())
	var b strings.Builder
	b.WriteString("| model | alias | status | ratios | sizes | thinking levels | search | reference images | $ per image |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, m := range reg.Models() {
		status := m.Status
		if m.Deprecated != "" {
			status += " " + m.Deprecated
		}
		if m.Successor != "" {
			status += " → `" + m.Successor + "`"
		}
		if m == def.Model {
			status += " (default)"
		}
		var prices []string
		for _, s := range m.Sizes {
			if p, ok := m.USDPerImage[s]; ok {
				prices = append(prices, fmt.Sprintf("%s %.3f", s, p))
			}
		}
		fmt.Fprintf(&b, "| `%s` %s | `%s` | %s | %d | %s | %s | %s | %d | %s |\n", m.ID, m.Name,
			strings.Join(m.Aliases, "`, `"), status, len(m.AspectRatios), strings.Join(m.Sizes, ", "),
			orDash(strings.Join(m.ThinkingLevels, ", ")), orDash(strings.Join(m.Search, ", ")),
			m.MaxReferenceImages, strings.Join(prices, " · "))
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// presetTable renders the presets for the README.
func presetTable() string {
	var b strings.Builder
	b.WriteString("| `--client` | output (stdio) | output (HTTP) | preview | async after | why | basis |\n|---|---|---|---|---|---|---|\n")
	for _, n := range tools.PresetNames() {
		p := tools.Presets[n]
		httpOut := p.HTTP
		if httpOut == "" {
			httpOut = p.Output
		}
		stdioOut := p.Output
		if stdioOut == tools.OutputURL {
			stdioOut = tools.OutputResource
		}
		async := "never"
		if p.AsyncAfter > 0 {
			async = p.AsyncAfter.String()
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | `%s` | %d px, %d KiB | %s | %s | %s |\n", n, stdioOut, httpOut, p.Preview.MaxEdge, p.Preview.MaxBytes>>10, async, p.Why, p.Basis)
	}
	return b.String()
}

func yesNo(b *bool) string {
	if b != nil && *b {
		return "yes"
	}
	return "no"
}

func yesNoBool(b bool) string { return yesNo(&b) }

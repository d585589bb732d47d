package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
)

// ListModelsInput takes no arguments.
type ListModelsInput struct{}

// ModelInfo is one model as list_models shows it.
type ModelInfo struct {
	ID                 string             `json:"id"`
	Name               string             `json:"name"`
	Aliases            []string           `json:"aliases,omitempty"`
	Replaces           []string           `json:"replaces,omitempty" jsonschema_description:"Old ids resolving here."`
	AspectRatios       []string           `json:"aspect_ratios"`
	Sizes              []string           `json:"sizes"`
	DefaultSize        string             `json:"default_size"`
	MaxReferenceImages int                `json:"max_reference_images"`
	Thinking           bool               `json:"thinking"`
	ThinkingLevels     []string           `json:"thinking_levels,omitempty"`
	DefaultThinking    string             `json:"default_thinking_level,omitempty" jsonschema_description:"When none is given."`
	GoogleSearch       bool               `json:"google_search"`
	Search             []string           `json:"search" jsonschema_description:"web, image"`
	USDPerImage        map[string]float64 `json:"usd_per_image"`
	Released           string             `json:"released,omitempty"`
	EarliestShutdown   string             `json:"earliest_shutdown,omitempty"`
	Status             string             `json:"status,omitempty" jsonschema_description:"ga, preview, deprecated or restricted"`
	Deprecated         string             `json:"deprecated,omitempty"`
	Successor          string             `json:"successor,omitempty" jsonschema_description:"Where calls go once it is gone."`
	Availability       string             `json:"availability,omitempty" jsonschema_description:"available, unavailable, gone or retiring"`
	RetirementTime     string             `json:"retirement_time,omitempty" jsonschema_description:"From modelStatus (RFC 3339)."`
	Warning            string             `json:"warning,omitempty" jsonschema_description:"retirement or successor"`
	Default            bool               `json:"default,omitempty"`
}

// ListModelsOutput is the structuredContent of list_models.
type ListModelsOutput struct {
	Default string      `json:"default"`
	Models  []ModelInfo `json:"models"`
}

// listModelsDeps is what list_models uses: the registry and what the live API showed.
type listModelsDeps struct {
	*Failures
	Gemini Status
}

// ListModels is the list_models tool: the registry, as data.
func ListModels(status Status, f *Failures) Tool {
	d := &listModelsDeps{Failures: f, Gemini: status}
	tool := mcp.NewTool("list_models",
		mcp.WithDescription("The Gemini image models: ids, aliases, ratios, sizes, limits, features, prices, lifecycle."),
		mcp.WithInputSchema[ListModelsInput](),
		mcp.WithOutputSchema[ListModelsOutput](),
		annotations("List models", true, false, true, false),
	)
	return Tool{Tool: tool, Handler: typed(f, "list_models", d.listModels)}
}

func (d *listModelsDeps) listModels(_ context.Context, _ mcp.CallToolRequest, _ ListModelsInput) *mcp.CallToolResult {
	reg := d.Gemini.Registry()
	def, _ := reg.Lookup(reg.Default())
	out := ListModelsOutput{Default: def.Model.ID}
	var b strings.Builder
	for _, m := range reg.Models() {
		info := modelInfo(m, m == def.Model)
		d.lifecycleInfo(&info, m)
		out.Models = append(out.Models, info)
		fmt.Fprintf(&b, "%s (%s; %s): ratios %s; sizes %s; up to %d reference images\n",
			m.ID, m.Name, strings.Join(m.Aliases, ", "), strings.Join(m.AspectRatios, " "),
			strings.Join(m.Sizes, " "), m.MaxReferenceImages)
		if info.Warning != "" {
			fmt.Fprintf(&b, "  warning: %s\n", info.Warning)
		}
	}
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(strings.TrimSpace(b.String()))}, StructuredContent: out}
}

func modelInfo(m *gemini.Model, isDefault bool) ModelInfo {
	return ModelInfo{ID: m.ID, Name: m.Name, Aliases: m.Aliases, Replaces: m.Replaces, AspectRatios: m.AspectRatios,
		Sizes: m.Sizes, DefaultSize: m.DefaultSize, MaxReferenceImages: m.MaxReferenceImages, Thinking: m.Thinking,
		ThinkingLevels: m.ThinkingLevels, DefaultThinking: m.DefaultThinking, GoogleSearch: m.Searches("web"),
		Search: m.Search, USDPerImage: m.USDPerImage, Released: m.Released, EarliestShutdown: m.EarliestShutdown,
		Status: m.Status, Deprecated: m.Deprecated, Successor: m.Successor, Default: isDefault}
}

// lifecycleInfo adds what the live API showed about m.
func (d *listModelsDeps) lifecycleInfo(info *ModelInfo, m *gemini.Model) {
	st, ok := d.Gemini.ModelState(m.ID)
	if !ok {
		return
	}
	info.Availability = st.Status
	if !st.RetirementTime.IsZero() {
		info.RetirementTime = st.RetirementTime.UTC().Format(time.RFC3339)
	}
	for _, w := range d.Gemini.Warnings() {
		if strings.HasPrefix(w, m.ID+" ") {
			info.Warning = w
		}
	}
}

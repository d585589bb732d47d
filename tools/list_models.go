package tools

import (
	"context"
	"fmt"
	"strings"

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
	Replaces           []string           `json:"replaces,omitempty" jsonschema_description:"Retired or preview ids that now resolve to this model."`
	AspectRatios       []string           `json:"aspect_ratios"`
	Sizes              []string           `json:"sizes"`
	DefaultSize        string             `json:"default_size"`
	MaxReferenceImages int                `json:"max_reference_images"`
	Thinking           bool               `json:"thinking"`
	ThinkingLevels     []string           `json:"thinking_levels,omitempty"`
	GoogleSearch       bool               `json:"google_search"`
	ImageSearch        bool               `json:"image_search"`
	USDPerImage        map[string]float64 `json:"usd_per_image"`
	Released           string             `json:"released,omitempty"`
	EarliestShutdown   string             `json:"earliest_shutdown,omitempty"`
	Default            bool               `json:"default,omitempty"`
}

// ListModelsOutput is the structuredContent of list_models.
type ListModelsOutput struct {
	Default string      `json:"default"`
	Models  []ModelInfo `json:"models"`
}

// ListModels is the list_models tool: the registry, as data.
func ListModels(d *Deps) Tool {
	tool := mcp.NewTool("list_models",
		mcp.WithDescription("List the Gemini image models this server knows: ids, aliases, aspect ratios, sizes, "+
			"reference-image limits, thinking and search support, prices and lifecycle dates."),
		mcp.WithInputSchema[ListModelsInput](),
		mcp.WithOutputSchema[ListModelsOutput](),
		annotations("List models", true, false, true, false),
	)
	return Tool{Tool: tool, Handler: typed(d, "list_models", d.listModels)}
}

func (d *Deps) listModels(_ context.Context, _ mcp.CallToolRequest, _ ListModelsInput) *mcp.CallToolResult {
	reg := d.Gemini.Registry()
	def, _ := reg.Lookup(reg.Default())
	out := ListModelsOutput{Default: def.Model.ID}
	var b strings.Builder
	for _, m := range reg.Models() {
		out.Models = append(out.Models, modelInfo(m, m == def.Model))
		fmt.Fprintf(&b, "%s (%s; %s): ratios %s; sizes %s; up to %d reference images\n",
			m.ID, m.Name, strings.Join(m.Aliases, ", "), strings.Join(m.AspectRatios, " "),
			strings.Join(m.Sizes, " "), m.MaxReferenceImages)
	}
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(strings.TrimSpace(b.String()))}, StructuredContent: out}
}

func modelInfo(m *gemini.Model, isDefault bool) ModelInfo {
	return ModelInfo{ID: m.ID, Name: m.Name, Aliases: m.Aliases, Replaces: m.Replaces, AspectRatios: m.AspectRatios,
		Sizes: m.Sizes, DefaultSize: m.DefaultSize, MaxReferenceImages: m.MaxReferenceImages, Thinking: m.Thinking,
		ThinkingLevels: m.ThinkingLevels, GoogleSearch: m.Searches("web"), ImageSearch: m.Searches("image"), USDPerImage: m.USDPerImage,
		Released: m.Released, EarliestShutdown: m.EarliestShutdown, Default: isDefault}
}

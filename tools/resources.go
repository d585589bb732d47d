package tools

import (
	"context"
	"encoding/json"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// Resource is one MCP resource: its definition and its handler.
type Resource struct {
	Resource mcp.Resource
	Handler  server.ResourceHandlerFunc
}

// Resources returns every static resource the server offers.
func Resources(_ *Deps) []Resource {
	return []Resource{
		{
			Resource: mcp.NewResource("errors://catalog", "Gemini image error catalog",
				mcp.WithResourceDescription("Every error category with its cause, fix steps, recovery window, whose move it is, and sources."),
				mcp.WithMIMEType("text/markdown")),
			Handler: func(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
				return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "text/markdown",
					Text: apierrors.RenderMarkdown()}}, nil
			},
		},
		{
			Resource: mcp.NewResource("errors://catalog.json", "Gemini image error catalog (JSON)",
				mcp.WithResourceDescription("The error catalog as data."),
				mcp.WithMIMEType("application/json")),
			Handler: func(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
				data, err := json.MarshalIndent(apierrors.Catalog(), "", "  ")
				if err != nil {
					return nil, err
				}
				return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "application/json",
					Text: string(data)}}, nil
			},
		},
	}
}

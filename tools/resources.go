package tools

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// Resource is one MCP resource: its definition and its handler.
type Resource struct {
	Resource mcp.Resource
	Handler  server.ResourceHandlerFunc
}

// Resources returns every static resource the server offers.
func Resources() []Resource {
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

// ResourceTemplate is one templated MCP resource.
type ResourceTemplate struct {
	Template mcp.ResourceTemplate
	Handler  server.ResourceTemplateHandlerFunc
}

// ResourceTemplates returns the templated resources: every saved image as image://<image_id>.
func (s *Set) ResourceTemplates() []ResourceTemplate {
	return []ResourceTemplate{{
		Template: mcp.NewResourceTemplate("image://{image_id}", "Generated image",
			mcp.WithTemplateDescription("A saved image, full resolution, by its image_id."),
		),
		Handler: s.out.readImageResource,
	}}
}

func (d *Delivery) readImageResource(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	id := strings.TrimPrefix(req.Params.URI, "image://")
	if d.images == nil || !session.ValidID("img", id) {
		// Not found either way; wrapping server.ErrResourceNotFound lets the transport answer
		// -32002 (resource not found) instead of an internal error.
		return nil, fmt.Errorf("%q is not a valid image id (ids look like img_… and come from a result's image_id): %w", id, server.ErrResourceNotFound)
	}
	img, err := d.owners.ownImage(ctx, id)
	if err != nil || img.Path == "" {
		return nil, fmt.Errorf("no saved image has the id %s: %w", id, server.ErrResourceNotFound)
	}
	path := img.Path
	data, err := d.files.readFile(path)
	if err != nil {
		return nil, err
	}
	if limit := d.inlineLimit(); len(data) > limit {
		return nil, fmt.Errorf("image %s is %.1f MiB, more than this transport carries in one message; it is saved at %s (or ask for output url over HTTP)",
			id, float64(len(data))/(1<<20), path)
	}
	return []mcp.ResourceContents{mcp.BlobResourceContents{URI: req.Params.URI, MIMEType: http.DetectContentType(data),
		Blob: base64.StdEncoding.EncodeToString(data)}}, nil
}

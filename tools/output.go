package tools

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// Delivery modes for the image in a tool result.
const (
	OutputPreview  = "preview"  // a downscaled inline JPEG within a byte budget, plus the path
	OutputResource = "resource" // a resource_link to image://<id>, readable with resources/read
	OutputURL      = "url"      // a signed, expiring HTTP URL served by this server (HTTP transports)
	OutputPath     = "path"     // the saved path only
	OutputFull     = "full"     // the full image inline, where the transport can carry it
)

// OutputModes lists the delivery modes a caller may ask for.
var OutputModes = []string{OutputPreview, OutputResource, OutputURL, OutputPath, OutputFull}

// DeliveryOptions say how images come back to clients by default and what the transport carries.
type DeliveryOptions struct {
	Output    string // default delivery mode; default preview
	Preview   PreviewOptions
	Transport string        // "stdio", "http" or "sse": what the image can travel in
	URLs      *URLSigner    // signs image URLs (output url); nil disables it
	PublicURL string        // how clients reach this server, for image URLs (--public-url)
	ServerURL func() string // the address this server listens on, once it does
	MaxInline int           // largest full image inline, in bytes; default by transport
	// TrustForwardedHost lets X-Forwarded-Host (validated) name the host in image URLs; only a
	// reverse proxy the operator runs may set it (--trust-forwarded-host).
	TrustForwardedHost bool
}

// Delivery saves the images Gemini made and answers with them in the chosen output mode:
// inline previews or full images, resource links, signed URLs (urls.go) and the image://
// resources (resources.go).
type Delivery struct {
	DeliveryOptions
	images *session.Images
	owners *owners
	files  *Loader // reads a saved image for image:// within the input byte bound
	log    *slog.Logger
}

func newDelivery(o DeliveryOptions, images *session.Images, owners *owners, files *Loader, log *slog.Logger) *Delivery {
	if o.Output == "" {
		o.Output = OutputPreview
	}
	o.Preview.defaults()
	return &Delivery{DeliveryOptions: o, images: images, owners: owners, files: files, log: log}
}

// inlineLimit is the largest full image (raw bytes) the transport carries inline. The
// TypeScript SDK's stdio client drops any message over 10 MiB, and base64 adds a third.
func (d *Delivery) inlineLimit() int {
	switch {
	case d.MaxInline > 0:
		return d.MaxInline
	case d.Transport == "stdio" || d.Transport == "":
		return 7 << 20
	}
	return 20 << 20
}

// outputChoice is how one result should carry its image.
type outputChoice struct {
	mode    string
	urlBase string // for url mode: where this server is reachable
	preview chan previewResult
	share   int // images in the result: each preview gets this share of the byte budget
}

type previewResult struct {
	pv  *Preview
	err error
}

// startPreview begins the preview of the saved image while the turn is being recorded:
// decoding a 4K PNG takes most of the preview's time. It reads the file when a decode slot
// is free, so the call can let go of the image bytes (gemini.Result.ReleaseImages).
func (d *Delivery) startPreview(dl *outputChoice, path string) {
	if dl.mode != OutputPreview {
		return
	}
	dl.preview = make(chan previewResult, 1)
	opts := d.Preview
	if dl.share > 1 {
		opts.defaults()
		opts.MaxBytes /= dl.share
	}
	go func() {
		defer func() {
			// A panic here would end the process; the call still has its saved image.
			if r := recover(); r != nil {
				dl.preview <- previewResult{err: fmt.Errorf("preview panicked: %v", r)}
			}
		}()
		pv, err := makePreviewFile(path, opts)
		dl.preview <- previewResult{pv, err}
	}()
}

// chooseOutput validates the requested mode against the transport.
func (d *Delivery) chooseOutput(req mcp.CallToolRequest, mode string) (outputChoice, error) {
	if mode == "" {
		mode = d.Output
	}
	known := false
	for _, m := range OutputModes {
		known = known || m == mode
	}
	if !known {
		return outputChoice{}, apierrors.Localf(apierrors.InvalidRequest, "Output mode %q is not known; use one of %s.", mode, strings.Join(OutputModes, ", "))
	}
	dl := outputChoice{mode: mode}
	if mode == OutputURL {
		dl.urlBase = d.urlBase(req.Header)
		if dl.urlBase == "" || d.URLs == nil {
			return outputChoice{}, apierrors.Local(apierrors.InvalidRequest,
				"Output mode url needs the server to run over HTTP (--transport http or sse); over stdio use preview, resource or path.")
		}
	}
	return dl, nil
}

// urlBase is --public-url, else a trusted forwarding proxy's host, else the address this
// server listens on.
func (d *Delivery) urlBase(h http.Header) string {
	switch {
	case d.PublicURL != "":
		return strings.TrimRight(d.PublicURL, "/")
	case d.ServerURL == nil:
		return ""
	case d.TrustForwardedHost && h != nil && validHost(h.Get("X-Forwarded-Host")):
		scheme := "http"
		if h.Get("X-Forwarded-Proto") == "https" {
			scheme = "https"
		}
		return scheme + "://" + h.Get("X-Forwarded-Host")
	}
	return d.ServerURL()
}

// deliver builds the result: the one-line summary, the image in the chosen form, and the
// contract fields as structuredContent (never base64). It never fails: the image is saved and
// paid for, so a form the transport cannot carry, or a preview that cannot be made, falls back
// to the best form that works, with a note saying why.
func (d *Delivery) deliver(ctx context.Context, res *gemini.Result, out *ImageOutput, dl outputChoice) *mcp.CallToolResult {
	var content []mcp.Content
	if dl.mode == OutputFull {
		if limit := d.inlineLimit(); len(res.Image.Data) > limit {
			out.Notes = append(out.Notes, fmt.Sprintf("output full was not possible: the image is %.1f MiB, more than the %.1f MiB "+
				"this transport carries inline, so a preview comes instead; the full image is at %s (or read image://%s)",
				float64(len(res.Image.Data))/(1<<20), float64(limit)/(1<<20), out.Path, out.ImageID))
			dl.mode = OutputPreview
		}
	}
	switch dl.mode {
	case OutputPreview:
		if dl.preview == nil {
			d.startPreview(&dl, out.Path)
		}
		p := <-dl.preview
		if p.err != nil {
			d.log.WarnContext(ctx, "preview failed; returning a resource link and the path", "error", p.err)
			out.Notes = append(out.Notes, "no preview could be made of this image, so a resource link comes instead; the full image is at "+out.Path)
			content = append(content, d.resourceLink(out))
			break
		}
		content = append(content, mcp.NewImageContent(base64.StdEncoding.EncodeToString(p.pv.Data), p.pv.MIMEType))
	case OutputResource:
		content = append(content, d.resourceLink(out))
	case OutputURL:
		u, exp := d.URLs.URL(dl.urlBase, ownerOf(ctx), out.ImageID, session.ExtensionFor(out.MIMEType))
		out.URL, out.URLExpires = u, exp.UTC().Format(time.RFC3339)
	case OutputFull:
		content = append(content, mcp.NewImageContent(base64.StdEncoding.EncodeToString(res.Image.Data), res.Image.MIMEType))
	}
	text := summaryLine(out)
	if out.URL != "" {
		text += fmt.Sprintf("\n![%s](%s)", out.ImageID, markdownURL(out.URL))
	}
	return &mcp.CallToolResult{Content: append([]mcp.Content{mcp.NewTextContent(text)}, content...), StructuredContent: out}
}

func (d *Delivery) resourceLink(out *ImageOutput) mcp.Content {
	return mcp.NewResourceLink("image://"+out.ImageID, out.ImageID+session.ExtensionFor(out.MIMEType),
		fmt.Sprintf("%d×%d %s, %d bytes", out.Width, out.Height, out.MIMEType, out.Bytes), out.MIMEType)
}

package tools

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// GenerateImageInput is the generate_image argument object.
type GenerateImageInput struct {
	Prompt         string   `json:"prompt" jsonschema_description:"What to draw: subject, style, composition, any text to render."`
	Model          string   `json:"model,omitempty" jsonschema_description:"Model alias or id (see list_models); default: the server's default model."`
	AspectRatio    string   `json:"aspect_ratio,omitempty" jsonschema_description:"Aspect ratio; each model supports a subset (see list_models). Default: 1:1, or the reference image's ratio."`
	ImageSize      string   `json:"image_size,omitempty" jsonschema_description:"Resolution class (uppercase K); each model supports a subset (see list_models). Default 1K."`
	Images         []string `json:"images,omitempty" jsonschema_description:"Reference images: a file path under the allowed roots, an http(s) URL, a data URL, bare base64, or an image_id from an earlier result."`
	ThinkingLevel  string   `json:"thinking_level,omitempty" jsonschema_description:"How hard the model thinks before drawing, where the model supports it."`
	GoogleSearch   bool     `json:"google_search,omitempty" jsonschema_description:"Ground the image in Google Search results (current events, real places), where the model supports it."`
	ImageSearch    bool     `json:"image_search,omitempty" jsonschema_description:"Also ground in Google Image Search (implies google_search), where the model supports it."`
	N              int      `json:"n,omitempty" jsonschema_description:"Images to make, 1-4 (default 1): n requests in parallel; n multiplies the cost."`
	Seed           *int64   `json:"seed,omitempty" jsonschema_description:"Seed for reproducibility (best effort); image i gets seed+i."`
	Async          bool     `json:"async,omitempty" jsonschema_description:"Return a job_id at once and generate in the background; fetch the image with get_generation. For clients with hard time limits."`
	IdempotencyKey string   `json:"idempotency_key,omitempty" jsonschema_description:"Any string unique to this request: a retry with the same key returns the same job and image instead of paying twice."`
	Output         string   `json:"output,omitempty" jsonschema:"enum=preview,enum=resource,enum=url,enum=path,enum=full" jsonschema_description:"How the image comes back: preview (a small inline JPEG plus the saved path), resource (a resource_link to read with resources/read), url (a signed, expiring link; HTTP transports only), path (the saved path only), or full (the full image inline, where the transport can carry it). Default: the server's --output or --client preset."`
}

// ImageOutput is the structuredContent of generate_image (and later edit_image). Never base64.
type ImageOutput struct {
	ConversationID  string       `json:"conversation_id" jsonschema_description:"Continue this conversation with edit_image."`
	ImageID         string       `json:"image_id" jsonschema_description:"Refers to this image in later calls."`
	Model           string       `json:"model" jsonschema_description:"The model id that made the image."`
	FallbackFrom    string       `json:"fallback_from,omitempty" jsonschema_description:"The model asked for, when a fallback served the call."`
	Path            string       `json:"path" jsonschema_description:"Where the full image is saved."`
	URI             string       `json:"uri" jsonschema_description:"The saved image as a file:// URI."`
	MIMEType        string       `json:"mime_type"`
	Width           int          `json:"width"`
	Height          int          `json:"height"`
	Bytes           int          `json:"bytes"`
	AspectRatio     string       `json:"aspect_ratio,omitempty" jsonschema_description:"The ratio asked for; empty when the model chose."`
	ImageSize       string       `json:"image_size" jsonschema_description:"The size class asked for."`
	Drafts          int          `json:"drafts" jsonschema_description:"Thought images (drafts) the model made and we skipped."`
	DraftPaths      []string     `json:"draft_paths,omitempty" jsonschema_description:"Where drafts were saved, with --keep-drafts."`
	Text            string       `json:"text,omitempty" jsonschema_description:"The model's words, if any."`
	Usage           gemini.Usage `json:"usage"`
	CostUSD         float64      `json:"cost_usd" jsonschema_description:"Estimated price of this call in US dollars."`
	Attempts        int          `json:"attempts" jsonschema_description:"Upstream calls made."`
	ElapsedMS       int64        `json:"elapsed_ms"`
	Notes           []string     `json:"notes,omitempty" jsonschema_description:"Anything changed on the way, e.g. a normalised size or a replaced model id."`
	Turn            int          `json:"turn" jsonschema_description:"Which turn of the conversation this image is (1 for a new conversation)."`
	BranchOf        string       `json:"branch_of,omitempty" jsonschema_description:"The conversation this one branched from (from_image_id)."`
	JobID           string       `json:"job_id,omitempty" jsonschema_description:"Set while the image is still being made: fetch it with get_generation."`
	Status          string       `json:"status,omitempty" jsonschema_description:"running while a job is in progress"`
	ExpectedSeconds int          `json:"expected_seconds,omitempty" jsonschema_description:"Roughly how long the whole generation takes."`
	URL             string       `json:"url,omitempty" jsonschema_description:"A signed link to the full image (output url)."`
	URLExpires      string       `json:"url_expires,omitempty" jsonschema_description:"When the link stops working (RFC 3339)."`
	SetOutput
}

// GenerateImage is the generate_image tool.
func GenerateImage(d *Deps) Tool {
	tool := mcp.NewTool("generate_image",
		mcp.WithDescription("Generate an image with Google's Gemini image models (Nano Banana). "+
			"Returns the saved file path, a small preview, and ids to continue: conversation_id and image_id. "+
			"Validates model, aspect ratio and size before calling; failures come back with what to do."),
		mcp.WithInputSchema[GenerateImageInput](),
		mcp.WithOutputSchema[ImageOutput](),
		annotations("Generate image", false, false, false, true),
	)
	return Tool{Tool: tool, Handler: typed(d, "generate_image", d.generateImage)}
}

func (d *Deps) generateImage(ctx context.Context, req mcp.CallToolRequest, in GenerateImageInput) *mcp.CallToolResult {
	return d.asyncTurn(ctx, "generate_image", in, in.IdempotencyKey, in.Async, expectedSeconds(in.Model, in.ImageSize),
		func(ctx context.Context) *mcp.CallToolResult {
			return d.runTurn(ctx, req, "generate_image", nil, nil, turnArgs{Prompt: in.Prompt, Model: in.Model,
				AspectRatio: in.AspectRatio, ImageSize: in.ImageSize, ThinkingLevel: in.ThinkingLevel, Output: in.Output,
				GoogleSearch: in.GoogleSearch, ImageSearch: in.ImageSearch, Images: in.Images, N: in.N, Seed: in.Seed})
		})
}

// save writes the final image (and drafts, if kept) and fills in the contract fields.
func (d *Deps) save(res *gemini.Result, prompt string) (*ImageOutput, error) {
	id := session.NewID("img")
	rec, err := d.Images.Save(id, prompt, "", res.Image.Data, res.Image.MIMEType)
	if err != nil {
		return nil, err
	}
	out := &ImageOutput{
		ImageID: id, Model: res.Model, FallbackFrom: res.FallbackFrom, Path: rec.Path, URI: fileURI(rec.Path),
		MIMEType: res.Image.MIMEType, Width: res.Width, Height: res.Height, Bytes: rec.Bytes,
		AspectRatio: res.AspectRatio, ImageSize: res.ImageSize, Drafts: res.DraftCount, Text: res.Text,
		Usage: res.Usage, CostUSD: res.CostUSD, Attempts: res.Attempts, ElapsedMS: res.Elapsed.Milliseconds(),
		Notes: res.Notes,
	}
	for i, dr := range res.Drafts {
		drec, err := d.Images.Save(id, prompt, fmt.Sprintf("draft-%d", i+1), dr.Data, dr.MIMEType)
		if err != nil {
			return nil, err
		}
		out.DraftPaths = append(out.DraftPaths, drec.Path)
	}
	return out, nil
}

func summaryLine(o *ImageOutput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Generated a %d×%d %s image with %s in %.1f s", o.Width, o.Height, o.ImageSize, o.Model, float64(o.ElapsedMS)/1000)
	if o.Drafts > 0 {
		fmt.Fprintf(&b, " (%d draft%s skipped)", o.Drafts, plural(o.Drafts))
	}
	fmt.Fprintf(&b, ", about $%.3f; saved to %s (image_id %s, conversation_id %s).", o.CostUSD, o.Path, o.ImageID, o.ConversationID)
	for _, n := range o.Notes {
		b.WriteString("\nNote: " + n + ".")
	}
	if o.Text != "" {
		b.WriteString("\nModel: " + o.Text)
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func fileURI(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: file:///C:/...
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

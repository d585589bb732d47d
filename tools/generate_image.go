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
	Prompt         string   `json:"prompt" jsonschema_description:"Subject, style, composition, any text to render."`
	Model          string   `json:"model,omitempty" jsonschema_description:"Alias or id (list_models)."`
	AspectRatio    string   `json:"aspect_ratio,omitempty" jsonschema_description:"Default 1:1 or the reference's."`
	ImageSize      string   `json:"image_size,omitempty" jsonschema_description:"Default 1K; see list_models."`
	Images         []string `json:"images,omitempty" jsonschema_description:"Paths, URLs, data URLs, base64 or image_ids."`
	ThinkingLevel  string   `json:"thinking_level,omitempty" jsonschema_description:"Where supported."`
	GoogleSearch   bool     `json:"google_search,omitempty" jsonschema_description:"Ground in Google Search."`
	ImageSearch    bool     `json:"image_search,omitempty" jsonschema_description:"Also image search."`
	N              int      `json:"n,omitempty" jsonschema_description:"Images, 1-4; n times the cost."`
	Seed           *int64   `json:"seed,omitempty" jsonschema_description:"Best effort; image i gets seed+i."`
	Async          bool     `json:"async,omitempty" jsonschema_description:"Answer with a job_id for get_generation."`
	IdempotencyKey string   `json:"idempotency_key,omitempty" jsonschema_description:"A retry with the same key never pays twice."`
	Output         string   `json:"output,omitempty" jsonschema:"enum=preview,enum=resource,enum=url,enum=path,enum=full" jsonschema_description:"Default: the server's; url needs HTTP."`
}

// ImageOutput is the structuredContent of generate_image (and later edit_image). Never base64.
type ImageOutput struct {
	ConversationID  string       `json:"conversation_id" jsonschema_description:"For edit_image."`
	ImageID         string       `json:"image_id" jsonschema_description:"For later calls."`
	Model           string       `json:"model"`
	FallbackFrom    string       `json:"fallback_from,omitempty" jsonschema_description:"Model asked for, when a fallback served."`
	Path            string       `json:"path"`
	URI             string       `json:"uri"`
	MIMEType        string       `json:"mime_type"`
	Width           int          `json:"width"`
	Height          int          `json:"height"`
	Bytes           int          `json:"bytes"`
	AspectRatio     string       `json:"aspect_ratio,omitempty" jsonschema_description:"Empty: the model chose."`
	ImageSize       string       `json:"image_size"`
	Drafts          int          `json:"drafts" jsonschema_description:"Thought images skipped."`
	DraftPaths      []string     `json:"draft_paths,omitempty" jsonschema_description:"With --keep-drafts."`
	Text            string       `json:"text,omitempty" jsonschema_description:"The model's words."`
	Usage           gemini.Usage `json:"usage"`
	CostUSD         float64      `json:"cost_usd" jsonschema_description:"Estimated."`
	Attempts        int          `json:"attempts" jsonschema_description:"Upstream calls."`
	ElapsedMS       int64        `json:"elapsed_ms"`
	Notes           []string     `json:"notes,omitempty" jsonschema_description:"What changed on the way."`
	Turn            int          `json:"turn" jsonschema_description:"1 for a new conversation."`
	BranchOf        string       `json:"branch_of,omitempty" jsonschema_description:"Conversation branched from."`
	JobID           string       `json:"job_id,omitempty" jsonschema_description:"While running: for get_generation."`
	Status          string       `json:"status,omitempty" jsonschema_description:"running, for a job"`
	ExpectedSeconds int          `json:"expected_seconds,omitempty"`
	URL             string       `json:"url,omitempty" jsonschema_description:"Signed link (output url)."`
	URLExpires      string       `json:"url_expires,omitempty" jsonschema_description:"RFC 3339."`
	SetOutput
}

// GenerateImage is the generate_image tool.
func GenerateImage(turns *Turns) Tool {
	tool := mcp.NewTool("generate_image",
		mcp.WithDescription("Generate an image with Gemini (Nano Banana): returns the saved path, a preview, and "+
			"conversation_id and image_id to continue."),
		mcp.WithInputSchema[GenerateImageInput](),
		mcp.WithOutputSchema[ImageOutput](),
		annotations("Generate image", false, false, false, true),
	)
	return Tool{Tool: tool, Handler: typed(turns.Failures, "generate_image", turns.generateImage)}
}

func (d *Turns) generateImage(ctx context.Context, req mcp.CallToolRequest, in GenerateImageInput) *mcp.CallToolResult {
	return d.asyncTurn(ctx, "generate_image", in, in.IdempotencyKey, in.Async, expectedSeconds(in.Model, in.ImageSize),
		func(ctx context.Context, gate *progressGate) *mcp.CallToolResult {
			return d.runTurn(ctx, req, "generate_image", nil, nil, turnArgs{Prompt: in.Prompt, Output: in.Output,
				Images: in.Images, N: in.N, Options: gemini.Options{Model: in.Model, AspectRatio: in.AspectRatio, ImageSize: in.ImageSize,
					ThinkingLevel: in.ThinkingLevel, GoogleSearch: in.GoogleSearch, ImageSearch: in.ImageSearch, Seed: in.Seed}}, gate)
		})
}

// save writes the final image (and drafts, if kept) and fills in the contract fields.
func (d *Delivery) save(res *gemini.Result, prompt string) (*ImageOutput, error) {
	id := session.NewID("img")
	rec, err := d.images.Save(id, prompt, "", res.Image.Data, res.Image.MIMEType)
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
		drec, err := d.images.Save(id, prompt, fmt.Sprintf("draft-%d", i+1), dr.Data, dr.MIMEType)
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

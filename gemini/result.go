package gemini

import (
	"bytes"
	"encoding/json"
	"image"
	_ "image/jpeg" // decoders for DecodeConfig
	_ "image/png"
	"net/http"
	"strings"
	"time"

	_ "golang.org/x/image/webp"
	"google.golang.org/genai"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// Result is a successful generation: the final image and everything known about the call.
type Result struct {
	Model        string   // the model id that answered
	FallbackFrom string   // the model asked for, when a fallback answered
	Notes        []string // what was changed on the way (normalised size, replaced model id, …)
	Image        Image    // the final image: the last non-thought image part
	Width        int
	Height       int
	AspectRatio  string  // as requested ("" when the model chose)
	ImageSize    string  // as requested, uppercase K
	Drafts       []Image // thought images, kept only when the request asked for them
	DraftCount   int     // thought images in the answer
	Text         string  // the model's words (non-thought text)
	Finish       string  // finish reason
	Usage        Usage
	CostUSD      float64 // estimate from the registry's prices
	UserContent  *genai.Content
	Content      *genai.Content // the model turn exactly as received, signatures included
	Elapsed      time.Duration
	Attempts     int
	Seed         *int32     // the seed sent, nil when none
	Grounding    *Grounding // what Google Search grounded the image on, nil without search
}

// Usage is the token accounting of one answer.
type Usage struct {
	PromptTokens  int `json:"prompt_tokens"`
	OutputTokens  int `json:"output_tokens"`
	ImageTokens   int `json:"image_tokens"`
	ThoughtTokens int `json:"thought_tokens"`
	TotalTokens   int `json:"total_tokens"`
}

func readResponse(resp *genai.GenerateContentResponse, p *Plan, raw []byte) (*Result, error) {
	res := &Result{Model: p.UpstreamID, Notes: append([]string(nil), p.Notes...),
		AspectRatio: p.AspectRatio, ImageSize: p.ImageSize}
	res.Usage = usageOf(resp.UsageMetadata)
	if len(resp.Candidates) == 0 {
		if fb := resp.PromptFeedback; fb != nil && fb.BlockReason != "" {
			return nil, withModel(apierrors.FromPromptBlock(string(fb.BlockReason), fb.BlockReasonMessage), p.UpstreamID)
		}
		return nil, withModel(apierrors.FromFinish("", "", ""), p.UpstreamID)
	}
	cand := resp.Candidates[0]
	res.Seed, res.Grounding = p.seed32(), groundingOf(cand.GroundingMetadata)
	res.Finish = string(cand.FinishReason)
	res.Content = cand.Content
	var final *genai.Part
	var text []string
	if cand.Content != nil {
		for _, part := range cand.Content.Parts {
			switch {
			case part == nil:
			case part.InlineData != nil && isImage(part.InlineData):
				if part.Thought {
					res.DraftCount++
					if p.KeepDrafts {
						res.Drafts = append(res.Drafts, imageOf(part.InlineData))
					}
				} else {
					final = part
				}
			case part.Text != "" && !part.Thought:
				text = append(text, part.Text)
			}
		}
	}
	res.Text = strings.TrimSpace(strings.Join(text, "\n"))
	if final == nil {
		msg := cand.FinishMessage
		if msg == "" {
			msg = finishMessageFrom(raw)
		}
		reason := res.Finish
		if reason == string(genai.FinishReasonStop) || reason == "" {
			reason = "NO_IMAGE"
		}
		return nil, withModel(apierrors.FromFinish(reason, msg, res.Text), p.UpstreamID)
	}
	res.Image = imageOf(final.InlineData)
	cfg, _, err := image.DecodeConfig(bytes.NewReader(res.Image.Data))
	if err != nil {
		return nil, withModel(apierrors.Newf(apierrors.NoImage,
			"%s returned an image that cannot be decoded (%s); try again.", p.UpstreamID, res.Image.MIMEType), p.UpstreamID)
	}
	res.Width, res.Height = cfg.Width, cfg.Height
	res.CostUSD = cost(p.Model, p.ImageSize, res.Usage)
	if p.GoogleSearch {
		res.CostUSD = float64(int64((res.CostUSD+USDPerGroundedCall)*10000+0.5)) / 10000
		res.Notes = append(res.Notes, GroundingNote(1))
	}
	return res, nil
}

// ReleaseImages drops the result's image bytes (final, drafts, and the turns that carry
// them) once they are saved and recorded, so a call still waiting for its preview or its
// delivery holds none of them: eight concurrent 4K calls each held about 40 MB that way.
func (r *Result) ReleaseImages() {
	r.Image.Data, r.Drafts, r.Content, r.UserContent = nil, nil, nil, nil
}

func isImage(b *genai.Blob) bool {
	return strings.HasPrefix(b.MIMEType, "image/") || strings.HasPrefix(http.DetectContentType(b.Data), "image/")
}

// imageOf trusts the bytes over the declared MIME type.
func imageOf(b *genai.Blob) Image {
	mime := http.DetectContentType(b.Data)
	if !strings.HasPrefix(mime, "image/") {
		mime = b.MIMEType
	}
	return Image{Data: b.Data, MIMEType: mime}
}

func usageOf(u *genai.GenerateContentResponseUsageMetadata) Usage {
	if u == nil {
		return Usage{}
	}
	out := Usage{PromptTokens: int(u.PromptTokenCount), OutputTokens: int(u.CandidatesTokenCount),
		ThoughtTokens: int(u.ThoughtsTokenCount), TotalTokens: int(u.TotalTokenCount)}
	for _, d := range u.CandidatesTokensDetails {
		if d != nil && d.Modality == genai.MediaModalityImage {
			out.ImageTokens += int(d.TokenCount)
		}
	}
	return out
}

// cost estimates the price of one answer: the model's price per image at the size asked for,
// plus input tokens. Thinking tokens are billed too but their price is not published per model,
// so the estimate leaves them out.
func cost(m *Model, size string, u Usage) float64 {
	c := m.USDPerImage[size]
	c += float64(u.PromptTokens) * m.USDPerMInputTokens / 1e6
	return float64(int64(c*10000+0.5)) / 10000
}

func finishMessageFrom(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	var body struct {
		Candidates []struct {
			FinishMessage string `json:"finishMessage"`
		} `json:"candidates"`
	}
	if json.Unmarshal(raw, &body) != nil || len(body.Candidates) == 0 {
		return ""
	}
	return body.Candidates[0].FinishMessage
}

func withModel(e *apierrors.Error, model string) *apierrors.Error {
	if e.Diagnosis.Model == "" {
		e.Diagnosis.Model = model
	}
	return e
}

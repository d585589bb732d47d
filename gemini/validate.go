package gemini

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/genai"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// Image is an image sent to the model: a reference image or the image to edit.
type Image struct {
	Data     []byte
	MIMEType string
}

// Options are the settings of one generation apart from what it is about (the prompt, the
// images, the history): one value that travels unchanged from a tool's arguments through the
// Request to the Plan, embedded wherever a layer adds to it, never copied field by field.
type Options struct {
	Model         string // id, alias or retired id; empty means the registry default
	AspectRatio   string // empty: the model decides (1:1, or the input image's ratio)
	ImageSize     string // empty: the model's default
	ThinkingLevel string // "", or one of the model's thinking levels
	GoogleSearch  bool   // ground the image in Google Search results (web)
	ImageSearch   bool   // ground in Google Search with image search too; implies GoogleSearch
	Seed          *int64 // GenerateContentConfig.Seed: best-effort reproducibility; nil: none
}

// Request is one image generation or edit, as a tool asks for it.
type Request struct {
	Options
	UpstreamID string           // send exactly this id (a conversation's pinned model); Model gives the capabilities
	Prompt     string           // required
	References []Image          // reference images, sent after the prompt
	History    []*genai.Content // earlier turns, replayed byte for byte
	KeepDrafts bool             // keep thought images in the Result
	Owner      string           // whose call it is, for the usage records; "" when not told
	// Progress, when set, hears what the call is doing ("waiting 37 s for the per-minute
	// quota of gemini-3-pro-image, attempt 2 of 4"); it must not block long.
	Progress func(message string)
}

// Plan is a validated request: the model resolved, the prompt trimmed, the options normalised
// (GoogleSearch set whenever ImageSearch is, the seed within 32 bits), UpstreamID the id sent,
// and notes for the user about anything that was changed on the way. Options.Model keeps the
// name asked for; Model is what it resolved to.
type Plan struct {
	Request
	Model  *Model
	Pinned bool   // a conversation's model: never falls back
	From   string // the model asked for, when its successor took over (it is gone)
	Notes  []string
}

// MaxPromptChars bounds a prompt: far above any image description, far below what would make
// every later turn of the conversation replay megabytes of text.
const MaxPromptChars = 32000

// Validate checks a request against the registry before anything is sent upstream. Every
// problem is an *apierrors.Error whose summary names the allowed values.
func (r *Registry) Validate(req Request) (*Plan, error) {
	prompt := strings.TrimSpace(req.Prompt)
	if prompt == "" {
		return nil, apierrors.Local(apierrors.InvalidRequest,
			"The prompt is empty; describe the image you want in the prompt argument.")
	}
	if n := utf8.RuneCountInString(prompt); n > MaxPromptChars {
		return nil, apierrors.Localf(apierrors.InvalidRequest,
			"The prompt is %d characters, over the %d-character limit; shorten it (describe the image, not a document).", n, MaxPromptChars)
	}
	name := req.Model
	if strings.TrimSpace(name) == "" {
		name = r.defaultName
	}
	res, err := r.Lookup(name)
	if err != nil {
		return nil, err
	}
	m := res.Model
	p := &Plan{Request: req, Model: m}
	p.Prompt, p.GoogleSearch = prompt, req.GoogleSearch || req.ImageSearch
	if req.UpstreamID != "" {
		p.Pinned = true
	} else {
		p.UpstreamID = m.ID
		if res.Note != "" {
			p.Notes = append(p.Notes, res.Note)
		}
	}
	if m.Unlisted {
		p.Notes = append(p.Notes, m.ID+" is not in the model registry, so only conservative options are allowed "+
			"(1K, the ten standard ratios, 3 reference images); describe it in --models-file to use more")
	}
	if p.AspectRatio, err = checkRatio(m, req.AspectRatio); err != nil {
		return nil, err
	}
	if p.ImageSize, err = checkSize(m, req.ImageSize, &p.Notes); err != nil {
		return nil, err
	}
	if n := len(req.References); n > m.MaxReferenceImages {
		return nil, paramError(m, "%d reference images is more than %s accepts (at most %d); send fewer images.",
			n, m.ID, m.MaxReferenceImages)
	}
	for i, img := range req.References {
		if len(img.Data) == 0 {
			return nil, apierrors.Localf(apierrors.InvalidRequest, "Reference image %d is empty; pass a PNG, JPEG or WebP image.", i+1)
		}
	}
	if p.ThinkingLevel, err = r.checkThinking(m, req.ThinkingLevel); err != nil {
		return nil, err
	}
	if req.ImageSearch && !m.Searches("image") {
		return nil, paramError(m, "%s cannot ground images in Google Image Search; drop image_search or use a model that can (%s).",
			m.ID, strings.Join(r.modelsWhere(func(m *Model) bool { return m.Searches("image") }), ", "))
	}
	if p.GoogleSearch && !m.Searches("web") {
		return nil, paramError(m, "%s cannot ground images in Google Search; drop google_search or use a model that can (%s).",
			m.ID, strings.Join(r.modelsWhere(func(m *Model) bool { return m.Searches("web") }), ", "))
	}
	if req.Seed != nil {
		if s := *req.Seed; s < math.MinInt32 || s > math.MaxInt32 {
			return nil, apierrors.Localf(apierrors.InvalidRequest,
				"Seed %d is out of range; use a 32-bit whole number (%d to %d).", s, math.MinInt32, math.MaxInt32)
		}
	}
	return p, nil
}

func checkRatio(m *Model, ratio string) (string, error) {
	ratio = strings.ReplaceAll(strings.TrimSpace(ratio), " ", "")
	if ratio == "" {
		return "", nil
	}
	for _, r := range m.AspectRatios {
		if r == ratio {
			return r, nil
		}
	}
	return "", paramError(m, "Aspect ratio %q is not supported by %s; use one of %s.",
		ratio, m.ID, strings.Join(m.AspectRatios, ", "))
}

func checkSize(m *Model, size string, notes *[]string) (string, error) {
	size = strings.TrimSpace(size)
	if size == "" {
		return m.DefaultSize, nil
	}
	norm := strings.ToUpper(size)
	if strings.HasSuffix(norm, "PX") { // "512px" is how people say it; the API wants "512"
		norm = strings.TrimSuffix(norm, "PX")
	}
	for _, s := range m.Sizes {
		if s == norm {
			if norm != size {
				*notes = append(*notes, fmt.Sprintf("image_size %q was normalised to %q (the API wants an uppercase K)", size, norm))
			}
			return s, nil
		}
	}
	return "", paramError(m, "Image size %q is not supported by %s; use one of %s.",
		size, m.ID, strings.Join(m.Sizes, ", "))
}

func (r *Registry) checkThinking(m *Model, level string) (string, error) {
	level = strings.ToLower(strings.TrimSpace(level))
	if level == "" {
		return "", nil
	}
	for _, l := range m.ThinkingLevels {
		if l == level {
			return l, nil
		}
	}
	if len(m.ThinkingLevels) == 0 {
		// Sent anyway, the API answers 400 "Thinking level is not supported for this model."
		with := r.modelsWhere(func(m *Model) bool { return slices.Contains(m.ThinkingLevels, level) })
		if len(with) == 0 {
			return "", paramError(m, "%s has no thinking levels to choose from; drop thinking_level.", m.ID)
		}
		return "", paramError(m, "%s has no thinking levels to choose from; drop thinking_level, or use a model that takes %q (%s).",
			m.ID, level, strings.Join(with, ", "))
	}
	return "", paramError(m, "Thinking level %q is not supported by %s; use one of %s.",
		level, m.ID, strings.Join(m.ThinkingLevels, ", "))
}

func paramError(m *Model, format string, args ...any) *apierrors.Error {
	e := apierrors.Localf(apierrors.UnsupportedParameter, format, args...) // checked here: nothing was sent
	e.Diagnosis.Model = m.ID
	return e
}

func unknownModelError(name string, known []string) *apierrors.Error {
	return apierrors.Localf(apierrors.ModelNotFound, "Model %q is not known; use one of %s (see list_models).",
		name, strings.Join(known, ", "))
}

func (r *Registry) modelsWhere(ok func(*Model) bool) []string {
	var ids []string
	for _, m := range r.models {
		if ok(m) {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

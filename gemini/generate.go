package gemini

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/genai"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// Generate validates the request, sends it, and returns the final image. An answer without an
// image is an error (an *apierrors.Error explaining the finish reason), never a success.
func (c *Client) Generate(ctx context.Context, req Request) (*Result, error) {
	plan, err := c.reg.Validate(req)
	if err != nil {
		return nil, err
	}
	if c.sdk == nil {
		return nil, c.errNoCredentials()
	}
	if plan, err = c.route(plan); err != nil {
		return nil, err
	}
	if err := c.checkLocation(plan.UpstreamID); err != nil {
		return nil, err
	}
	return c.generate(ctx, plan)
}

// errNoKey is the cause of every generation when no API key or Vertex project is configured.
func errNoKey() error {
	// Local: nothing was sent, so the catalog's advice about a rejected key does not apply.
	return apierrors.Local(apierrors.Auth, "No Gemini API key is set; set GEMINI_API_KEY "+
		"(from https://aistudio.google.com/apikey), configure Vertex AI, or start the server with --simulate.")
}

func (c *Client) errNoCredentials() error {
	if c.credErr != nil {
		return c.credErr
	}
	return errNoKey()
}

// send performs one upstream call for a validated plan, bounded by ctx; Generate checks the
// credentials and region first and adds the retries, limits and fallbacks around it.
func (c *Client) send(ctx context.Context, p *Plan) (*Result, error) {
	start := c.now()
	user := UserContent(p)
	contents := append(append([]*genai.Content{}, p.History...), user)
	ctx, capt := withCapture(ctx)
	ctx, lift := withLift(ctx)

	id := p.UpstreamID
	resp, err := c.sdk.Models.GenerateContent(ctx, id, lift.liftParts(contents), c.config(p))
	if isNotFound(err) {
		c.markNotFound(id) // the next call goes to the successor without asking
	}
	if err != nil {
		return nil, fmt.Errorf("calling %s: %w", id, err)
	}
	lift.restore(resp)
	note := c.markStatus(id, resp.ModelStatus)
	res, err := readResponse(resp, p, capt.bytes())
	if err != nil {
		return nil, err
	}
	res.Model = id
	if note != "" {
		res.Notes = append(res.Notes, note)
	}
	res.UserContent = user
	res.Elapsed = c.now().Sub(start)
	res.Attempts = 1
	c.log.Debug("generated", "model", res.Model, "bytes", len(res.Image.Data), "drafts", res.DraftCount,
		"elapsed_ms", res.Elapsed.Milliseconds())
	return res, nil
}

// UserContent builds the user turn: the prompt, then the reference images.
func UserContent(p *Plan) *genai.Content {
	parts := []*genai.Part{genai.NewPartFromText(p.Prompt)}
	for _, img := range p.References {
		parts = append(parts, genai.NewPartFromBytes(img.Data, img.MIMEType))
	}
	return genai.NewContentFromParts(parts, genai.RoleUser)
}

func (c *Client) config(p *Plan) *genai.GenerateContentConfig {
	cfg := &genai.GenerateContentConfig{
		ResponseModalities: []string{string(genai.ModalityText), string(genai.ModalityImage)},
	}
	ic := &genai.ImageConfig{AspectRatio: p.AspectRatio}
	if p.Model.TakesSize() {
		ic.ImageSize = p.ImageSize
	}
	if ic.AspectRatio != "" || ic.ImageSize != "" {
		cfg.ImageConfig = ic
	}
	if p.Model.Thinking {
		// Thoughts are asked for so that drafts can be counted (and kept with --keep-drafts).
		cfg.ThinkingConfig = &genai.ThinkingConfig{IncludeThoughts: true}
		if p.ThinkingLevel != "" {
			cfg.ThinkingConfig.ThinkingLevel = genai.ThinkingLevel(strings.ToUpper(p.ThinkingLevel))
		}
	}
	switch {
	case p.ImageSearch:
		cfg.Tools = []*genai.Tool{{GoogleSearch: &genai.GoogleSearch{SearchTypes: &genai.SearchTypes{
			WebSearch: &genai.WebSearch{}, ImageSearch: &genai.ImageSearch{}}}}}
	case p.GoogleSearch:
		cfg.Tools = []*genai.Tool{{GoogleSearch: &genai.GoogleSearch{}}}
	}
	cfg.Seed = p.seed32()
	return cfg
}

// seed32 is the seed as the API takes it; Validate has checked that it fits.
func (p *Plan) seed32() *int32 {
	if p.Seed == nil {
		return nil
	}
	s := int32(*p.Seed)
	return &s
}

func isNotFound(err error) bool {
	var api genai.APIError
	return errors.As(err, &api) && api.Code == http.StatusNotFound
}

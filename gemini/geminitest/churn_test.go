package geminitest

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"
)

func TestShutDownAndRetiringModels(t *testing.T) {
	srv, c := newSim(t, Config{Faults: "gemini-3.1-flash-image:gone,gemini-3-pro-image:retiring=2027-01-15"})
	ctx := context.Background()
	_, err := c.Models.GenerateContent(ctx, "gemini-3.1-flash-image", genai.Text("p"), imageConfig("", "", false))
	if e := apiError(t, err); e.Code != 404 || !strings.Contains(e.Message, "models/gemini-3.1-flash-image is not found for API version v1beta") {
		t.Errorf("gone model: %d %q", e.Code, e.Message)
	}
	if _, err := c.Models.Get(ctx, "gemini-3.1-flash-image", nil); apiError(t, err).Code != 404 {
		t.Error("models.get of a shut-down model must be 404")
	}
	var names []string
	for m, err := range c.Models.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, strings.TrimPrefix(m.Name, "models/"))
	}
	if strings.Contains(strings.Join(names, ","), "gemini-3.1-flash-image,") || len(names) != len(srv.models)-1 {
		t.Errorf("models.list %v", names)
	}
	resp, err := c.Models.GenerateContent(ctx, "gemini-3-pro-image", genai.Text("p"), imageConfig("", "", false))
	if err != nil {
		t.Fatal(err)
	}
	if ms := resp.ModelStatus; ms == nil || !ms.RetirementTime.Equal(time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)) || ms.Message == "" {
		t.Errorf("modelStatus %+v", ms)
	}
}

func TestListPages(t *testing.T) {
	srv, c := newSim(t, Config{})
	page, err := c.Models.List(context.Background(), &genai.ListModelsConfig{PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	seen := len(page.Items)
	if page.NextPageToken == "" || seen != 3 {
		t.Fatalf("first page %d items, token %q", seen, page.NextPageToken)
	}
	for page.NextPageToken != "" {
		if page, err = page.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
		seen += len(page.Items)
	}
	if seen != len(srv.models) {
		t.Errorf("%d models over all pages; want %d", seen, len(srv.models))
	}
}

func TestNanoBanana21AndLite(t *testing.T) {
	_, c := newSim(t, Config{})
	ctx := context.Background()
	think := func(ratio, size, level string) *genai.GenerateContentConfig {
		cfg := imageConfig(ratio, size, true)
		cfg.ThinkingConfig.ThinkingLevel = genai.ThinkingLevel(level)
		return cfg
	}
	if _, err := c.Models.GenerateContent(ctx, "gemini-nano-banana-2.1", genai.Text("p"), think("8:1", "4K", "MEDIUM")); err != nil {
		t.Errorf("2.1 at 8:1 4K MEDIUM: %v", err)
	}
	if _, err := c.Models.GenerateContent(ctx, "gemini-nano-banana-2.1", genai.Text("p"), imageConfig("1:1", "512", false)); apiError(t, err).Code != 400 {
		t.Error("2.1 must refuse 512")
	}
	if _, err := c.Models.GenerateContent(ctx, "gemini-3.1-flash-lite-image", genai.Text("p"), imageConfig("1:1", "2K", false)); apiError(t, err).Code != 400 {
		t.Error("Lite must refuse 2K")
	}
	_, err := c.Models.GenerateContent(ctx, "gemini-3-pro-image", genai.Text("p"), think("1:1", "1K", "HIGH"))
	if e := apiError(t, err); e.Code != 400 || e.Message != "Thinking level is not supported for this model." {
		t.Errorf("Pro with a level: %d %q", e.Code, e.Message)
	}
}

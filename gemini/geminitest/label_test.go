package geminitest

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"
)

// The picture shows the request: a different prompt or turn changes its pixels.
func TestPictureCarriesItsLabel(t *testing.T) {
	k := imageKey{W: 1024, H: 1024, Variant: 1, Label: "a watercolour fox\ngemini-3-pro-image | 1K 1:1 | turn 1"}
	a := renderPNG(k)
	k.Label = "a watercolour fox\ngemini-3-pro-image | 1K 1:1 | turn 2"
	b := renderPNG(k)
	k.Label = ""
	plain := renderPNG(k)
	if bytes.Equal(a, b) || bytes.Equal(a, plain) {
		t.Fatal("the label does not change the picture")
	}
	if _, err := png.Decode(bytes.NewReader(a)); err != nil {
		t.Fatal(err)
	}
	if p := os.Getenv("NANOBANANA_WRITE_PICTURE"); p != "" {
		_ = os.WriteFile(p, a, 0o644)
	}
}

func TestPhotoIsIncompressible(t *testing.T) {
	if testing.Short() {
		t.Skip("renders a 4K photo-like picture (about a second)")
	}
	start := time.Now()
	data := renderPNG(imageKey{W: 4096, H: 4096, Photo: true})
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width != 4096 {
		t.Fatal(err)
	}
	if len(data) < 20<<20 || len(data) > 32<<20 {
		t.Errorf("a 4K photo is %d MB; Gemini's are 20–27 MB", len(data)>>20)
	}
	t.Logf("4K photo: %.1f MB in %v", float64(len(data))/1e6, time.Since(start))
}

// A request body over 100 MiB gets Google's 400, before anything else is looked at.
func TestRequestOverTheLimitIsRefused(t *testing.T) {
	_, c := newSim(t, Config{})
	big := make([]byte, 76<<20) // ≈ 101 MiB as base64
	parts := []*genai.Part{genai.NewPartFromText("x"), genai.NewPartFromBytes(big, "image/png")}
	_, err := c.Models.GenerateContent(context.Background(), "gemini-3-pro-image", []*genai.Content{genai.NewContentFromParts(parts, genai.RoleUser)}, nil)
	e := apiError(t, err)
	if e.Code != 400 || e.Status != "INVALID_ARGUMENT" || e.Message != "Request payload size exceeds the limit: 104857600 bytes." {
		t.Errorf("got %d %s %q", e.Code, e.Status, e.Message)
	}
}

// The label names the newest prompt and counts the turns.
func TestLabelNamesTheTurn(t *testing.T) {
	srv, c := newSim(t, Config{})
	ctx := context.Background()
	first, err := c.Models.GenerateContent(ctx, "gemini-3-pro-image", genai.Text("a red kite"), imageConfig("1:1", "1K", false))
	if err != nil {
		t.Fatal(err)
	}
	hist := []*genai.Content{genai.NewContentFromText("a red kite", genai.RoleUser), first.Candidates[0].Content,
		genai.NewContentFromText("make it blue", genai.RoleUser)}
	if _, err := c.Models.GenerateContent(ctx, "gemini-3-pro-image", hist, imageConfig("1:1", "1K", false)); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"contents": hist})
	g, msg := srv.validate(srv.models["gemini-3-pro-image"], body, false)
	if msg != "" {
		t.Fatal(msg)
	}
	if got := srv.label("", g); !strings.HasPrefix(got, "make it blue\ngemini-3-pro-image") || !strings.HasSuffix(got, "turn 2") {
		t.Errorf("label %q", got)
	}
}

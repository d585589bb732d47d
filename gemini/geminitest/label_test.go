package geminitest

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
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

// Photo-like pictures compress about as badly as Gemini's real PNGs (20–27 MB at 4K, about
// 1.5 bytes a pixel); measured at 1K to stay fast under the race detector.
func TestPhotoIsIncompressible(t *testing.T) {
	start := time.Now()
	data := renderPNG(imageKey{W: 1024, H: 1024, Photo: true})
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width != 1024 {
		t.Fatal(err)
	}
	if perPixel := float64(len(data)) / (1024 * 1024); perPixel < 1.2 || perPixel > 2 {
		t.Errorf("%.2f bytes a pixel; Gemini's 4K PNGs are about 1.5", perPixel)
	}
	t.Logf("1K photo: %.1f MB in %v", float64(len(data))/1e6, time.Since(start))
}

// A request body over 100 MiB gets Google's 400, before anything else is looked at.
func TestRequestOverTheLimitIsRefused(t *testing.T) {
	srv, _ := newSim(t, Config{})
	// A body just over the limit, built directly: marshalling 100 MB through the SDK is slow
	// under the race detector, and the limit is on the body, whatever it holds.
	body := append([]byte(`{"contents":[{"role":"user","parts":[{"text":"`), bytes.Repeat([]byte("x"), MaxRequestBytes)...)
	body = append(body, `"}]}]}`...)
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"v1beta/models/gemini-3-pro-image:generateContent", bytes.NewReader(body))
	req.Header.Set("x-goog-api-key", "k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != 400 || e.Error.Status != "INVALID_ARGUMENT" || e.Error.Message != "Request payload size exceeds the limit: 104857600 bytes." {
		t.Errorf("got %d %+v", resp.StatusCode, e.Error)
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

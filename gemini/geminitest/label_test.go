package geminitest

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"testing"
	"time"
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
	_ = image.Rect
}

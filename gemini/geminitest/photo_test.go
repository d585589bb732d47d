package geminitest

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"testing"

	"google.golang.org/genai"
)

// TestPhotoImagesAreIncompressible: with Config.Photo a 1K answer is a 24-bit PNG of the
// requested size that compresses no better than about 2:1, like a photograph, where the
// default flat picture is a few dozen KB.
func TestPhotoImagesAreIncompressible(t *testing.T) {
	sizes := map[bool]int{}
	for _, photo := range []bool{false, true} {
		_, c := newSim(t, Config{Photo: photo})
		resp, err := c.Models.GenerateContent(context.Background(), "gemini-3-pro-image", genai.Text("a cat"), imageConfig("1:1", "1K", false))
		if err != nil {
			t.Fatal(err)
		}
		parts := resp.Candidates[0].Content.Parts
		data := parts[len(parts)-1].InlineData.Data
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != 1024 || b.Dy() != 1024 {
			t.Fatalf("photo=%v: %v, want 1024×1024", photo, b)
		}
		if _, ok := img.(*image.RGBA); photo && !ok {
			t.Errorf("photo PNG decodes to %T, want 24-bit RGB", img)
		}
		sizes[photo] = len(data)
	}
	if raw := 1024 * 1024 * 3; sizes[true] < raw/3 {
		t.Errorf("photo PNG is %d bytes, want at least a third of the raw %d", sizes[true], raw)
	}
	if sizes[false]*10 > sizes[true] {
		t.Errorf("flat PNG %d bytes, photo %d: photo mode should be far larger", sizes[false], sizes[true])
	}
}

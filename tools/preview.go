package tools

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // decoders for previews
	"os"
	"runtime"
	"time"

	_ "golang.org/x/image/webp"
)

// PreviewOptions shape the inline image: small enough for every client's message limits, big
// enough to judge the result.
type PreviewOptions struct {
	MaxEdge  int // longest side in pixels; default 768
	Quality  int // JPEG quality; default 80
	MaxBytes int // the encoded preview's budget; default 256 KiB
}

func (o *PreviewOptions) defaults() {
	if o.MaxEdge <= 0 {
		o.MaxEdge = 768
	}
	if o.Quality <= 0 || o.Quality > 100 {
		o.Quality = 80
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 256 << 10
	}
}

// Preview is a downscaled JPEG of an image.
type Preview struct {
	Data          []byte
	MIMEType      string
	Width, Height int
	Took          time.Duration
}

// maxPreviewPixels is the largest image a preview decodes. Gemini's largest output (4K at an
// extreme ratio) is under 40 MP; a relay or proxy claiming more is refused from the header,
// before a decoder allocates gigabytes for it.
const maxPreviewPixels = 64 << 20

// decodeSlots bounds the full-size decodes running at once. A decoded 4K image is 64 MB of
// pixels, and eight concurrent 4K calls decoding together took most of a gigabyte; decoding is
// CPU-bound, so more decodes than cores would not finish sooner anyway.
var decodeSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// makePreview decodes an image, scales it so its longest side fits MaxEdge, and encodes a
// JPEG, stepping size and quality down until it fits MaxBytes.
func makePreview(data []byte, o PreviewOptions) (*Preview, error) {
	start := time.Now()
	decodeSlots <- struct{}{}
	src, err := previewSource(data, o.MaxEdge)
	<-decodeSlots
	if err != nil {
		return nil, err
	}
	return encodePreview(src, o, start)
}

// makePreviewFile makes the preview of a saved image, reading it only once a decode slot is
// free: a call waiting for its preview holds no image bytes.
func makePreviewFile(path string, o PreviewOptions) (*Preview, error) {
	start := time.Now()
	decodeSlots <- struct{}{}
	src, err := func() (image.Image, error) {
		defer func() { <-decodeSlots }()
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading the saved image for preview: %w", err)
		}
		return previewSource(data, o.MaxEdge)
	}()
	if err != nil {
		return nil, err
	}
	return encodePreview(src, o, start)
}

// previewSource checks the image's dimensions from its header, then decodes it scaled to
// about edge. The caller holds a decode slot.
func previewSource(data []byte, edge int) (image.Image, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decoding image for preview: %w", err)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > maxPreviewPixels {
		return nil, fmt.Errorf("the image claims %d×%d pixels, more than the %d MP a preview decodes", cfg.Width, cfg.Height, maxPreviewPixels>>20)
	}
	return decodeScaled(data, cfg, edge)
}

// encodePreview encodes src as a JPEG within the budget.
func encodePreview(src image.Image, o PreviewOptions, start time.Time) (*Preview, error) {
	edge, quality := o.MaxEdge, o.Quality
	for {
		dst := scale(src, edge)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: quality}); err != nil {
			return nil, fmt.Errorf("encoding preview: %w", err)
		}
		if buf.Len() <= o.MaxBytes || edge <= 128 {
			b := dst.Bounds()
			return &Preview{Data: buf.Bytes(), MIMEType: "image/jpeg", Width: b.Dx(), Height: b.Dy(),
				Took: time.Since(start)}, nil
		}
		if quality > 60 {
			quality -= 10
		} else {
			edge = edge * 3 / 4
		}
	}
}

// decodeScaled decodes data and returns it scaled to edge, so only the small copy outlives the
// decode slot. A PNG that shrinks by 2× or more is decoded and box-filtered row by row
// (pngShrink), without the full-size pixels.
func decodeScaled(data []byte, cfg image.Config, edge int) (image.Image, error) {
	if w, h := cfg.Width, cfg.Height; w > edge || h > edge {
		tw, th := fit(w, h, edge)
		if k := min(w/tw, h/th); k >= 2 {
			small, ok, err := pngShrink(data, k)
			if err != nil {
				return nil, err
			}
			if ok {
				return scale(small, edge), nil
			}
		}
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decoding image for preview: %w", err)
	}
	return scale(src, edge), nil
}

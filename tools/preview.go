package tools

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // decoders for previews
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

// makePreview decodes an image, scales it (Catmull-Rom, not nearest neighbour) so its longest
// side fits MaxEdge, and encodes a JPEG, stepping size and quality down until it fits MaxBytes.
func makePreview(data []byte, o PreviewOptions) (*Preview, error) {
	start := time.Now()
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decoding image for preview: %w", err)
	}
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

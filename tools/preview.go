package tools

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // decoders for previews
	"io"
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
	src, err := previewSource(nil, data, o.MaxEdge)
	<-decodeSlots
	if err != nil {
		return nil, err
	}
	return encodePreview(src, o, start)
}

// makePreviewFile makes the preview of a saved image, opening it only once a decode slot is
// free and streaming it: a call waiting for its preview holds no image bytes, and one making
// it holds a 64 KB buffer instead of the whole file (20 MB at 4K).
func makePreviewFile(path string, o PreviewOptions) (*Preview, error) {
	start := time.Now()
	decodeSlots <- struct{}{}
	src, err := func() (image.Image, error) {
		defer func() { <-decodeSlots }()
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("reading the saved image for preview: %w", err)
		}
		defer f.Close()
		return previewSource(f, nil, o.MaxEdge)
	}()
	if err != nil {
		return nil, err
	}
	return encodePreview(src, o, start)
}

// previewSource decodes the image in file (or, when file is nil, in data) scaled to about
// edge, after checking its dimensions from the header. The caller holds a decode slot. The
// PNGs Gemini returns are streamed row by row (pngStream); any other image goes to the
// standard decoders.
func previewSource(file io.ReadSeeker, data []byte, edge int) (image.Image, error) {
	var src io.Reader
	if file != nil {
		src = file
	}
	s, ok, err := openPNG(newChunkReader(src, data))
	if err != nil {
		return nil, err
	}
	if ok {
		defer s.close()
		if err := checkPixels(s.w, s.h); err != nil {
			return nil, err
		}
		if err := s.start(); err != nil {
			return nil, err
		}
		tw, th := s.w, s.h
		if tw > edge || th > edge {
			tw, th = fit(s.w, s.h, edge)
		}
		if k := min(s.w/tw, s.h/th); k >= 2 {
			small, err := s.shrinkBox(k)
			if err != nil {
				return nil, err
			}
			return scale(small, edge), nil
		}
		return s.shrinkArea(tw, th)
	}
	// Read from the start again, once for the header and once for the pixels.
	reader := func() (io.Reader, error) {
		if file == nil {
			return bytes.NewReader(data), nil
		}
		if _, err := file.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("reading the saved image for preview: %w", err)
		}
		return bufio.NewReader(file), nil
	}
	r, err := reader()
	if err != nil {
		return nil, err
	}
	cfg, _, err := image.DecodeConfig(r)
	if err != nil {
		return nil, fmt.Errorf("decoding image for preview: %w", err)
	}
	if err := checkPixels(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	if r, err = reader(); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("decoding image for preview: %w", err)
	}
	return scale(img, edge), nil
}

func checkPixels(w, h int) error {
	if px := int64(w) * int64(h); px > maxPreviewPixels {
		return fmt.Errorf("the image claims %d×%d pixels, more than the %d MP a preview decodes", w, h, maxPreviewPixels>>20)
	}
	return nil
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

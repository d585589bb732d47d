package tools

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // decoders for previews
	_ "image/png"
	"io"
	"math"
	"os"
	"runtime"
	"sync"
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
	encodes       int // JPEG encodes it took to fit the budget
}

// maxPreviewPixels is the largest image a preview decodes. Gemini's largest output (4K at an
// extreme ratio) is under 40 MP; a relay or proxy claiming more is refused from the header,
// before a decoder allocates gigabytes for it.
const maxPreviewPixels = 64 << 20

// decodeSlots bounds the full-size decodes running at once. A decoded 4K image is 64 MB of
// pixels, and eight concurrent 4K calls decoding together took most of a gigabyte; decoding is
// CPU-bound, so more decodes than cores would not finish sooner anyway.
var decodeSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

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
	defer recycleRGBA(src)
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
			out := scale(small, edge)
			if out != image.Image(small) { // at an exact factor small is the preview itself
				recycleRGBA(small)
			}
			return out, nil
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

// encodePreview encodes src as a JPEG within the budget. When the first encode is over it,
// the quality that fits is predicted from how JPEG sizes fall with quality (and, below the
// lowest quality, the size from how they fall with pixels), so a tight budget costs one
// more encode instead of a search; a prediction that misses goes on stepping down.
func encodePreview(src image.Image, o PreviewOptions, start time.Time) (*Preview, error) {
	edge, quality := o.MaxEdge, o.Quality
	buf := jpegBufs.Get().(*[]byte)
	defer jpegBufs.Put(buf)
	for encodes := 1; ; encodes++ {
		dst := scale(src, edge)
		b := dst.Bounds()
		*buf = encodeJPEG((*buf)[:0], dst, quality)
		if dst != src {
			recycleRGBA(dst)
		}
		if len(*buf) <= o.MaxBytes || edge <= 128 {
			return &Preview{Data: bytes.Clone(*buf), MIMEType: "image/jpeg", Width: b.Dx(), Height: b.Dy(),
				Took: time.Since(start), encodes: encodes}, nil
		}
		if encodes == 1 {
			edge, quality = predictFit(edge, quality, float64(o.MaxBytes)/float64(len(*buf)))
			continue
		}
		if quality > minPreviewQuality {
			quality = max(minPreviewQuality, quality-10)
		} else {
			edge = edge * 3 / 4
		}
	}
}

// Previews reuse their buffers: with 16 calls in flight each preview's 2.3 MB of pixels and
// its growing JPEG buffer were garbage for the collector to find.
var (
	pixPool  sync.Pool // of *[]byte, the Pix of preview-sized images
	jpegBufs = sync.Pool{New: func() any { return new([]byte) }}
)

// newRGBA is image.NewRGBA from the pool, for images whose every pixel will be written.
func newRGBA(w, h int) *image.RGBA {
	if p, ok := pixPool.Get().(*[]byte); ok && cap(*p) >= 4*w*h {
		return &image.RGBA{Pix: (*p)[:4*w*h], Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	}
	return image.NewRGBA(image.Rect(0, 0, w, h))
}

// recycleRGBA gives an image's pixels back to the pool; nothing may use img afterwards.
func recycleRGBA(img image.Image) {
	if r, ok := img.(*image.RGBA); ok && cap(r.Pix) <= 8<<20 {
		p := r.Pix[:0]
		pixPool.Put(&p)
	}
}

// minPreviewQuality is the lowest quality a preview steps down to before it loses pixels.
const minPreviewQuality = 60

// jpegSizes is the typical size of a JPEG at a quality, relative to quality 80, from Go's
// encoder on photo-like previews at 1K and 4K (it varies by ±15% with the picture; the
// prediction aims 7% under the budget).
var jpegSizes = []struct {
	q   int
	rel float64
}{{100, 3.6}, {95, 2.4}, {90, 1.66}, {85, 1.3}, {80, 1}, {75, 0.86}, {70, 0.76}, {65, 0.68}, {60, 0.61}, {50, 0.52}, {40, 0.42}, {1, 0.1}}

func jpegRel(q int) float64 {
	for i := 1; i < len(jpegSizes); i++ {
		if hi, lo := jpegSizes[i-1], jpegSizes[i]; q >= lo.q {
			return lo.rel + (hi.rel-lo.rel)*float64(q-lo.q)/float64(hi.q-lo.q)
		}
	}
	return jpegSizes[len(jpegSizes)-1].rel
}

// predictFit returns the edge and quality expected to fit a budget that is ratio times the
// size encoded at edge and quality: the highest quality down to minPreviewQuality that
// fits, else that quality and fewer pixels (JPEG size is about proportional to them).
func predictFit(edge, quality int, ratio float64) (int, int) {
	ratio *= 0.93
	floor := min(quality, minPreviewQuality)
	for q := quality - 1; q >= floor; q-- {
		if jpegRel(q)/jpegRel(quality) <= ratio {
			return edge, q
		}
	}
	px := ratio / (jpegRel(floor) / jpegRel(quality))
	return max(128, min(edge-1, int(float64(edge)*math.Sqrt(px)))), floor
}

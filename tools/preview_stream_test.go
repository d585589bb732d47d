package tools

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// noisyNRGBA is a picture in which every PNG row filter occurs.
func noisyNRGBA(w, h int, alpha bool) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(5, 6))
	for i := range img.Pix {
		img.Pix[i] = uint8(i/5 + r.IntN(60))
		if i%4 == 3 && !alpha {
			img.Pix[i] = 255
		}
	}
	return img
}

// areaMean is the reference for shrinkArea: every output pixel the exact mean of the source
// area it covers, in floating point.
func areaMean(src *image.RGBA, tw, th int) *image.RGBA {
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	sx, sy := float64(w)/float64(tw), float64(h)/float64(th)
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	for oy := range th {
		for ox := range tw {
			var sum [4]float64
			for y := int(float64(oy) * sy); y < h && float64(y) < float64(oy+1)*sy; y++ {
				wy := math.Min(float64(y+1), float64(oy+1)*sy) - math.Max(float64(y), float64(oy)*sy)
				for x := int(float64(ox) * sx); x < w && float64(x) < float64(ox+1)*sx; x++ {
					wx := math.Min(float64(x+1), float64(ox+1)*sx) - math.Max(float64(x), float64(ox)*sx)
					for c := range 4 {
						sum[c] += float64(src.Pix[y*src.Stride+4*x+c]) * wx * wy
					}
				}
			}
			for c := range 4 {
				dst.Pix[oy*dst.Stride+4*ox+c] = uint8(math.Round(sum[c] / (sx * sy)))
			}
		}
	}
	return dst
}

func closeEnough(t *testing.T, got, want *image.RGBA) {
	t.Helper()
	if got.Bounds() != want.Bounds() {
		t.Fatalf("bounds %v, want %v", got.Bounds(), want.Bounds())
	}
	for i := range want.Pix {
		if d := int(got.Pix[i]) - int(want.Pix[i]); d < -1 || d > 1 {
			t.Fatalf("byte %d: %d, want %d", i, got.Pix[i], want.Pix[i])
		}
	}
}

// Below 2× the streamed PNG is area-averaged straight to the preview size, and each output
// pixel is the mean of the source area it covers, as a full decode would give.
func TestShrinkAreaIsTheAreaMean(t *testing.T) {
	for _, tc := range []struct {
		name   string
		alpha  bool
		w, h   int
		tw, th int
	}{{"rgb-4:3", false, 301, 203, 200, 135}, {"rgba-square", true, 128, 128, 96, 96}, {"rgb-same-size", false, 77, 41, 77, 41}, {"rgb-1px", false, 3, 5, 2, 3},
		{"rgb-wide-2.5x", false, 50, 3, 20, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := png.Encode(&buf, noisyNRGBA(tc.w, tc.h, tc.alpha)); err != nil {
				t.Fatal(err)
			}
			got, err := streamPNG(t, buf.Bytes()).shrinkArea(tc.tw, tc.th)
			if err != nil {
				t.Fatal(err)
			}
			full, err := png.Decode(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			closeEnough(t, got, areaMean(toRGBA(full), tc.tw, tc.th))
		})
	}
}

// rechunk rewrites a PNG with its image data split into IDAT chunks of n bytes and a text
// chunk before them, as other encoders write them.
func rechunk(t *testing.T, data []byte, n int) []byte {
	t.Helper()
	var out, idat bytes.Buffer
	chunk := func(typ string, body []byte) {
		_ = binary.Write(&out, binary.BigEndian, uint32(len(body)))
		out.WriteString(typ)
		out.Write(body)
		_ = binary.Write(&out, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), body...)))
	}
	out.Write(data[:8])
	for rest := data[8:]; len(rest) >= 12; {
		l := int(binary.BigEndian.Uint32(rest))
		typ, body := string(rest[4:8]), rest[8:8+l]
		rest = rest[12+l:]
		switch typ {
		case "IHDR":
			chunk(typ, body)
			chunk("tEXt", append([]byte("Comment\x00"), bytes.Repeat([]byte("x"), 70000)...))
		case "IDAT":
			idat.Write(body)
		case "IEND":
			for b := idat.Bytes(); len(b) > 0; b = b[min(n, len(b)):] {
				chunk("IDAT", b[:min(n, len(b))])
			}
			chunk("IEND", nil)
		}
	}
	return out.Bytes()
}

// A saved file is streamed through a small buffer: image data split across many chunks and
// buffer refills, after a chunk larger than the buffer, gives the same preview as the same
// image in memory, and a truncated file is a clear error, not a panic.
func TestPreviewStreamsTheSavedFile(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, noisyNRGBA(900, 500, false)); err != nil {
		t.Fatal(err)
	}
	data := rechunk(t, buf.Bytes(), 1000)
	path := filepath.Join(t.TempDir(), "img.png")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	o := PreviewOptions{MaxEdge: 768, Quality: 80, MaxBytes: 1 << 20}
	fromFile, err := makePreviewFile(path, o)
	if err != nil {
		t.Fatal(err)
	}
	inMemory, err := makePreview(buf.Bytes(), o)
	if err != nil {
		t.Fatal(err)
	}
	if fromFile.Width != 768 || fromFile.Height != 426 || !bytes.Equal(fromFile.Data, inMemory.Data) {
		t.Errorf("from the file %d×%d (%d bytes), in memory %d×%d (%d bytes): want the same 768×426 preview",
			fromFile.Width, fromFile.Height, len(fromFile.Data), inMemory.Width, inMemory.Height, len(inMemory.Data))
	}
	if err := os.WriteFile(path, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := makePreviewFile(path, o); err == nil {
		t.Error("a truncated file made a preview")
	}
	bad := bytes.Clone(data)
	at := bytes.Index(bad, []byte("IDAT")) + 4
	bad[at] = 0x79 // no longer a deflate stream
	if _, err := makePreview(bad, o); err == nil || !strings.Contains(err.Error(), "zlib header") {
		t.Errorf("a bad zlib header: err = %v, want one naming it", err)
	}
}

// photoPNG makes a photo-like RGB PNG (gradients and noise compress about as badly as a
// photograph), since real Gemini output is 24-bit PNG, megabytes at 4K.
func photoPNG(b testing.TB, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			n := uint8(r.IntN(24))
			img.SetNRGBA(x, y, color.NRGBA{uint8(x*255/w) + n, uint8(y*255/h) + n, uint8((x+y)*255/(w+h)) + n, 255})
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// Over budget, the preview's quality (and below quality 60 its size) is predicted from the
// first encode: it fits in two encodes where stepping took up to five, and keeps its full
// size while a quality of 60 or more fits.
func TestPreviewPredictsWhatFits(t *testing.T) {
	data := photoPNG(t, 1024, 1024) // 99 KiB at 768 px, quality 80
	for _, tc := range []struct {
		budget    int
		fullWidth bool
	}{{80 << 10, true}, {60 << 10, false}, {20 << 10, false}, {256 << 10, true}} {
		pv, err := makePreview(data, PreviewOptions{MaxEdge: 768, Quality: 80, MaxBytes: tc.budget})
		if err != nil {
			t.Fatal(err)
		}
		if len(pv.Data) > tc.budget || pv.encodes > 2 || (tc.fullWidth && pv.Width != 768) || pv.Width < 300 {
			t.Errorf("budget %d KiB: %d×%d, %d bytes in %d encodes; want it to fit in at most 2 (full width: %v)",
				tc.budget>>10, pv.Width, pv.Height, len(pv.Data), pv.encodes, tc.fullWidth)
		}
	}
}

// Previews made at once, at an exact factor (the box-filtered image is the preview) and over
// budget (scaled again), each come out as when made alone: pooled buffers are never shared.
func TestConcurrentPreviewsShareNoBuffers(t *testing.T) {
	o := PreviewOptions{MaxEdge: 768, Quality: 80, MaxBytes: 40 << 10}
	var inputs [][]byte
	var want []*Preview
	for i := range 4 {
		data := photoPNG(t, 1536+2*i, 1000)
		pv, err := makePreview(data, o)
		if err != nil {
			t.Fatal(err)
		}
		inputs, want = append(inputs, data), append(want, pv)
	}
	got := make([]*Preview, len(inputs))
	errs := make(chan error, len(inputs))
	for round := range 3 {
		for i := range inputs {
			go func() {
				var err error
				got[i], err = makePreview(inputs[i], o)
				errs <- err
			}()
		}
		for range inputs {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		for i := range got {
			if !bytes.Equal(got[i].Data, want[i].Data) {
				t.Fatalf("round %d: preview %d differs from the one made alone", round, i)
			}
		}
	}
}

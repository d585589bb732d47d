package tools

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"testing"
)

// psnr compares the colours of two images of the same size, in dB.
func psnr(t *testing.T, a, b image.Image) float64 {
	t.Helper()
	if a.Bounds().Size() != b.Bounds().Size() {
		t.Fatalf("sizes %v and %v", a.Bounds().Size(), b.Bounds().Size())
	}
	var se float64
	n := 0
	ab, bb := a.Bounds(), b.Bounds()
	for y := range ab.Dy() {
		for x := range ab.Dx() {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			for _, d := range []float64{float64(r1>>8) - float64(r2>>8), float64(g1>>8) - float64(g2>>8), float64(b1>>8) - float64(b2>>8)} {
				se += d * d
				n++
			}
		}
	}
	if se == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/(se/float64(n)))
}

// The preview's JPEG encoder makes files any decoder reads, as close to the picture and as
// large as image/jpeg's at the same quality (the budget prediction is calibrated on those),
// at every size including ones that are not a multiple of the 16-pixel blocks.
func TestEncodeJPEGMatchesImageJPEG(t *testing.T) {
	photo, err := previewSource(nil, photoPNG(t, 1024, 1024), 768)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		img  *image.RGBA
	}{{"photo-768", photo.(*image.RGBA)}, {"1x1", toRGBA(noisyNRGBA(1, 1, false))}, {"17x9", toRGBA(noisyNRGBA(17, 9, false))},
		{"33x47-alpha", toRGBA(noisyNRGBA(33, 47, true))}, {"768x429", toRGBA(noisyNRGBA(768, 429, false))}} {
		for _, q := range []int{40, 60, 80, 95} {
			var want bytes.Buffer
			if err := jpeg.Encode(&want, tc.img, &jpeg.Options{Quality: q}); err != nil {
				t.Fatal(err)
			}
			got := encodeJPEG(nil, tc.img, q)
			dec, err := jpeg.Decode(bytes.NewReader(got))
			if err != nil {
				t.Fatalf("%s q%d: decoding: %v", tc.name, q, err)
			}
			ref, _ := jpeg.Decode(bytes.NewReader(want.Bytes()))
			pGot, pWant := psnr(t, tc.img, dec), psnr(t, tc.img, ref)
			size := float64(len(got)) / float64(want.Len())
			t.Logf("%s q%d: %d bytes (image/jpeg %d), PSNR %.2f dB (image/jpeg %.2f)", tc.name, q, len(got), want.Len(), pGot, pWant)
			if pGot < pWant-0.5 {
				t.Errorf("%s q%d: PSNR %.2f dB, image/jpeg's %.2f", tc.name, q, pGot, pWant)
			}
			if tc.img.Bounds().Dx() > 64 && (size < 0.9 || size > 1.1) {
				t.Errorf("%s q%d: %d bytes, %.0f%% of image/jpeg's %d", tc.name, q, len(got), 100*size, want.Len())
			}
		}
	}
}

// A block inside the image is read with the same bits as the edge path reads it.
func TestJPEGInteriorBlocksReadAsEdgeBlocks(t *testing.T) {
	img := toRGBA(noisyNRGBA(53, 40, false))
	img = img.SubImage(image.Rect(3, 5, 51, 37)).(*image.RGBA) // a sub-image: bounds not at 0,0
	for y0 := img.Rect.Min.Y; y0+16 <= img.Rect.Max.Y; y0 += 16 {
		for x0 := img.Rect.Min.X; x0+16 <= img.Rect.Max.X; x0 += 16 {
			var yA, yB [4][64]float32
			var rA, gA, bA, rB, gB, bB [64]float32
			mcuEdge(img, x0, y0, &yA, &rA, &gA, &bA)
			mcuInterior(img, x0, y0, &yB, &rB, &gB, &bB)
			if yA != yB || rA != rB || gA != gB || bA != bB {
				t.Fatalf("block at %d,%d differs", x0, y0)
			}
		}
	}
}

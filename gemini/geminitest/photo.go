package geminitest

import (
	"bytes"
	"image"
	"image/png"
)

// renderPhotoPNG draws an RGB picture that compresses about as badly as a photograph: smooth
// gradients in the variant's palette under per-pixel noise. Real Gemini output is 24-bit PNG of
// several megabytes at 1K and about 20 MB at 4K; the flat pictures of renderPNG are a fraction
// of that, so they flatter every cost that grows with the bytes (transfer, base64, decoding,
// memory). Config.Photo selects this renderer; benchmarks use it.
func renderPhotoPNG(k imageKey) []byte {
	a, b := palettes[k.Variant%numVariants][0], palettes[k.Variant%numVariants][1]
	if k.Draft {
		a, b = grey(a), grey(b)
	}
	img := image.NewRGBA(image.Rect(0, 0, k.W, k.H))
	span := max(1, k.W+k.H)
	seed := uint32(2463534242 + k.Variant) // xorshift32: fast, deterministic, good enough for noise
	for y := 0; y < k.H; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*k.W]
		for x := 0; x < k.W; x++ {
			seed ^= seed << 13
			seed ^= seed >> 17
			seed ^= seed << 5
			n := int(seed%24) - 12
			t := (x + 2*y) * 255 / (span + k.H)
			p := row[4*x : 4*x+4 : 4*x+4]
			p[0] = clamp8(int(a.R) + (int(b.R)-int(a.R))*t/255 + n)
			p[1] = clamp8(int(a.G) + (int(b.G)-int(a.G))*t/255 + n)
			p[2] = clamp8(int(a.B) + (int(b.B)-int(a.B))*t/255 + n)
			p[3] = 0xFF
		}
	}
	var buf bytes.Buffer
	buf.Grow(k.W * k.H * 2)
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil // cannot happen for an in-memory image
	}
	return buf.Bytes()
}

func clamp8(v int) uint8 {
	return uint8(min(255, max(0, v)))
}

package geminitest

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"strings"

	"golang.org/x/image/font/basicfont"
)

// label is the text a picture carries: what was asked, of which model, at what
// size, on which turn of the conversation. Photo-like pictures carry none: they
// take seconds to make at 4K, so one per size and palette is made and reused.
func (s *Server) label(prefix string, g *genRequest) string {
	if s.cfg.Photo {
		return ""
	}
	prompt := strings.Join(strings.Fields(g.lastPrompt), " ")
	label := fmt.Sprintf("%s%s\n%s | %s %s | turn %d", prefix, prompt, g.model.ID, g.size, g.ratio, g.turn)
	if g.seed != nil {
		// The seed is drawn too, so two seeds never give the same picture (the palette
		// variants alone repeat every numVariants seeds).
		label += fmt.Sprintf(" | seed %d", *g.seed)
	}
	return label
}

// drawLabel lays the label out in the lower part of a W×H picture: a band with
// the text in basicfont's 7×13 glyphs, each glyph pixel scaled to a square of
// side scale so that it stays legible at 4K. fill paints one rectangle, band
// (ink false) or glyph pixel (ink true), clipped to the picture.
func drawLabel(k imageKey, fill func(x0, y0, x1, y1 int, ink bool)) {
	if k.Label == "" || k.W < 64 || k.H < 32 {
		return
	}
	face := basicfont.Face7x13
	scale := max(1, min(k.W, k.H)/256)
	charW, lineH := face.Advance*scale, face.Height*scale
	margin := 2 * scale
	perLine := max(1, (k.W-2*margin)/charW)
	var lines []string
	for _, para := range strings.Split(k.Label, "\n") {
		lines = append(lines, wrap(para, perLine)...)
	}
	maxLines := max(1, (k.H/3)/lineH) // the label never covers more than a third
	if len(lines) > maxLines {
		lines = append(lines[:maxLines-1], lines[len(lines)-1]) // keep the model/size/turn line
	}
	top := k.H - len(lines)*lineH - 2*margin
	fill(0, top, k.W, k.H, false)
	for i, line := range lines {
		y := top + margin + i*lineH
		for j, r := range line {
			glyph(face, r, margin+j*charW, y, scale, k, fill)
		}
	}
}

// glyph paints rune r with its top-left corner at (x, y).
func glyph(face *basicfont.Face, r rune, x, y, scale int, k imageKey, fill func(x0, y0, x1, y1 int, ink bool)) {
	idx := -1
	for _, rg := range face.Ranges {
		if r >= rg.Low && r < rg.High {
			idx = rg.Offset + int(r-rg.Low)
			break
		}
	}
	if idx < 0 {
		idx = 0 // basicfont's first glyph is the replacement box
	}
	mask := face.Mask.(*image.Alpha)
	top := idx * face.Height
	for gy := 0; gy < face.Height; gy++ {
		for gx := 0; gx < face.Width; gx++ {
			if mask.Pix[(top+gy)*mask.Stride+gx] < 0x80 {
				continue
			}
			x0, y0 := x+gx*scale, y+gy*scale
			fill(x0, y0, min(x0+scale, k.W), min(y0+scale, k.H), true)
		}
	}
}

// wrap breaks s into lines of at most n runes, at spaces where it can.
func wrap(s string, n int) []string {
	var lines []string
	var cur []rune
	for _, word := range strings.Fields(s) {
		w := []rune(word)
		for len(w) > n { // a word longer than a line is cut
			if len(cur) > 0 {
				lines, cur = append(lines, string(cur)), nil
			}
			lines, w = append(lines, string(w[:n])), w[n:]
		}
		switch {
		case len(cur) == 0:
			cur = w
		case len(cur)+1+len(w) <= n:
			cur = append(append(cur, ' '), w...)
		default:
			lines, cur = append(lines, string(cur)), w
		}
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

// renderPhoto draws a photo-like picture: smooth colour fields with per-pixel
// noise, which deflate compresses about as badly as a photograph, so that sizes
// match what Gemini really sends (a 4K PNG is 20–27 MB). It is for benchmarks
// and size tests; it costs about a second at 4K.
func renderPhoto(k imageKey) []byte {
	a, b := palettes[k.Variant%numVariants][0], palettes[k.Variant%numVariants][1]
	img := image.NewRGBA(image.Rect(0, 0, k.W, k.H))
	rng := rand.New(rand.NewPCG(uint64(k.W)<<32|uint64(k.H), uint64(k.Variant)))
	span := k.W + k.H
	for y := 0; y < k.H; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*k.W]
		for x := 0; x < k.W; x++ {
			c := lerp(a, b, x+y, span)
			n := rng.Uint64()
			px := row[4*x : 4*x+4]
			px[0] = noisy(c.R, n)
			px[1] = noisy(c.G, n>>8)
			px[2] = noisy(c.B, n>>16)
			px[3] = 0xFF
		}
	}
	drawLabel(k, func(x0, y0, x1, y1 int, ink bool) {
		v := uint8(0xFF)
		if ink {
			v = 0x10
		}
		for y := y0; y < y1; y++ {
			row := img.Pix[y*img.Stride+4*x0 : y*img.Stride+4*x1]
			for i := range row {
				if i%4 != 3 {
					row[i] = v
				}
			}
		}
	})
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil // cannot happen for an in-memory RGBA image
	}
	return buf.Bytes()
}

// noisy adds noise of ±8 levels, about what a camera sensor and JPEG-free
// rendering leave in a real picture.
func noisy(v uint8, n uint64) uint8 {
	x := int(v) + int(n&15) - 8
	return uint8(min(255, max(0, x)))
}

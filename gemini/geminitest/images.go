package geminitest

import (
	"bytes"
	"container/list"
	"image"
	"image/color"
	"image/png"
	"sync"
)

// Encoding a 4K PNG costs tens of milliseconds even for a flat pattern, so
// pictures are cached per key. Prompts map onto a small set of palettes
// (numVariants), and every picture carries a label — the prompt's words, the
// model, the size and the turn — so that a newcomer sees at a glance that the
// answer is to *their* request, and an edit visibly changes the image.
const numVariants = 8

// imageKey identifies one cached picture. Drafts use their own palettes.
type imageKey struct {
	W, H    int
	Variant int
	Draft   bool
	Label   string // drawn into the picture, lines separated by "\n"
	Photo   bool   // photo-like, incompressible pixels (Config.Photo)
}

type cacheEntry struct {
	key  imageKey
	done chan struct{}
	data []byte
	elem *list.Element
}

// pngCache is a byte-bounded LRU of encoded PNGs with in-flight
// de-duplication: concurrent requests for the same picture encode it once.
type pngCache struct {
	mu      sync.Mutex
	max     int
	size    int
	entries map[imageKey]*cacheEntry
	lru     *list.List // front = most recently used; only completed entries
}

func newPNGCache(maxBytes int) *pngCache {
	return &pngCache{max: maxBytes, entries: map[imageKey]*cacheEntry{}, lru: list.New()}
}

// get returns the PNG for k, encoding it on a miss.
func (c *pngCache) get(k imageKey) []byte {
	c.mu.Lock()
	if e, ok := c.entries[k]; ok {
		if e.elem != nil {
			c.lru.MoveToFront(e.elem)
		}
		c.mu.Unlock()
		<-e.done
		return e.data
	}
	e := &cacheEntry{key: k, done: make(chan struct{})}
	c.entries[k] = e
	c.mu.Unlock()

	e.data = renderPNG(k)
	close(e.done)

	c.mu.Lock()
	defer c.mu.Unlock()
	if len(e.data) > c.max {
		delete(c.entries, k) // too big to keep; callers still got it
		return e.data
	}
	e.elem = c.lru.PushFront(e)
	c.size += len(e.data)
	for c.size > c.max {
		old := c.lru.Back()
		oe := old.Value.(*cacheEntry)
		c.lru.Remove(old)
		delete(c.entries, oe.key)
		c.size -= len(oe.data)
	}
	return e.data
}

// palettes are the base colour pairs of the final-image variants.
var palettes = [numVariants][2]color.RGBA{
	{{0xF9, 0xD7, 0x1C, 0xFF}, {0x3B, 0x1F, 0x0E, 0xFF}}, // banana
	{{0x1E, 0x88, 0xE5, 0xFF}, {0xFF, 0xF3, 0xE0, 0xFF}},
	{{0x43, 0xA0, 0x47, 0xFF}, {0x1A, 0x23, 0x7E, 0xFF}},
	{{0xE5, 0x39, 0x35, 0xFF}, {0xFF, 0xEB, 0x3B, 0xFF}},
	{{0x8E, 0x24, 0xAA, 0xFF}, {0x00, 0xBC, 0xD4, 0xFF}},
	{{0xFF, 0x70, 0x43, 0xFF}, {0x26, 0x32, 0x38, 0xFF}},
	{{0x00, 0x96, 0x88, 0xFF}, {0xF4, 0x8F, 0xB1, 0xFF}},
	{{0x79, 0x55, 0x48, 0xFF}, {0xC5, 0xE1, 0xA5, 0xFF}},
}

// renderPNG draws the picture for k: a photo-like one for Config.Photo, else a
// gradient; either way with its label.
func renderPNG(k imageKey) []byte {
	if k.Photo {
		return renderPhoto(k)
	}
	return renderGradient(k)
}

// renderGradient draws a diagonal gradient with a checker overlay in a 64-colour
// palette (a paletted image encodes several times faster than RGBA), and the label
// in black on a white band.
func renderGradient(k imageKey) []byte {
	a, b := palettes[k.Variant%numVariants][0], palettes[k.Variant%numVariants][1]
	if k.Draft { // drafts are desaturated sketches of the final
		a, b = grey(a), grey(b)
	}
	const levels = 32
	pal := make(color.Palette, 0, 2*levels)
	for i := 0; i < levels; i++ {
		pal = append(pal, lerp(a, b, i, levels-1))
	}
	for i := 0; i < levels; i++ {
		c := lerp(a, b, i, levels-1)
		pal = append(pal, color.RGBA{c.R / 2, c.G / 2, c.B / 2, 0xFF})
	}
	pal = append(pal, color.RGBA{0xFF, 0xFF, 0xFF, 0xFF}, color.RGBA{0x10, 0x10, 0x10, 0xFF}) // label band, ink
	img := image.NewPaletted(image.Rect(0, 0, k.W, k.H), pal)
	cell := max(8, min(k.W, k.H)/8)
	span := k.W + k.H
	for y := 0; y < k.H; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+k.W]
		for x := range row {
			idx := (x + y) * (levels - 1) / span
			if (x/cell+y/cell)%2 == 0 && (x/cell)%3 == 0 {
				idx += levels
			}
			row[x] = uint8(idx)
		}
	}
	drawLabel(k, func(x0, y0, x1, y1 int, ink bool) {
		v := uint8(2 * levels)
		if ink {
			v++
		}
		for y := y0; y < y1; y++ {
			row := img.Pix[y*img.Stride+x0 : y*img.Stride+x1]
			for i := range row {
				row[i] = v
			}
		}
	})
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil // cannot happen for an in-memory paletted image
	}
	return buf.Bytes()
}

func lerp(a, b color.RGBA, i, n int) color.RGBA {
	mix := func(x, y uint8) uint8 { return uint8((int(x)*(n-i) + int(y)*i) / n) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xFF}
}

func grey(c color.RGBA) color.RGBA {
	g := uint8((int(c.R)*30 + int(c.G)*59 + int(c.B)*11) / 100)
	return color.RGBA{(c.R + g) / 2, (c.G + g) / 2, (c.B + g) / 2, 0xFF}
}

// draftDims returns the dimensions of interim thought image n (0 or 1):
// about 60% and 75% of the final, as observed for Nano Banana Pro drafts.
func draftDims(final dims, n int) dims {
	pct := 60 + 15*n
	return dims{max(16, final.W*pct/100), max(16, final.H*pct/100)}
}

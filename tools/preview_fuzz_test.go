package tools

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// The preview decodes what an upstream (or a relay posing as one) sent, with a PNG reader of
// our own: no input may panic it, hang it or make it allocate without bound. `go test` runs
// the seeds; `go test -fuzz=FuzzPreview ./tools` searches further.
func FuzzPreview(f *testing.F) {
	for _, opaque := range []bool{true, false} {
		for _, size := range [][2]int{{1, 1}, {7, 5}, {40, 24}, {200, 130}} {
			img := image.NewNRGBA(image.Rect(0, 0, size[0], size[1]))
			for y := range size[1] {
				for x := range size[0] {
					a := uint8(255)
					if !opaque {
						a = uint8(x * 7)
					}
					img.SetNRGBA(x, y, color.NRGBA{uint8(x * 13), uint8(y * 29), uint8(x ^ y), a})
				}
			}
			var buf bytes.Buffer
			if err := png.Encode(&buf, img); err != nil {
				f.Fatal(err)
			}
			f.Add(buf.Bytes())
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := makePreview(data, PreviewOptions{MaxEdge: 64, MaxBytes: 16 << 10})
		if err == nil && (p == nil || len(p.Data) == 0 || p.Width < 1 || p.Height < 1 || p.Width > 64 || p.Height > 64) {
			t.Fatalf("preview without error but %+v", p)
		}
	})
}

package tools

import (
	"image"

	"golang.org/x/image/draw"
)

// scale fits src into edge×edge. Large reductions (a 4K image to a 768 px preview) first
// average whole blocks of pixels — a box filter, exact for integer factors and fast — and then
// finish with a bilinear blend from less than twice the target size. Below 2× a bilinear blend
// cannot alias, and at preview size it is indistinguishable from Catmull-Rom, which took 40% of
// a 1K preview's CPU (profiled: 1376×768 photo, 79 ms per preview of which 32 ms Catmull-Rom).
func scale(src image.Image, edge int) *image.RGBA {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= edge && h <= edge {
		return toRGBA(src)
	}
	tw, th := fit(w, h, edge)
	rgba := toRGBA(src)
	if k := min(w/tw, h/th); k >= 2 {
		rgba = boxShrink(rgba, k)
	}
	dst := newRGBA(tw, th)
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), rgba, rgba.Bounds(), draw.Src, nil)
	return dst
}

// fit returns the size of a w×h image scaled so its longest side is edge.
func fit(w, h, edge int) (int, int) {
	if h > w {
		return max(1, w*edge/h), edge
	}
	return edge, max(1, h*edge/w)
}

// toRGBA converts to premultiplied RGBA with fast loops for the types PNG and JPEG decoders
// return; anything else goes through image/draw.
func toRGBA(src image.Image) *image.RGBA {
	if rgba, ok := src.(*image.RGBA); ok {
		return rgba
	}
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	switch s := src.(type) {
	case *image.Paletted:
		lut := make([][4]uint8, len(s.Palette))
		for i, c := range s.Palette {
			r, g, bb, a := c.RGBA()
			lut[i] = [4]uint8{uint8(r >> 8), uint8(g >> 8), uint8(bb >> 8), uint8(a >> 8)}
		}
		for y := 0; y < b.Dy(); y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+b.Dx()]
			out := dst.Pix[y*dst.Stride:]
			for x, idx := range row {
				if int(idx) < len(lut) {
					c := &lut[idx]
					o := out[4*x : 4*x+4 : 4*x+4]
					o[0], o[1], o[2], o[3] = c[0], c[1], c[2], c[3]
				}
			}
		}
	case *image.NRGBA:
		for y := 0; y < b.Dy(); y++ {
			in := s.Pix[y*s.Stride : y*s.Stride+4*b.Dx()]
			out := dst.Pix[y*dst.Stride:]
			for i := 0; i < len(in); i += 4 {
				a := uint32(in[i+3])
				out[i] = uint8(uint32(in[i]) * a / 255)
				out[i+1] = uint8(uint32(in[i+1]) * a / 255)
				out[i+2] = uint8(uint32(in[i+2]) * a / 255)
				out[i+3] = uint8(a)
			}
		}
	default:
		draw.Draw(dst, dst.Bounds(), src, b.Min, draw.Src)
	}
	return dst
}

// boxShrink averages k×k blocks; edge pixels that do not fill a block are dropped (at most
// k-1 of thousands of columns).
func boxShrink(src *image.RGBA, k int) *image.RGBA {
	w, h := src.Bounds().Dx()/k, src.Bounds().Dy()/k
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	sums := make([]uint32, 4*w)
	n := uint32(k * k)
	for y := 0; y < h; y++ {
		clear(sums)
		for dy := 0; dy < k; dy++ {
			row := src.Pix[(y*k+dy)*src.Stride:]
			for x := 0; x < w; x++ {
				p := row[4*x*k : 4*(x+1)*k]
				s := sums[4*x : 4*x+4]
				for i := 0; i < len(p); i += 4 {
					s[0] += uint32(p[i])
					s[1] += uint32(p[i+1])
					s[2] += uint32(p[i+2])
					s[3] += uint32(p[i+3])
				}
			}
		}
		out := dst.Pix[y*dst.Stride:]
		for i, s := range sums {
			out[i] = uint8(s / n)
		}
	}
	return dst
}

package tools

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"image"
	"io"
)

// pngShrink decodes an 8-bit, non-interlaced RGB or RGBA PNG — what Gemini returns — row by
// row, averaging k×k blocks as it goes, so the full-size image never exists: a 4K preview
// needed a 64 MB decoded copy and now needs a few rows (two of 16 KB at 4096 px wide). It
// reports ok=false for any other kind of PNG, which the standard decoder then handles.
func pngShrink(data []byte, k int) (img *image.RGBA, ok bool, err error) {
	const sig = "\x89PNG\r\n\x1a\n"
	if k < 1 || len(data) < len(sig) || string(data[:len(sig)]) != sig {
		return nil, false, nil
	}
	var w, h, bpp int
	var idat []io.Reader
	for rest := data[len(sig):]; len(rest) >= 12; {
		n := int(binary.BigEndian.Uint32(rest))
		if n < 0 || n > len(rest)-12 {
			return nil, false, nil
		}
		typ, body := string(rest[4:8]), rest[8:8+n]
		rest = rest[12+n:]
		switch typ {
		case "IHDR":
			if n != 13 || body[8] != 8 || body[10] != 0 || body[11] != 0 || body[12] != 0 {
				return nil, false, nil // not 8-bit, or an unknown method, or interlaced
			}
			switch body[9] {
			case 2:
				bpp = 3
			case 6:
				bpp = 4
			default:
				return nil, false, nil
			}
			w, h = int(binary.BigEndian.Uint32(body)), int(binary.BigEndian.Uint32(body[4:]))
		case "IDAT":
			idat = append(idat, bytes.NewReader(body))
		case "IEND":
			rest = nil
		}
	}
	if bpp == 0 || len(idat) == 0 || w < k || h < k || w > 1<<16 || h > 1<<16 {
		return nil, false, nil
	}
	zr, err := zlib.NewReader(io.MultiReader(idat...))
	if err != nil {
		return nil, true, fmt.Errorf("decoding image for preview: %w", err)
	}
	defer zr.Close()

	ow, oh := w/k, h/k
	dst := image.NewRGBA(image.Rect(0, 0, ow, oh))
	sums := make([]uint32, 4*ow)
	rowLen := w * bpp
	cur, prev := make([]byte, rowLen+1), make([]byte, rowLen+1)
	n := uint32(k * k)
	for y := 0; y < oh*k; y++ {
		if _, err := io.ReadFull(zr, cur); err != nil {
			return nil, true, fmt.Errorf("decoding image for preview: %w", err)
		}
		if err := unfilter(cur[0], cur[1:], prev[1:], bpp); err != nil {
			return nil, true, err
		}
		px := cur[1:]
		for ox := 0; ox < ow; ox++ {
			s := sums[4*ox : 4*ox+4 : 4*ox+4]
			block := px[ox*k*bpp : (ox+1)*k*bpp]
			if bpp == 3 {
				for i := 0; i < len(block); i += 3 {
					s[0] += uint32(block[i])
					s[1] += uint32(block[i+1])
					s[2] += uint32(block[i+2])
				}
				s[3] += 255 * uint32(k)
				continue
			}
			for i := 0; i < len(block); i += 4 {
				a := uint32(block[i+3]) // premultiply, as image.RGBA holds colours
				s[0] += uint32(block[i]) * a / 255
				s[1] += uint32(block[i+1]) * a / 255
				s[2] += uint32(block[i+2]) * a / 255
				s[3] += a
			}
		}
		if (y+1)%k == 0 {
			out := dst.Pix[(y/k)*dst.Stride:]
			for i, v := range sums {
				out[i] = uint8(v / n)
			}
			clear(sums)
		}
		cur, prev = prev, cur
	}
	return dst, true, nil
}

// unfilter reverses a PNG row filter in place (as image/png does; Paeth after its paeth.go).
func unfilter(ft byte, cdat, pdat []byte, bpp int) error {
	switch ft {
	case 0:
	case 1:
		for i := bpp; i < len(cdat); i++ {
			cdat[i] += cdat[i-bpp]
		}
	case 2:
		for i, p := range pdat {
			cdat[i] += p
		}
	case 3:
		for i := 0; i < bpp; i++ {
			cdat[i] += pdat[i] / 2
		}
		for i := bpp; i < len(cdat); i++ {
			cdat[i] += uint8((int(cdat[i-bpp]) + int(pdat[i])) / 2)
		}
	case 4:
		for i := 0; i < bpp; i++ {
			var a, c int
			for j := i; j < len(cdat); j += bpp {
				b := int(pdat[j])
				pa, pb := b-c, a-c
				pc := absInt(pa + pb)
				pa, pb = absInt(pa), absInt(pb)
				if pa <= pb && pa <= pc {
					// a stays
				} else if pb <= pc {
					a = b
				} else {
					a = c
				}
				a = (a + int(cdat[j])) & 0xff
				cdat[j] = uint8(a)
				c = b
			}
		}
	default:
		return fmt.Errorf("decoding image for preview: bad PNG filter type %d", ft)
	}
	return nil
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

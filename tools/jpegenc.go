package tools

import (
	"image"
	"math"
	"math/bits"
)

// encodeJPEG appends img (at most 65535 pixels a side, as a preview is) as a baseline 4:2:0
// JPEG to dst. It writes what image/jpeg writes — the same quantisation tables scaled by
// quality the same way and the same Huffman tables, so sizes (and the quality prediction
// calibrated on them) carry over — in half the CPU (a 768×768 preview 11.5 → 5.7 ms), which
// matters because a preview is encoded on every call: colours are converted and chroma
// averaged in one pass over the pixels, the DCT is the float AAN one with the quantisation
// folded into its scale factors (no division per coefficient), and bits go straight into a
// byte slice. The tables below are from ITU T.81 Annex K (as in Go's image/jpeg, BSD licence).
func encodeJPEG(dst []byte, img *image.RGBA, quality int) []byte {
	quality = min(100, max(1, quality))
	scale := 200 - 2*quality
	if quality < 50 {
		scale = 5000 / quality
	}
	var quant [2][64]byte     // zig-zag order, as written to the file
	var fquant [2][64]float32 // natural order, the multipliers applied after the DCT
	for t := range quant {
		for z := range 64 {
			q := min(255, max(1, (int(jpegQuant[t][z])*scale+50)/100))
			quant[t][z] = byte(q)
			n := jpegUnzig[z]
			fquant[t][n] = float32(1 / (float64(q) * aanScale[n/8] * aanScale[n%8] * 8))
		}
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	// Headers: SOI, DQT, SOF0 (three components, luma 2×2), DHT, SOS.
	dst = append(dst, 0xff, 0xd8, 0xff, 0xdb, 0, 2+2*65)
	for t := range quant {
		dst = append(dst, byte(t))
		dst = append(dst, quant[t][:]...)
	}
	dst = append(dst, 0xff, 0xc0, 0, 17, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 3,
		1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1)
	dhtLen := 2
	for _, s := range jpegHuffSpecs {
		dhtLen += 17 + len(s.value)
	}
	dst = append(dst, 0xff, 0xc4, byte(dhtLen>>8), byte(dhtLen))
	for i, s := range jpegHuffSpecs {
		dst = append(dst, "\x00\x10\x01\x11"[i])
		dst = append(dst, s.count[:]...)
		dst = append(dst, s.value...)
	}
	dst = append(dst, 0xff, 0xda, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0)

	e := jpegBits{out: dst}
	var yb [4][64]float32
	var cb, cr [64]float32
	var dcY, dcCb, dcCr int32
	for y0 := b.Min.Y; y0 < b.Max.Y; y0 += 16 {
		for x0 := b.Min.X; x0 < b.Max.X; x0 += 16 {
			var rs, gs, bs [64]float32 // 2×2 sums for chroma
			if x0+16 <= b.Max.X && y0+16 <= b.Max.Y {
				mcuInterior(img, x0, y0, &yb, &rs, &gs, &bs)
			} else {
				mcuEdge(img, x0, y0, &yb, &rs, &gs, &bs)
			}
			for c := range 64 {
				r, g, bl := rs[c]*0.25, gs[c]*0.25, bs[c]*0.25
				cb[c] = -0.168736*r - 0.331264*g + 0.5*bl
				cr[c] = 0.5*r - 0.418688*g - 0.081312*bl
			}
			for i := range yb {
				dcY = e.block(&yb[i], &fquant[0], dcY, &jpegHuffLUT[0], &jpegHuffLUT[1])
			}
			dcCb = e.block(&cb, &fquant[1], dcCb, &jpegHuffLUT[2], &jpegHuffLUT[3])
			dcCr = e.block(&cr, &fquant[1], dcCr, &jpegHuffLUT[2], &jpegHuffLUT[3])
		}
	}
	e.emit(0x7f, 7) // pad the last byte with ones
	return append(e.out, 0xff, 0xd9)
}

// mcuEdge reads the 16×16 pixels at x0, y0 as four luma blocks and 2×2 chroma sums,
// repeating the last row and column where the block passes the image's edge.
func mcuEdge(img *image.RGBA, x0, y0 int, yb *[4][64]float32, rs, gs, bs *[64]float32) {
	b := img.Bounds()
	for j := range 16 {
		sy := min(y0+j, b.Max.Y-1)
		row := img.Pix[(sy-b.Min.Y)*img.Stride:]
		blk := &yb[(j>>3)*2]
		for i := range 16 {
			sx := min(x0+i, b.Max.X-1) - b.Min.X
			p := row[4*sx : 4*sx+3 : 4*sx+3]
			r, g, bl := float32(p[0]), float32(p[1]), float32(p[2])
			if i == 8 {
				blk = &yb[(j>>3)*2+1]
			}
			blk[(j&7)*8+i&7] = 0.299*r + 0.587*g + 0.114*bl - 128
			c := (j>>1)*8 + i>>1
			rs[c] += r
			gs[c] += g
			bs[c] += bl
		}
	}
}

// mcuInterior is mcuEdge for a block wholly inside the image, with the same arithmetic (so
// the same bits: the chroma sums are of integers, exact in float32 in any order) but without
// clamping every pixel's position, and reading each 2×2 square at once, so a chroma sum is
// added in registers and stored once: the clamped loop was a third of the encoder's CPU.
func mcuInterior(img *image.RGBA, x0, y0 int, yb *[4][64]float32, rs, gs, bs *[64]float32) {
	b := img.Bounds()
	for j := 0; j < 16; j += 2 {
		at := (y0+j-b.Min.Y)*img.Stride + 4*(x0-b.Min.X)
		row0 := img.Pix[at : at+64 : at+64]
		row1 := img.Pix[at+img.Stride : at+img.Stride+64 : at+img.Stride+64]
		for half := range 2 {
			blk := &yb[(j>>3)*2+half]
			top := blk[(j&7)*8 : (j&7)*8+8 : (j&7)*8+8]
			bottom := blk[(j&7)*8+8 : (j&7)*8+16 : (j&7)*8+16]
			c0 := (j>>1)*8 + 4*half
			for i := 0; i < 8; i += 2 {
				o := 32*half + 4*i
				p, q := row0[o:o+7:o+7], row1[o:o+7:o+7]
				top[i] = 0.299*float32(p[0]) + 0.587*float32(p[1]) + 0.114*float32(p[2]) - 128
				top[i+1] = 0.299*float32(p[4]) + 0.587*float32(p[5]) + 0.114*float32(p[6]) - 128
				bottom[i] = 0.299*float32(q[0]) + 0.587*float32(q[1]) + 0.114*float32(q[2]) - 128
				bottom[i+1] = 0.299*float32(q[4]) + 0.587*float32(q[5]) + 0.114*float32(q[6]) - 128
				c := c0 + i>>1
				rs[c] = float32(int(p[0]) + int(p[4]) + int(q[0]) + int(q[4]))
				gs[c] = float32(int(p[1]) + int(p[5]) + int(q[1]) + int(q[5]))
				bs[c] = float32(int(p[2]) + int(p[6]) + int(q[2]) + int(q[6]))
			}
		}
	}
}

// jpegBits writes a JPEG's entropy-coded bits, stuffing a zero after each 0xff byte.
type jpegBits struct {
	out []byte
	acc uint64
	n   uint
}

// emit writes the n ≤ 32 low bits of v.
func (e *jpegBits) emit(v uint32, n uint) {
	e.acc = e.acc<<n | uint64(v)
	e.n += n
	for e.n >= 8 {
		e.n -= 8
		c := byte(e.acc >> e.n)
		e.out = append(e.out, c)
		if c == 0xff {
			e.out = append(e.out, 0)
		}
	}
}

// emitValue writes a Huffman symbol (run<<4 | size) followed by the size bits of v.
func (e *jpegBits) emitValue(lut *[256]uint32, run uint32, v int32) {
	a := v
	if v < 0 {
		a, v = -v, v-1
	}
	size := uint32(bits.Len32(uint32(a)))
	code := lut[run<<4|size]
	e.emit(code&(1<<24-1)<<size|uint32(v)&(1<<size-1), uint(code>>24+size))
}

// block transforms, quantises and writes one 8×8 block (level-shifted samples, natural order)
// and returns its DC value for the next block's delta.
func (e *jpegBits) block(b *[64]float32, fq *[64]float32, prevDC int32, dc, ac *[256]uint32) int32 {
	fdctAAN(b)
	var q [64]int32 // zig-zag order
	for z, n := range jpegUnzig {
		q[z] = int32(b[n]*fq[n]+16384.5) - 16384 // round to nearest; |value| < 2¹¹
	}
	e.emitValue(dc, 0, q[0]-prevDC)
	run := uint32(0)
	for _, v := range q[1:] {
		if v == 0 {
			run++
			continue
		}
		for run > 15 {
			e.emit(ac[0xf0]&(1<<24-1), uint(ac[0xf0]>>24))
			run -= 16
		}
		e.emitValue(ac, run, v)
		run = 0
	}
	if run > 0 {
		e.emit(ac[0]&(1<<24-1), uint(ac[0]>>24)) // end of block
	}
	return q[0]
}

// fdctAAN is the float forward DCT of Arai, Agui and Nakajima (as libjpeg's jfdctflt.c):
// its outputs are the DCT coefficients times 8·aanScale[u]·aanScale[v], which the
// quantisation multipliers undo.
func fdctAAN(d *[64]float32) {
	for i := 0; i < 64; i += 8 {
		r := d[i : i+8 : i+8]
		t0, t7 := r[0]+r[7], r[0]-r[7]
		t1, t6 := r[1]+r[6], r[1]-r[6]
		t2, t5 := r[2]+r[5], r[2]-r[5]
		t3, t4 := r[3]+r[4], r[3]-r[4]
		r[0], r[2], r[4], r[6], r[1], r[3], r[5], r[7] = aanButterfly(t0, t1, t2, t3, t4, t5, t6, t7)
	}
	for i := range 8 {
		t0, t7 := d[i]+d[56+i], d[i]-d[56+i]
		t1, t6 := d[8+i]+d[48+i], d[8+i]-d[48+i]
		t2, t5 := d[16+i]+d[40+i], d[16+i]-d[40+i]
		t3, t4 := d[24+i]+d[32+i], d[24+i]-d[32+i]
		d[i], d[16+i], d[32+i], d[48+i], d[8+i], d[24+i], d[40+i], d[56+i] = aanButterfly(t0, t1, t2, t3, t4, t5, t6, t7)
	}
}

// aanButterfly returns outputs 0, 2, 4, 6, 1, 3, 5, 7 of one 8-point AAN DCT from the sums
// (t0..t3) and differences (t4..t7) of its mirrored inputs.
func aanButterfly(t0, t1, t2, t3, t4, t5, t6, t7 float32) (o0, o2, o4, o6, o1, o3, o5, o7 float32) {
	t10, t13 := t0+t3, t0-t3
	t11, t12 := t1+t2, t1-t2
	z1 := (t12 + t13) * 0.707106781
	o0, o4 = t10+t11, t10-t11
	o2, o6 = t13+z1, t13-z1
	t10, t11, t12 = t4+t5, t5+t6, t6+t7
	z5 := (t10 - t12) * 0.382683433
	z2 := 0.541196100*t10 + z5
	z4 := 1.306562965*t12 + z5
	z3 := t11 * 0.707106781
	z11, z13 := t7+z3, t7-z3
	o5, o3 = z13+z2, z13-z2
	o1, o7 = z11+z4, z11-z4
	return
}

// aanScale[k] is cos(kπ/16)·√2 (1 for k = 0), the AAN DCT's scale of output k.
var aanScale = func() (s [8]float64) {
	for k := range s {
		s[k] = 1
		if k > 0 {
			s[k] = math.Cos(float64(k)*math.Pi/16) * math.Sqrt2
		}
	}
	return s
}()

// jpegUnzig maps zig-zag order to natural order.
var jpegUnzig = [64]int{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// jpegQuant are the luminance and chrominance quantisation tables of Annex K.1, zig-zag order.
var jpegQuant = [2][64]byte{{
	16, 11, 12, 14, 12, 10, 16, 14, 13, 14, 18, 17, 16, 19, 24, 40,
	26, 24, 22, 22, 24, 49, 35, 37, 29, 40, 58, 51, 61, 60, 57, 51,
	56, 55, 64, 72, 92, 78, 64, 68, 87, 69, 55, 56, 80, 109, 81, 87,
	95, 98, 103, 104, 103, 62, 77, 113, 121, 112, 100, 120, 92, 101, 103, 99,
}, {
	17, 18, 18, 24, 21, 24, 47, 26, 26, 47, 99, 66, 56, 66, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
}}

// jpegHuffSpecs are the Huffman tables of Annex K.3 — luminance DC and AC, chrominance DC
// and AC — as the number of codes of each length and the symbols in code order.
var jpegHuffSpecs = [4]struct {
	count [16]byte
	value []byte
}{
	{
		[16]byte{0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0},
		[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
	},
	{
		[16]byte{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125},
		[]byte{
			0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12,
			0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
			0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08,
			0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
			0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16,
			0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
			0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
			0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
			0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59,
			0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
			0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79,
			0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
			0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
			0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
			0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
			0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
			0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4,
			0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
			0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea,
			0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa,
		},
	},
	{
		[16]byte{0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
		[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
	},
	{
		[16]byte{0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 119},
		[]byte{
			0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21,
			0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
			0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91,
			0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
			0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34,
			0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
			0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38,
			0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
			0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,
			0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
			0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78,
			0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
			0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96,
			0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
			0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
			0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
			0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2,
			0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
			0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9,
			0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa,
		},
	},
}

// jpegHuffLUT[t][symbol] is the code of symbol in table t: length<<24 | bits.
var jpegHuffLUT = func() (luts [4][256]uint32) {
	for t, s := range jpegHuffSpecs {
		code, k := uint32(0), 0
		for i, n := range s.count {
			for range n {
				luts[t][s.value[k]] = uint32(i+1)<<24 | code
				code++
				k++
			}
			code <<= 1
		}
	}
	return luts
}()

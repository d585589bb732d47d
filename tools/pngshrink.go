package tools

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"sync"

	// The same DEFLATE as compress/flate with a faster decoder: inflate is most of a
	// preview's CPU (≈80 % at 4K), and this cuts a 4K preview from 267 to 236 ms.
	"github.com/klauspost/compress/flate"
)

// pngStream reads the rows of an 8-bit, non-interlaced RGB or RGBA PNG — what Gemini returns —
// one at a time, so a preview never holds the full-size pixels: a 4K image decoded whole is
// 64 MB, and streamed it is two rows of 16 KB. The file itself is read through a 64 KB buffer
// (or walked in place when already in memory), never copied whole.
type pngStream struct {
	w, h, bpp int
	r         *chunkReader
	inf       *inflater
	cur, prev []byte
}

// openPNG reads the signature and header. ok=false means a PNG of another kind (or not a
// PNG), for the standard decoder; the caller then reads the image again from its start.
func openPNG(r *chunkReader) (s *pngStream, ok bool, err error) {
	const sig = "\x89PNG\r\n\x1a\n"
	if !r.need(33) || string(r.buf[r.pos:r.pos+8]) != sig || string(r.buf[r.pos+8:r.pos+16]) != "\x00\x00\x00\x0dIHDR" {
		return nil, false, nil
	}
	hdr := r.buf[r.pos+16 : r.pos+29]
	if hdr[8] != 8 || hdr[10] != 0 || hdr[11] != 0 || hdr[12] != 0 {
		return nil, false, nil // not 8-bit, or an unknown method, or interlaced
	}
	s = &pngStream{r: r, w: int(binary.BigEndian.Uint32(hdr)), h: int(binary.BigEndian.Uint32(hdr[4:]))}
	switch hdr[9] {
	case 2:
		s.bpp = 3
	case 6:
		s.bpp = 4
	default:
		return nil, false, nil
	}
	if s.w < 1 || s.h < 1 || s.w > 1<<16 || s.h > 1<<16 {
		return nil, false, nil
	}
	r.pos += 29 // at the IHDR's CRC
	return s, true, nil
}

// start skips the chunks before the image data and begins inflating it.
func (s *pngStream) start() error {
	if err := s.r.toIDAT(); err != nil {
		return fmt.Errorf("decoding image for preview: %w", err)
	}
	// The zlib header, read here so the inflater can start on the deflate stream itself: a
	// zlib reader would also keep an Adler-32 of every byte (3% of a preview's CPU) that is
	// only checked at the end of the stream, which a preview, stopping after its last row,
	// never reaches.
	cmf, err1 := s.r.ReadByte()
	flg, err2 := s.r.ReadByte()
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("decoding image for preview: %w", err)
	}
	if cmf&0x0f != 8 || (uint(cmf)<<8|uint(flg))%31 != 0 || flg&0x20 != 0 {
		return errors.New("decoding image for preview: bad zlib header in the PNG")
	}
	// The inflater reads through a bufio.Reader: klauspost/compress/flate has a decode loop
	// specialised for one, faster than its generic loop calling ReadByte through an interface
	// (a 1K preview 1.5 ms, a 4K one 8 ms less).
	if inf, ok := inflaters.Get().(*inflater); ok {
		s.inf = inf
		inf.br.Reset(s.r)
		if err := inf.zr.(flate.Resetter).Reset(inf.br, nil); err != nil {
			return fmt.Errorf("decoding image for preview: %w", err)
		}
	} else {
		br := bufio.NewReaderSize(s.r, 32<<10)
		s.inf = &inflater{br: br, zr: flate.NewReader(br)}
	}
	s.cur, s.prev = make([]byte, s.w*s.bpp+1), make([]byte, s.w*s.bpp+1)
	return nil
}

// next returns the next row's pixels, valid until the call after next.
func (s *pngStream) next() ([]byte, error) {
	if _, err := io.ReadFull(s.inf.zr, s.cur); err != nil {
		return nil, fmt.Errorf("decoding image for preview: %w", err)
	}
	if err := unfilter(s.cur[0], s.cur[1:], s.prev[1:], s.bpp); err != nil {
		return nil, err
	}
	s.cur, s.prev = s.prev, s.cur
	return s.prev[1:], nil
}

// shrinkBox averages k×k blocks as the rows arrive; edge pixels that do not fill a block are
// dropped (at most k-1 of thousands). Exact for integer factors and the cheapest per pixel.
func (s *pngStream) shrinkBox(k int) (*image.RGBA, error) {
	w, bpp := s.w, s.bpp
	ow, oh := w/k, s.h/k
	dst := newRGBA(ow, oh)
	sums := make([]uint32, 4*ow)
	n := uint32(k * k)
	for y := 0; y < oh*k; y++ {
		px, err := s.next()
		if err != nil {
			return nil, err
		}
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
	}
	return dst, nil
}

// shrinkArea scales to tw×th (each at most the source's size, and more than half of it) by
// area averaging as the rows arrive: every output pixel is the mean of the source area it
// covers, partly covered pixels weighted by their share. Below 2× this is what a box filter
// is for fractional factors; it replaces a full decode plus a bilinear pass (profiled on a
// 1024×1024 photo: decode 22 ms, conversion and bilinear 8 ms of a 45 ms preview). The
// weights are fixed-point, so the sums stay in uint32 and a pixel is a shift instead of a
// float multiply (this loop was 5.3 of a 1K preview's 30 ms; now about 2).
func (s *pngStream) shrinkArea(tw, th int) (*image.RGBA, error) {
	w, h, bpp := s.w, s.h, s.bpp
	xo, xa, xb := areaWeights(w, tw)
	yo, ya, yb := areaWeights(h, th)
	dst := newRGBA(tw, th)
	// Opaque rows sum three channels; alpha is set once per output pixel. Rows have one
	// pixel of slack, so a source pixel always adds to the next output too (with weight 0
	// when it lies within one) instead of branching.
	ch := min(bpp, 4)
	row := make([]uint32, ch*(tw+1))
	acc, next := make([]uint32, ch*(tw+1)), make([]uint32, ch*(tw+1))
	for y := range h {
		px, err := s.next()
		if err != nil {
			return nil, err
		}
		// Vertically the same: source row y adds to output row yo[y] and maybe the next.
		wa, wb := ya[y], yb[y]
		if bpp == 3 {
			shrinkRowRGB(acc, next, px[:3*w], xo, xa, xb, wa, wb)
		} else {
			clear(row)
			for x := range w {
				p := px[4*x : 4*x+4 : 4*x+4]
				a := uint32(p[3]) // premultiply, as image.RGBA holds colours
				r, g, b := uint32(p[0])*a/255, uint32(p[1])*a/255, uint32(p[2])*a/255
				o, wa, wb := 4*int(xo[x]), xa[x], xb[x]
				d := row[o : o+8 : o+8]
				d[0] += r * wa
				d[1] += g * wa
				d[2] += b * wa
				d[3] += a * wa
				d[4] += r * wb
				d[5] += g * wb
				d[6] += b * wb
				d[7] += a * wb
			}
			for i, v := range row[:len(acc)] {
				acc[i] += v * wa
			}
			if wb != 0 {
				for i, v := range row[:len(next)] {
					next[i] += v * wb
				}
			}
		}
		if wb == 0 && (y+1 < h && yo[y+1] == yo[y]) {
			continue // output row yo[y] needs more source rows
		}
		out := dst.Pix[int(yo[y])*dst.Stride : int(yo[y])*dst.Stride+4*tw]
		if ch == 3 {
			for i := range tw {
				o, a := out[4*i:4*i+4:4*i+4], acc[3*i:3*i+3:3*i+3]
				o[0], o[1], o[2], o[3] = uint8((a[0]+areaHalf)>>areaShift), uint8((a[1]+areaHalf)>>areaShift), uint8((a[2]+areaHalf)>>areaShift), 0xff
			}
		} else {
			for i, v := range acc[:4*tw] {
				out[i] = uint8((v + areaHalf) >> areaShift)
			}
		}
		acc, next = next, acc
		clear(next)
	}
	return dst, nil
}

// shrinkRowRGB area-averages one row of RGB pixels into the sums of the output rows it
// covers: wy of each output pixel's sum goes to acc and wyNext to next (3 sums per output
// pixel, one pixel of slack). The row's sums of the output pixel being filled and of the
// next one stay in registers and are added once, when the source moves on: adding into
// memory pixel after pixel made every pixel wait for the stores of the one before (the same
// sums), and a second pass added the row into acc; the two were a fifth of a 1K preview.
func shrinkRowRGB(acc, next []uint32, px []byte, xo []int32, xa, xb []uint32, wy, wyNext uint32) {
	cur := 0
	var r0, g0, b0, r1, g1, b1 uint32
	add := func(o int, r, g, b uint32) {
		d := acc[3*o : 3*o+3 : 3*o+3]
		d[0] += r * wy
		d[1] += g * wy
		d[2] += b * wy
		if wyNext != 0 {
			d := next[3*o : 3*o+3 : 3*o+3]
			d[0] += r * wyNext
			d[1] += g * wyNext
			d[2] += b * wyNext
		}
	}
	xo, xa, xb = xo[:len(px)/3], xa[:len(px)/3], xb[:len(px)/3]
	for x, o := range xo {
		if int(o) != cur { // o is cur+1: a source pixel is no wider than an output pixel
			add(cur, r0, g0, b0)
			r0, g0, b0, r1, g1, b1 = r1, g1, b1, 0, 0, 0
			cur = int(o)
		}
		p := px[3*x : 3*x+3 : 3*x+3]
		r, g, b := uint32(p[0]), uint32(p[1]), uint32(p[2])
		wa, wb := xa[x], xb[x]
		r0 += r * wa
		g0 += g * wa
		b0 += b * wa
		r1 += r * wb
		g1 += g * wb
		b1 += b * wb
	}
	add(cur, r0, g0, b0)
	add(cur+1, r1, g1, b1)
}

// areaOne is the fixed-point 1 of shrinkArea's weights: those of one output pixel sum to it
// along each axis, so its sums stay below 255·2¹²·2¹² < 2³².
const (
	areaOne   = 1 << 12
	areaShift = 24 // areaOne²
	areaHalf  = 1 << (areaShift - 1)
)

// areaWeights maps n source pixels onto tn ≤ n output pixels: source pixel x gives weight
// wa[x] to output o[x] and wb[x] to output o[x]+1. In units where a source pixel is tn wide
// an output pixel is n wide; the weights are differences of the fixed-point positions of the
// piece's ends, so each output's weights sum to exactly areaOne.
func areaWeights(n, tn int) (o []int32, wa, wb []uint32) {
	o, wa, wb = make([]int32, n), make([]uint32, n), make([]uint32, n)
	pos := func(p int) uint32 { return uint32(p * areaOne / n) }
	for x := range n {
		from := x * tn
		ox := from / n
		a := from - ox*n // where the pixel starts within output ox
		o[x] = int32(ox)
		if a+tn <= n {
			wa[x] = pos(a+tn) - pos(a)
		} else {
			wa[x], wb[x] = pos(n)-pos(a), pos(a+tn-n)
		}
	}
	return o, wa, wb
}

// inflaters keeps flate readers (with their 32 KB windows and Huffman tables) and their
// input buffers for reuse.
var inflaters sync.Pool

type inflater struct {
	br *bufio.Reader
	zr io.ReadCloser
}

func (s *pngStream) close() {
	if s.inf != nil {
		s.inf.zr.Close()
		s.inf.br.Reset(nil)
		inflaters.Put(s.inf)
		s.inf = nil
	}
}

// chunkReader walks a PNG's chunks and reads the concatenated IDAT data as one stream.
type chunkReader struct {
	src      io.Reader // nil when buf holds the whole file
	buf      []byte
	pos, end int // unread bytes are buf[pos:end]
	lim      int // IDAT bytes readable without a check are buf[pos:lim]
	left     int // IDAT bytes of the current chunk after lim
	err      error
}

func newChunkReader(src io.Reader, data []byte) *chunkReader {
	if src == nil {
		return &chunkReader{buf: data, end: len(data)}
	}
	return &chunkReader{src: src, buf: make([]byte, 64<<10)}
}

// need makes n unread bytes available, reading more when there is a source.
func (r *chunkReader) need(n int) bool {
	if r.end-r.pos >= n {
		return true
	}
	if r.src == nil {
		return false
	}
	r.end = copy(r.buf, r.buf[r.pos:r.end])
	r.pos, r.lim = 0, 0
	for r.end < n {
		m, err := r.src.Read(r.buf[r.end:])
		r.end += m
		if err != nil {
			return r.end >= n
		}
	}
	return true
}

// toIDAT skips chunks (from the CRC of the one just read) until the first IDAT.
func (r *chunkReader) toIDAT() error {
	for {
		if !r.need(12) {
			return io.ErrUnexpectedEOF
		}
		n := int(binary.BigEndian.Uint32(r.buf[r.pos+4:]))
		typ := string(r.buf[r.pos+8 : r.pos+12])
		r.pos += 12
		if n > 1<<31-1 {
			return errors.New("bad PNG chunk length")
		}
		switch typ {
		case "IDAT":
			r.lim, r.left = r.pos, n
			return nil
		case "IEND":
			return errors.New("the PNG has no image data")
		}
		for n > 0 { // an ancillary chunk
			if r.pos == r.end && !r.need(1) {
				return io.ErrUnexpectedEOF
			}
			d := min(n, r.end-r.pos)
			r.pos, n = r.pos+d, n-d
		}
	}
}

// more makes IDAT bytes available at pos: the rest of the chunk, or the next IDAT chunk's.
func (r *chunkReader) more() bool {
	for r.err == nil {
		if r.left > 0 {
			if r.pos == r.end && !r.need(1) {
				r.err = io.ErrUnexpectedEOF
				break
			}
			take := min(r.left, r.end-r.pos)
			r.lim, r.left = r.pos+take, r.left-take
			return true
		}
		// This chunk is done: skip its CRC and go on if the next chunk is IDAT too.
		if !r.need(12) {
			r.err = io.ErrUnexpectedEOF
			break
		}
		n := int(binary.BigEndian.Uint32(r.buf[r.pos+4:]))
		if string(r.buf[r.pos+8:r.pos+12]) != "IDAT" {
			r.err = io.EOF
			break
		}
		r.pos += 12
		r.lim, r.left = r.pos, n
	}
	return false
}

func (r *chunkReader) ReadByte() (byte, error) {
	if r.pos == r.lim && !r.more() {
		return 0, r.err
	}
	b := r.buf[r.pos]
	r.pos++
	return b, nil
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.pos == r.lim && !r.more() {
		return 0, r.err
	}
	n := copy(p, r.buf[r.pos:r.lim])
	r.pos += n
	return n, nil
}

// unfilter reverses a PNG row filter in place (as image/png does; Paeth after its paeth.go).
func unfilter(ft byte, cdat, pdat []byte, bpp int) error {
	switch ft {
	case 0:
	case 1:
		if bpp == 3 {
			subRGB(cdat)
			break
		}
		for i := bpp; i < len(cdat); i++ {
			cdat[i] += cdat[i-bpp]
		}
	case 2:
		for i, p := range pdat {
			cdat[i] += p
		}
	case 3:
		if bpp == 3 {
			averageRGB(cdat, pdat)
			break
		}
		for i := 0; i < bpp; i++ {
			cdat[i] += pdat[i] / 2
		}
		for i := bpp; i < len(cdat); i++ {
			cdat[i] += uint8((int(cdat[i-bpp]) + int(pdat[i])) / 2)
		}
	case 4:
		if bpp == 3 {
			paethRGB(cdat, pdat)
			break
		}
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

// averageRGB, subRGB and paethRGB are the Average, Sub and Paeth filters for 3-byte pixels,
// keeping the left (and upper left) pixel in registers instead of reading it back from the
// row. Encoders often pick Average for every row of a photo; this made a 4K preview of one
// 246 → 221 ms.
func averageRGB(cdat, pdat []byte) {
	var a0, a1, a2 uint32
	for i := 0; i+3 <= len(cdat) && i+3 <= len(pdat); i += 3 {
		c, p := cdat[i:i+3:i+3], pdat[i:i+3:i+3]
		a0 = (uint32(c[0]) + (a0+uint32(p[0]))>>1) & 0xff
		a1 = (uint32(c[1]) + (a1+uint32(p[1]))>>1) & 0xff
		a2 = (uint32(c[2]) + (a2+uint32(p[2]))>>1) & 0xff
		c[0], c[1], c[2] = byte(a0), byte(a1), byte(a2)
	}
}

func subRGB(cdat []byte) {
	var a0, a1, a2 byte
	for i := 0; i+3 <= len(cdat); i += 3 {
		c := cdat[i : i+3 : i+3]
		a0, a1, a2 = c[0]+a0, c[1]+a1, c[2]+a2
		c[0], c[1], c[2] = a0, a1, a2
	}
}

func paethRGB(cdat, pdat []byte) {
	var a, c [3]int
	for i := 0; i+3 <= len(cdat) && i+3 <= len(pdat); i += 3 {
		cd, pd := cdat[i:i+3:i+3], pdat[i:i+3:i+3]
		for k := range 3 {
			b := int(pd[k])
			pa, pb := b-c[k], a[k]-c[k]
			pc := absInt(pa + pb)
			pa, pb = absInt(pa), absInt(pb)
			pred := a[k]
			if pa <= pb && pa <= pc {
				// a stays
			} else if pb <= pc {
				pred = b
			} else {
				pred = c[k]
			}
			a[k] = (pred + int(cd[k])) & 0xff
			cd[k] = uint8(a[k])
			c[k] = b
		}
	}
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

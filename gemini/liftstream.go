package gemini

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"sync"
)

// liftStream copies a JSON response body, decoding every large "data" string straight from
// the wire into l and leaving a placeholder in its place, so the body (27 MB of base64 for a
// 4K image) is never held whole: only the decoded image and the small rest of the JSON.
//
// A large data string that is not base64 fails the call, as it would in the SDK.
func liftStream(r io.Reader, l *lifted) ([]byte, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var out []byte
	for {
		chunk, err := br.ReadSlice('"')
		out = append(out, chunk...)
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return out, nil
		case err != nil:
			return nil, err
		}
		if !atDataValue(out) {
			continue
		}
		raw, data, err := readDataString(br)
		if err != nil {
			return nil, err
		}
		if data == nil { // small: copied as it was
			out = append(out, raw...)
			continue
		}
		out = append(out, l.add(data)...)
		out = append(out, '"')
	}
}

// atDataValue reports whether out ends with `"data"`, a colon and the quote that opens its
// value. Inside a JSON string every quote is escaped, so an unescaped `"data"` is a key.
func atDataValue(out []byte) bool {
	i := len(out) - 2 // before the opening quote
	for i >= 0 && isSpace(out[i]) {
		i--
	}
	if i < 0 || out[i] != ':' {
		return false
	}
	i--
	for i >= 0 && isSpace(out[i]) {
		i--
	}
	const key = `"data"`
	if i+1 < len(key) || string(out[i+1-len(key):i+1]) != key {
		return false
	}
	return i+1-len(key) == 0 || out[i-len(key)] != '\\'
}

func isSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\r' || b == '\t' }

// readDataString reads a string value up to and including its closing quote. A short one
// comes back raw (quote included) for the caller to copy; a long one comes back decoded from
// base64, its raw text never kept.
func readDataString(br *bufio.Reader) (raw, data []byte, err error) {
	var dec *streamDecoder
	for {
		chunk, err := br.ReadSlice('"')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, nil, err
		}
		prev := raw
		if dec != nil && dec.slash {
			prev = []byte{'\\'}
		}
		closing := err == nil && !escaped(prev, chunk)
		if dec == nil {
			raw = append(raw, chunk...)
			if closing && len(raw) <= liftMin {
				return raw, nil, nil
			}
			if len(raw) <= liftMin {
				continue
			}
			dec = newStreamDecoder()
			chunk, raw = raw, nil
		}
		body := chunk
		if closing {
			body = chunk[:len(chunk)-1]
		}
		if err := dec.write(body); err != nil {
			return nil, nil, err
		}
		if closing {
			data, err := dec.finish()
			return nil, data, err
		}
	}
}

// escaped reports whether the quote ending chunk is preceded by an odd run of backslashes
// (counting into prev, the string read so far).
func escaped(prev, chunk []byte) bool {
	k := 0
	for i := len(chunk) - 2; i >= 0 && chunk[i] == '\\'; i-- {
		k++
	}
	if k == len(chunk)-1 {
		for i := len(prev) - 1; i >= 0 && prev[i] == '\\'; i-- {
			k++
		}
	}
	return k%2 == 1
}

// streamDecoder decodes standard base64 written to it in pieces of any length; the JSON
// escape `\/` is the only one a base64 string can carry. It decodes into blocks and joins
// them once at the end: the string's length is not known until its closing quote, and a
// buffer sized from the rest of the body would be several times too big for a draft that
// comes before the final image.
type streamDecoder struct {
	blocks [][]byte
	cur    []byte
	size   int
	quad   [4]byte
	nq     int
	slash  bool // the last byte written was a backslash
}

// blockPool keeps decode blocks (*[]byte of decodeBlock bytes) for the next image: each call
// decoded into fresh blocks, twice its image in garbage with the copy finish makes, and reusing
// them made a 1K image's lift 25 % cheaper (BenchmarkLiftStream). The pool holds no more than
// the decodes at their busiest, and the collector empties it when the server is quiet.
var blockPool sync.Pool

var errNotBase64 = errors.New("inline data is not base64")

// decodeBlock is the size of one block of decoded bytes.
const decodeBlock = 1 << 20

func newStreamDecoder() *streamDecoder { return &streamDecoder{} }

func (d *streamDecoder) write(p []byte) error {
	for len(p) > 0 {
		// Fast path: whole quads straight from p.
		if d.nq == 0 && !d.slash {
			k := bytes.IndexByte(p, '\\') // a vectorised scan: a byte-by-byte loop was a quarter of the lift
			if k < 0 {
				k = len(p)
			}
			if whole := min(k/4*4, decodeBlock/3*4); whole > 0 {
				if err := d.decode(p[:whole]); err != nil {
					return err
				}
				p = p[whole:]
				continue
			}
		}
		c := p[0]
		p = p[1:]
		switch {
		case d.slash:
			if c != '/' {
				return errNotBase64
			}
			d.slash = false
		case c == '\\':
			d.slash = true
			continue
		}
		d.quad[d.nq] = c
		if d.nq++; d.nq == 4 {
			if err := d.decode(d.quad[:]); err != nil {
				return err
			}
			d.nq = 0
		}
	}
	return nil
}

func (d *streamDecoder) decode(quads []byte) error {
	need := len(quads) / 4 * 3
	if cap(d.cur)-len(d.cur) < need {
		if len(d.cur) > 0 {
			d.blocks = append(d.blocks, d.cur)
		}
		if b, ok := blockPool.Get().(*[]byte); ok && need <= decodeBlock {
			d.cur = (*b)[:0]
		} else {
			d.cur = make([]byte, 0, max(decodeBlock, need))
		}
	}
	n, err := decodeBase64(d.cur[len(d.cur):len(d.cur)+need], quads)
	if err != nil {
		return errNotBase64
	}
	d.cur = d.cur[:len(d.cur)+n]
	d.size += n
	return nil
}

// finish returns the decoded bytes in one slice of exactly their length.
func (d *streamDecoder) finish() ([]byte, error) {
	if d.nq != 0 || d.slash {
		return nil, errNotBase64
	}
	out := make([]byte, 0, d.size)
	for _, b := range d.blocks {
		out = append(out, b...)
	}
	out = append(out, d.cur...)
	for _, b := range append(d.blocks, d.cur) {
		if cap(b) == decodeBlock {
			blockPool.Put(&b)
		}
	}
	d.blocks, d.cur = nil, nil
	return out, nil
}

// decodeBase64 is base64.StdEncoding.Decode, a quarter faster: it decodes eight characters at a
// time with a table of character pairs (two lookups where the standard library makes four per
// three bytes) and leaves the rest, from the first group with padding or a byte outside the
// alphabet, to the standard library, which decodes or refuses it as before. Decoding was half
// of lifting an image out of a response.
func decodeBase64(dst, src []byte) (int, error) {
	pairs := base64Pairs()
	n, si := 0, 0
	for len(src)-si >= 8 && len(dst)-n >= 8 {
		s := src[si : si+8 : si+8]
		a := pairs[uint16(s[0])<<8|uint16(s[1])]
		b := pairs[uint16(s[2])<<8|uint16(s[3])]
		c := pairs[uint16(s[4])<<8|uint16(s[5])]
		d := pairs[uint16(s[6])<<8|uint16(s[7])]
		if (a|b|c|d)&0x8000 != 0 {
			break
		}
		binary.BigEndian.PutUint64(dst[n:], uint64(a)<<52|uint64(b)<<40|uint64(c)<<28|uint64(d)<<16)
		n += 6
		si += 8
	}
	m, err := base64.StdEncoding.Decode(dst[n:], src[si:])
	return n + m, err
}

// base64Pairs maps two base64 characters (first<<8 | second) to their 12 bits, and any pair
// with a byte outside the alphabet to 0xffff. It is 128 KB, built on first use.
var base64Pairs = sync.OnceValue(func() *[1 << 16]uint16 {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	t := new([1 << 16]uint16)
	for i := range t {
		t[i] = 0xffff
	}
	for i := range 64 {
		for j := range 64 {
			t[int(alphabet[i])<<8|int(alphabet[j])] = uint16(i<<6 | j)
		}
	}
	return t
})

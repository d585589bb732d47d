package gemini

import (
	"bufio"
	"encoding/base64"
	"errors"
	"io"
)

// liftStream copies a JSON response body, decoding every large "data" string straight from
// the wire into l and leaving a placeholder in its place, so the body (27 MB of base64 for a
// 4K image) is never held whole: only the decoded image and the small rest of the JSON. size
// is the body's length when known; it sizes the image buffer so it is allocated once.
//
// A large data string that is not base64 fails the call, as it would in the SDK.
func liftStream(r io.Reader, size int64, l *lifted) ([]byte, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var out []byte
	var read int64
	for {
		chunk, err := br.ReadSlice('"')
		read += int64(len(chunk))
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
		raw, data, n, err := readDataString(br, size-read)
		read += n
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
// base64, its raw text never kept. n is the bytes consumed; hint is about how many remain.
func readDataString(br *bufio.Reader, hint int64) (raw, data []byte, n int64, err error) {
	var dec *streamDecoder
	for {
		chunk, err := br.ReadSlice('"')
		n += int64(len(chunk))
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, nil, n, err
		}
		prev := raw
		if dec != nil && dec.slash {
			prev = []byte{'\\'}
		}
		closing := err == nil && !escaped(prev, chunk)
		if dec == nil {
			raw = append(raw, chunk...)
			if closing && len(raw) <= liftMin {
				return raw, nil, n, nil
			}
			if len(raw) <= liftMin {
				continue
			}
			dec = newStreamDecoder(hint)
			chunk, raw = raw, nil
		}
		body := chunk
		if closing {
			body = chunk[:len(chunk)-1]
		}
		if err := dec.write(body); err != nil {
			return nil, nil, n, err
		}
		if closing {
			data, err := dec.finish()
			return nil, data, n, err
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
// escape `\/` is the only one a base64 string can carry.
type streamDecoder struct {
	out   []byte
	quad  [4]byte
	nq    int
	slash bool // the last byte written was a backslash
}

var errNotBase64 = errors.New("inline data is not base64")

func newStreamDecoder(hint int64) *streamDecoder {
	if hint <= 0 || hint > 1<<30 {
		hint = 1 << 20
	}
	return &streamDecoder{out: make([]byte, 0, hint*3/4+3)}
}

func (d *streamDecoder) write(p []byte) error {
	for len(p) > 0 {
		// Fast path: whole quads straight from p.
		if d.nq == 0 && !d.slash {
			k := 0
			for k < len(p) && p[k] != '\\' {
				k++
			}
			whole := k / 4 * 4
			if whole > 0 {
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
	if cap(d.out)-len(d.out) < need {
		grown := make([]byte, len(d.out), 2*cap(d.out)+need)
		copy(grown, d.out)
		d.out = grown
	}
	n, err := base64.StdEncoding.Decode(d.out[len(d.out):len(d.out)+need], quads)
	if err != nil {
		return errNotBase64
	}
	d.out = d.out[:len(d.out)+n]
	return nil
}

// finish returns the decoded bytes, trimmed to their length when the buffer was sized for
// more (drafts come before the final image, and the hint counts all of them).
func (d *streamDecoder) finish() ([]byte, error) {
	if d.nq != 0 || d.slash {
		return nil, errNotBase64
	}
	if cap(d.out) > len(d.out)+len(d.out)/8+4096 {
		return append([]byte(nil), d.out...), nil
	}
	return d.out[:len(d.out):len(d.out)], nil
}

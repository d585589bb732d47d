package gemini

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/genai"
)

// liftMin is the smallest inline-data string worth lifting out of a response: images are
// megabytes, and everything else in the body is small.
const liftMin = 16 << 10

// liftPrefix marks a placeholder left where lifted bytes were; it cannot start a real image.
// outPrefix marks one that the transport fills in on the way out.
const (
	liftPrefix = "nanobanana-lifted:"
	outPrefix  = "nanobanana-lifted-out:"
)

// lifted holds the image bytes taken out of the responses of one call.
//
// The SDK parses a generateContent body into a map, transforms it, marshals it back to JSON and
// unmarshals that into its structs: a 4K image (about 27 MB of base64) is held and scanned
// several times over, which cost a 1K call some 40 ms of CPU and eight concurrent 4K calls over
// a gigabyte of RSS. So the transport decodes each large inlineData.data string once, straight
// from the wire, keeps the bytes here, and hands the SDK a body with a short placeholder in
// its place; restore puts the bytes back into the parsed response.
//
// Requests get the same treatment in reverse: an edit replays its conversation's images, and
// the SDK marshalled each one to base64 several times over (a three-turn 4K edit peaked near
// 600 MB). liftParts hands the SDK placeholders, and the transport streams each image's
// base64 into the request body as it is sent.
type lifted struct {
	mu    sync.Mutex
	blobs [][]byte // taken out of responses
	out   [][]byte // to be put into the request
}

type liftKey struct{}

func withLift(ctx context.Context) (context.Context, *lifted) {
	l := &lifted{}
	return context.WithValue(ctx, liftKey{}, l), l
}

func (l *lifted) add(b []byte) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.blobs = append(l.blobs, b)
	return base64.StdEncoding.EncodeToString([]byte(liftPrefix + strconv.Itoa(len(l.blobs)-1)))
}

// restore swaps the placeholders in resp for the lifted bytes.
func (l *lifted) restore(resp *genai.GenerateContentResponse) {
	if resp == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range resp.Candidates {
		if c == nil || c.Content == nil {
			continue
		}
		for _, p := range c.Content.Parts {
			if p == nil || p.InlineData == nil || !bytes.HasPrefix(p.InlineData.Data, []byte(liftPrefix)) {
				continue
			}
			if i, err := strconv.Atoi(string(p.InlineData.Data[len(liftPrefix):])); err == nil && i >= 0 && i < len(l.blobs) {
				p.InlineData.Data = l.blobs[i]
			}
		}
	}
}

// liftParts returns contents with every large inline image replaced by a placeholder. The
// originals are left as they are: they belong to the stored conversation.
func (l *lifted) liftParts(contents []*genai.Content) []*genai.Content {
	out := make([]*genai.Content, len(contents))
	for i, c := range contents {
		if c == nil {
			continue
		}
		cc := *c
		cc.Parts = make([]*genai.Part, len(c.Parts))
		for j, p := range c.Parts {
			if p != nil && p.InlineData != nil && len(p.InlineData.Data) >= liftMin {
				blob := *p.InlineData
				l.mu.Lock()
				l.out = append(l.out, p.InlineData.Data)
				blob.Data = []byte(outPrefix + strconv.Itoa(len(l.out)-1))
				l.mu.Unlock()
				pp := *p
				pp.InlineData = &blob
				p = &pp
			}
			cc.Parts[j] = p
		}
		out[i] = &cc
	}
	return out
}

// expand returns req with the placeholders of liftParts replaced by the images' base64,
// streamed rather than built in memory.
func (l *lifted) expand(req *http.Request) (*http.Request, error) {
	l.mu.Lock()
	blobs := l.out
	l.mu.Unlock()
	if len(blobs) == 0 || req.Body == nil {
		return req, nil
	}
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	type hole struct{ at, end, blob int }
	var holes []hole
	for i := range blobs {
		ph := []byte(base64.StdEncoding.EncodeToString([]byte(outPrefix + strconv.Itoa(i))))
		for from := 0; ; {
			k := bytes.Index(body[from:], ph)
			if k < 0 {
				break
			}
			holes = append(holes, hole{from + k, from + k + len(ph), i})
			from += k + len(ph)
		}
	}
	slices.SortFunc(holes, func(a, b hole) int { return a.at - b.at })
	size := int64(len(body))
	for _, h := range holes {
		size += int64(base64.StdEncoding.EncodedLen(len(blobs[h.blob])) - (h.end - h.at))
	}
	open := func() io.ReadCloser {
		var rs []io.Reader
		pos := 0
		for _, h := range holes {
			rs = append(rs, bytes.NewReader(body[pos:h.at]), &base64Reader{data: blobs[h.blob]})
			pos = h.end
		}
		return io.NopCloser(io.MultiReader(append(rs, bytes.NewReader(body[pos:]))...))
	}
	out := req.Clone(req.Context())
	out.Body, out.ContentLength = open(), size
	out.GetBody = func() (io.ReadCloser, error) { return open(), nil }
	out.Header.Del("Content-Length")
	return out, nil
}

// base64Reader reads the standard base64 encoding of data, a few kilobytes at a time.
type base64Reader struct {
	data    []byte
	pending []byte // encoded bytes that did not fit the caller's buffer
}

func (r *base64Reader) Read(p []byte) (int, error) {
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		r.pending = r.pending[n:]
		return n, nil
	}
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(r.data), len(p)/4*3) // whole groups, or the tail
	if n == 0 {
		k := min(3, len(r.data))
		r.pending = []byte(base64.StdEncoding.EncodeToString(r.data[:k]))
		r.data = r.data[k:]
		return r.Read(p)
	}
	base64.StdEncoding.Encode(p, r.data[:n])
	r.data = r.data[n:]
	return base64.StdEncoding.EncodedLen(n), nil
}

type liftTransport struct{ next http.RoundTripper }

func (t *liftTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	l, _ := req.Context().Value(liftKey{}).(*lifted)
	if l != nil {
		var err error
		if req, err = l.expand(req); err != nil {
			return nil, err
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil || l == nil || resp.StatusCode != http.StatusOK ||
		!strings.Contains(resp.Header.Get("Content-Type"), "json") || resp.ContentLength >= 0 && resp.ContentLength < liftMin {
		return resp, err
	}
	out, err := liftStream(resp.Body, l)
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Del("Content-Length")
	return resp, nil
}

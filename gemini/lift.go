package gemini

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/genai"
)

// liftMin is the smallest inline-data string worth lifting out of a response: images are
// megabytes, and everything else in the body is small.
const liftMin = 16 << 10

// liftPrefix marks a placeholder left where lifted bytes were; it cannot start a real image.
const liftPrefix = "nanobanana-lifted:"

// lifted holds the image bytes taken out of the responses of one call.
//
// The SDK parses a generateContent body into a map, transforms it, marshals it back to JSON and
// unmarshals that into its structs: a 4K image (about 27 MB of base64) is held and scanned
// several times over, which cost a 1K call some 40 ms of CPU and eight concurrent 4K calls over
// a gigabyte of RSS. So the transport decodes each large inlineData.data string once, straight
// from the wire, keeps the bytes here, and hands the SDK a body with a short placeholder in
// its place; restore puts the bytes back into the parsed response.
type lifted struct {
	mu    sync.Mutex
	blobs [][]byte
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

type liftTransport struct{ next http.RoundTripper }

func (t *liftTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	l, _ := req.Context().Value(liftKey{}).(*lifted)
	if err != nil || l == nil || resp.StatusCode != http.StatusOK ||
		!strings.Contains(resp.Header.Get("Content-Type"), "json") || resp.ContentLength >= 0 && resp.ContentLength < liftMin {
		return resp, err
	}
	var body []byte
	if resp.ContentLength > 0 {
		body = make([]byte, 0, resp.ContentLength+1) // +1: ReadAll must see EOF without growing
	}
	body, err = readAllInto(resp.Body, body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	out := liftBody(body, l)
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func readAllInto(r io.Reader, b []byte) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// liftBody copies body with every large "data" string replaced by a placeholder. A string
// that is escaped or not valid base64 is left as it is, for the SDK to handle.
func liftBody(body []byte, l *lifted) []byte {
	key := []byte(`"data"`)
	var out []byte
	pos, done := 0, 0 // pos: where the search continues; done: body[:done] is already in out
	for {
		i := bytes.Index(body[pos:], key)
		if i < 0 {
			break
		}
		j := skipSpace(body, pos+i+len(key))
		pos = pos + i + len(key)
		if j >= len(body) || body[j] != ':' {
			continue
		}
		j = skipSpace(body, j+1)
		if j >= len(body) || body[j] != '"' {
			continue
		}
		end := bytes.IndexByte(body[j+1:], '"')
		if end < liftMin {
			continue
		}
		val := body[j+1 : j+1+end]
		if bytes.IndexByte(val, '\\') >= 0 {
			continue
		}
		dec := make([]byte, base64.StdEncoding.DecodedLen(len(val)))
		n, err := base64.StdEncoding.Decode(dec, val)
		if err != nil {
			continue
		}
		if out == nil {
			out = make([]byte, 0, 4<<10)
		}
		out = append(out, body[done:j+1]...)
		out = append(out, l.add(dec[:n:n])...)
		done = j + 1 + end
		pos = done
	}
	if out == nil {
		return body
	}
	return append(out, body[done:]...)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

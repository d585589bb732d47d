package gemini

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
)

// maxCapture bounds how much of a response body is kept for diagnosis. Blocked and failed
// answers are small; image answers are large and are not kept.
const maxCapture = 64 << 10

// capture keeps the beginning of the last response body of one call. The SDK drops
// candidates[].finishMessage on the Gemini API backend, and that message is the model's own
// explanation of a block, so we read it from the raw body.
type capture struct {
	mu   sync.Mutex
	body bytes.Buffer
	full bool // the whole body fit
}

type captureKey struct{}

func withCapture(ctx context.Context) (context.Context, *capture) {
	c := &capture{}
	return context.WithValue(ctx, captureKey{}, c), c
}

// bytes returns the captured body when it was captured whole.
func (c *capture) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.full {
		return nil
	}
	return bytes.Clone(c.body.Bytes())
}

type captureTransport struct{ next http.RoundTripper }

func (t *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	c, _ := req.Context().Value(captureKey{}).(*capture)
	if err != nil || c == nil {
		return resp, err
	}
	c.mu.Lock()
	c.body.Reset()
	c.full = false
	c.mu.Unlock()
	if resp.ContentLength > maxCapture {
		return resp, nil
	}
	resp.Body = &teeBody{rc: resp.Body, c: c}
	return resp, nil
}

type teeBody struct {
	rc      io.ReadCloser
	c       *capture
	dropped bool
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 && !b.dropped {
		b.c.mu.Lock()
		if b.c.body.Len()+n > maxCapture {
			b.dropped = true
			b.c.body.Reset()
		} else {
			b.c.body.Write(p[:n])
		}
		b.c.mu.Unlock()
	}
	if err == io.EOF && !b.dropped {
		b.c.mu.Lock()
		b.c.full = true
		b.c.mu.Unlock()
	}
	return n, err
}

func (b *teeBody) Close() error { return b.rc.Close() }

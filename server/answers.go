package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// cancelledSet holds the requests clients cancelled, per session, until their response would
// be written. mcp-go answers every request, cancelled or not; the spec says a cancelled request
// gets no response, and the TypeScript SDK reports each such reply as an error.
type cancelledSet struct {
	mu  sync.Mutex
	ids map[string]bool // session + "\x00" + raw JSON id
}

// maxCancelled bounds the set: a cancellation of a request that never answers (or of an id that
// never existed) must not grow it for ever.
const maxCancelled = 4096

func (c *cancelledSet) add(session, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil || len(c.ids) >= maxCancelled {
		c.ids = map[string]bool{}
	}
	c.ids[session+"\x00"+id] = true
}

// take reports whether the request was cancelled, forgetting it.
func (c *cancelledSet) take(session, id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := session + "\x00" + id
	if c.ids[k] {
		delete(c.ids, k)
		return true
	}
	return false
}

// answers wraps an HTTP transport endpoint: it notes notifications/cancelled in the request
// bodies that pass, drops the responses to those requests, and gives an unknown resource the
// code the spec names (-32002), which mcp-go reports as an internal error. sessionOf names the
// session a request belongs to ("" when the request does not say; the response writer of a
// legacy SSE stream learns it from the endpoint event).
func (s *Server) answers(h http.Handler, sessionOf func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session := sessionOf(r)
		if r.Method == http.MethodPost && r.Body != nil && session != "" {
			r.Body = &watchedBody{ReadCloser: r.Body, onCancel: func(id string) { s.cancelled.add(session, id) }}
		}
		h.ServeHTTP(&answerWriter{ResponseWriter: w, session: session, set: &s.cancelled}, r)
	})
}

func mcpSession(r *http.Request) string     { return r.Header.Get(mcpserver.HeaderKeySessionID) }
func messageSession(r *http.Request) string { return r.URL.Query().Get("sessionId") }

// watchedBody looks at a small request body, as the transport reads it, for a cancellation.
type watchedBody struct {
	io.ReadCloser
	onCancel func(id string)
	head     []byte
	done     bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if len(b.head) < 4096 {
		b.head = append(b.head, p[:min(n, 4096-len(b.head))]...)
	}
	// The transport may stop reading at the end of the JSON value, before io.EOF (the legacy SSE
	// transport decodes with json.Decoder), so look as soon as the bytes so far are one value.
	if !b.done && len(b.head) >= 4096 {
		b.done = true // too long to be a cancellation
	}
	if !b.done && (err != nil || json.Valid(bytes.TrimSpace(b.head))) {
		b.done = true
		if id := cancelledID(b.head); id != "" {
			b.onCancel(id)
		}
	}
	return n, err
}

// cancelledID returns the request id of a notifications/cancelled message, or "".
func cancelledID(msg []byte) string {
	if len(msg) >= 4096 || !bytes.Contains(msg, []byte(mcp.MethodNotificationCancelled)) {
		return ""
	}
	var n struct {
		Method string `json:"method"`
		Params struct {
			RequestID json.RawMessage `json:"requestId"`
		} `json:"params"`
	}
	if json.Unmarshal(bytes.TrimSpace(msg), &n) != nil || n.Method != string(mcp.MethodNotificationCancelled) || len(n.Params.RequestID) == 0 {
		return ""
	}
	return idKey(n.Params.RequestID)
}

// answerWriter filters the messages a transport writes; mcp-go writes each message (a JSON
// body, or one SSE event) with one Write.
type answerWriter struct {
	http.ResponseWriter
	session string
	set     *cancelledSet
}

var (
	internalCode = []byte(`"code":-32603`)
	notFoundCode = []byte(`"code":-32002`) // the same length: a Content-Length stays true
)

func (w *answerWriter) Write(p []byte) (int, error) {
	msg := p
	if bytes.HasPrefix(p, []byte("event: ")) {
		i := bytes.Index(p, []byte("\ndata: "))
		if i < 0 {
			return w.ResponseWriter.Write(p)
		}
		msg = p[i+len("\ndata: "):]
		if w.session == "" && bytes.HasPrefix(p, []byte("event: endpoint")) {
			if _, q, ok := strings.Cut(string(bytes.TrimSpace(msg)), "sessionId="); ok {
				w.session, _, _ = strings.Cut(q, "&")
			}
		}
	}
	id, code, text := peek(bytes.TrimSpace(msg))
	if id != "" && w.session != "" && w.set.take(w.session, id) {
		return len(p), nil
	}
	if code == mcp.INTERNAL_ERROR && strings.Contains(text, mcpserver.ErrResourceNotFound.Error()) {
		p = bytes.Replace(p, internalCode, notFoundCode, 1)
	}
	return w.ResponseWriter.Write(p)
}

// Flush keeps streaming working through the wrapper.
func (w *answerWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *answerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

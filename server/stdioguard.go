package server

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// stdioGuard sits between mcp-go's stdio server and the pipes. mcp-go answers every request,
// even one the client cancelled, and keeps writing after stdin closed; the spec says a
// cancelled request gets no response, and a client that closed its end (the Python SDK, which
// Dify uses) raises BrokenResourceError on anything written after. So the guard watches the
// input for notifications/cancelled and end of input, and drops what must not be written. It
// also gives an unknown resource the code the spec names (-32002): mcp-go reports every
// resource handler error as an internal error.
type stdioGuard struct {
	out io.Writer

	mu        sync.Mutex
	cancelled map[string]bool // request ids (raw JSON) the client cancelled
	closed    bool            // stdin reached its end: nothing more is written
	pending   []byte          // an incomplete output line
	dropped   int             // messages not written, for tests
}

func newStdioGuard(out io.Writer) *stdioGuard {
	return &stdioGuard{out: out, cancelled: map[string]bool{}}
}

// input wraps stdin: it notes cancellations as they pass and calls onEOF when input ends.
func (g *stdioGuard) input(in io.Reader, onEOF func()) io.Reader {
	return &watchedInput{r: in, g: g, onEOF: onEOF}
}

type watchedInput struct {
	r       io.Reader
	g       *stdioGuard
	onEOF   func()
	partial []byte
	once    sync.Once
}

func (w *watchedInput) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.scan(p[:n])
	}
	if err != nil {
		w.once.Do(func() {
			w.g.mu.Lock()
			w.g.closed = true
			w.g.mu.Unlock()
			if w.onEOF != nil {
				w.onEOF()
			}
		})
	}
	return n, err
}

// scan looks at complete input lines for notifications/cancelled. Only short lines can be
// one; long ones (a request carrying an image) are not parsed.
func (w *watchedInput) scan(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(w.partial) < 4096 {
				w.partial = append(w.partial, b...)
			}
			return
		}
		line := append(w.partial, b[:i]...)
		w.partial, b = w.partial[:0], b[i+1:]
		if len(line) > 4096 || !bytes.Contains(line, []byte(mcp.MethodNotificationCancelled)) {
			continue
		}
		var n struct {
			Method string `json:"method"`
			Params struct {
				RequestID json.RawMessage `json:"requestId"`
			} `json:"params"`
		}
		if json.Unmarshal(line, &n) == nil && n.Method == string(mcp.MethodNotificationCancelled) && len(n.Params.RequestID) > 0 {
			w.g.mu.Lock()
			w.g.cancelled[idKey(n.Params.RequestID)] = true
			w.g.mu.Unlock()
		}
	}
}

// Write receives whole messages, one line each (mcp-go writes each with one call); a partial
// line is held until its end arrives.
func (g *stdioGuard) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	data := p
	if len(g.pending) > 0 {
		data = append(g.pending, p...)
		g.pending = nil
	}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			g.pending = append([]byte(nil), data...)
			break
		}
		line := data[:i+1]
		data = data[i+1:]
		if out, ok := g.pass(line); ok {
			if _, err := g.out.Write(out); err != nil {
				return 0, err
			}
		} else {
			g.dropped++
		}
	}
	return len(p), nil
}

// pass decides about one message: nothing after end of input, no response to a cancelled
// request, and -32002 for a resource that is not there.
func (g *stdioGuard) pass(line []byte) ([]byte, bool) {
	if g.closed {
		return nil, false
	}
	id, errCode, errMsg := peek(line)
	if id == "" {
		return line, true // a notification or a request to the client
	}
	if g.cancelled[id] {
		delete(g.cancelled, id)
		return nil, false
	}
	if errCode == mcp.INTERNAL_ERROR && bytes.Contains([]byte(errMsg), []byte(mcpserver.ErrResourceNotFound.Error())) {
		var msg map[string]any
		if json.Unmarshal(line, &msg) == nil {
			if e, ok := msg["error"].(map[string]any); ok {
				e["code"] = mcp.RESOURCE_NOT_FOUND
				if b, err := json.Marshal(msg); err == nil {
					return append(b, '\n'), true
				}
			}
		}
	}
	return line, true
}

// peek reads a message's id and error without decoding a result (which may be megabytes):
// mcp-go writes jsonrpc, id and then result or error, in that order.
func peek(line []byte) (id string, code int, msg string) {
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", 0, ""
	}
	var isResponse bool
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", 0, ""
		}
		switch t {
		case "id":
			var raw json.RawMessage
			if dec.Decode(&raw) != nil {
				return "", 0, ""
			}
			id = idKey(raw)
		case "error":
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if dec.Decode(&e) != nil {
				return "", 0, ""
			}
			code, msg, isResponse = e.Code, e.Message, true
		case "result":
			isResponse = true
			if id != "" {
				return id, 0, ""
			}
			var skip json.RawMessage
			_ = dec.Decode(&skip)
		case "method":
			return "", 0, "" // a request or notification of ours, not a response
		default:
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return "", 0, ""
			}
		}
	}
	if !isResponse {
		return "", 0, ""
	}
	return id, code, msg
}

// idKey normalises a JSON-RPC id: 7 and "7" are different ids, so the raw JSON is the key,
// without surrounding space.
func idKey(raw json.RawMessage) string { return string(bytes.TrimSpace(raw)) }

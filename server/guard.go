package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// Security configures the HTTP guard.
type Security struct {
	Token          string        // bearer token of principal TokenPrincipal
	Principals     []Principal   // named tokens (--auth-tokens-file); with Token, none means no authentication
	AllowedOrigins []string      // exact origins ("https://app.example"); loopback origins are always allowed
	MaxBody        int64         // request body limit in bytes; default 32 MiB
	BodyTimeout    time.Duration // how long a client may take to send a body; default 30 s
	// Connections not yet past the guard (token, origin, a whole body): at most this many per
	// client address (default 32) and in total (default 256).
	MaxUnauthConnsPerIP int
	MaxUnauthConns      int

	limiter *connLimiter
}

func (s *Security) defaults() {
	if s.MaxBody <= 0 {
		s.MaxBody = DefaultMaxBody
	}
	if s.BodyTimeout <= 0 {
		s.BodyTimeout = 30 * time.Second
	}
	if s.MaxUnauthConnsPerIP <= 0 {
		s.MaxUnauthConnsPerIP = 32
	}
	if s.MaxUnauthConns <= 0 {
		s.MaxUnauthConns = 256
	}
}

// bound gives every request that carries a body a read deadline that stays in force, and
// marks its connection for closing: a handler that does not read the body (or reads it too
// slowly) then cannot leave net/http waiting, unbounded, to drain it. The guard lifts both
// once it has the whole body.
func (sec *Security) bound(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 { // a declared length, or -1 for chunked
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(sec.BodyTimeout))
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// guard wraps an MCP endpoint: Origin check (DNS rebinding), bearer token, a bounded body read
// under the deadline bound set, a refusal of JSON-RPC batches, and (on Streamable HTTP) the
// session-less cancellation guard. The token's principal goes into the request context
// (session.WithPrincipal); without tokens every client is the local user.
func (sec *Security) guard(next http.Handler, streamable bool) http.Handler {
	principals := sec.Principals
	if sec.Token != "" {
		principals = append([]Principal{{Name: TokenPrincipal, Token: sec.Token}}, principals...)
	}
	table := newTokenTable(principals)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && !sec.originAllowed(origin) {
			httpError(w, http.StatusForbidden, "origin "+origin+" is not allowed; add it with --allowed-origins")
			return
		}
		if !table.empty() {
			got, ok := bearer(r.Header.Get("Authorization"))
			name, known := table.lookup(got)
			if !ok || !known {
				w.Header().Set("WWW-Authenticate", `Bearer realm="nanobanana-mcp"`)
				httpError(w, http.StatusUnauthorized, "missing or wrong bearer token; send Authorization: Bearer <token>")
				return
			}
			r = r.WithContext(session.WithPrincipal(r.Context(), name))
		}
		if r.Method == http.MethodPost {
			body, err := sec.readBody(r)
			if err != nil {
				status := http.StatusBadRequest
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					status = http.StatusRequestEntityTooLarge
				}
				httpError(w, status, err.Error())
				return
			}
			// The whole body is here: the connection may be kept and the handler may take its time.
			_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
			w.Header().Del("Connection")
			// Without a session, mcp-go keys in-flight requests by JSON-RPC id alone, so one
			// client could cancel another's call that happens to share an id. Session-less
			// clients cancel by closing the request instead, which mcp-go honours.
			if streamable && r.Header.Get("Mcp-Session-Id") == "" && isCancelNotification(body) {
				w.WriteHeader(http.StatusAccepted)
				return
			}
			if isBatch(body) {
				jsonrpcError(w, "JSON-RPC batches are not supported; send one request per HTTP POST")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if sec.limiter != nil {
			sec.limiter.authenticated(r.Context())
		}
		next.ServeHTTP(w, r)
	})
}

// readBody reads the whole body under a size limit, and under the deadline bound set, so a slow
// or huge upload cannot hold a connection. On failure the deadline stays in force and the
// connection is closed after the answer.
func (sec *Security) readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, sec.MaxBody+1))
	if err == nil && int64(len(body)) > sec.MaxBody {
		err = &http.MaxBytesError{Limit: sec.MaxBody}
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, errors.New("reading the request body failed or took too long")
	}
	return body, nil
}

// isBatch reports a JSON-RPC batch (an array), which MCP no longer allows and mcp-go would
// answer with a misleading "not valid json".
func isBatch(body []byte) bool {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '['
}

// jsonrpcError answers with a JSON-RPC error object (Invalid Request, id null).
func jsonrpcError(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": nil,
		"error": map[string]any{"code": -32600, "message": msg}})
}

func isCancelNotification(body []byte) bool {
	if !bytes.Contains(body, []byte("notifications/cancelled")) {
		return false
	}
	var msg struct {
		Method string `json:"method"`
	}
	return json.Unmarshal(body, &msg) == nil && msg.Method == "notifications/cancelled"
}

func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// originAllowed accepts the configured origins and any loopback origin (a local web client).
func (sec *Security) originAllowed(origin string) bool {
	for _, o := range sec.AllowedOrigins {
		if o == "*" || strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return isLoopbackHost(u.Hostname())
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "message": msg}})
}

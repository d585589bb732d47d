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
}

func (s *Security) defaults() {
	if s.MaxBody <= 0 {
		s.MaxBody = 32 << 20
	}
	if s.BodyTimeout <= 0 {
		s.BodyTimeout = 30 * time.Second
	}
}

// guard wraps an MCP endpoint: Origin check (DNS rebinding), bearer token, a bounded body read
// with a deadline, and (on Streamable HTTP) the session-less cancellation guard. The token's
// principal goes into the request context (session.WithPrincipal); without tokens every
// client is the local user.
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
			body, err := sec.readBody(w, r)
			if err != nil {
				status := http.StatusBadRequest
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					status = http.StatusRequestEntityTooLarge
				}
				httpError(w, status, err.Error())
				return
			}
			// Without a session, mcp-go keys in-flight requests by JSON-RPC id alone, so one
			// client could cancel another's call that happens to share an id. Session-less
			// clients cancel by closing the request instead, which mcp-go honours.
			if streamable && r.Header.Get("Mcp-Session-Id") == "" && isCancelNotification(body) {
				w.WriteHeader(http.StatusAccepted)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

// readBody reads the whole body under a size limit and a deadline, so a slow or huge upload
// cannot hold a connection; the deadline is lifted before the handler streams its answer.
func (sec *Security) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(sec.BodyTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, sec.MaxBody))
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, errors.New("reading the request body failed or took too long")
	}
	return body, nil
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

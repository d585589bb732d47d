package server

import (
	"context"
	"net"
	"net/http"
	"sync"
)

// connLimiter caps the connections that have not yet had a request accepted by the guard
// (a valid token, an allowed origin, a body read in full): per client address and in total.
// Without it, anyone who can reach the port can hold descriptors for free; with the request
// deadlines each such connection lives seconds, and this bounds how many there are at once.
// A connection over the cap is closed as soon as it is accepted.
type connLimiter struct {
	perIP, total int

	mu    sync.Mutex
	byIP  map[string]int
	n     int
	conns map[net.Conn]*trackedConn
}

type trackedConn struct {
	ip      string
	counted bool // holds a place among the unauthenticated
}

type connKey struct{}

func newConnLimiter(perIP, total int) *connLimiter {
	return &connLimiter{perIP: perIP, total: total, byIP: map[string]int{}, conns: map[net.Conn]*trackedConn{}}
}

// install hooks the limiter into an http.Server.
func (l *connLimiter) install(srv *http.Server) {
	srv.ConnContext = l.connContext
	srv.ConnState = l.connState
}

func (l *connLimiter) connContext(ctx context.Context, c net.Conn) context.Context {
	ip, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		ip = c.RemoteAddr().String()
	}
	tc := &trackedConn{ip: ip}
	l.mu.Lock()
	if l.byIP[ip] < l.perIP && l.n < l.total {
		tc.counted = true
		l.byIP[ip]++
		l.n++
	}
	l.conns[c] = tc
	l.mu.Unlock()
	if !tc.counted {
		_ = c.Close()
	}
	return context.WithValue(ctx, connKey{}, tc)
}

func (l *connLimiter) connState(c net.Conn, state http.ConnState) {
	if state != http.StateClosed && state != http.StateHijacked {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if tc, ok := l.conns[c]; ok {
		l.releaseLocked(tc)
		delete(l.conns, c)
	}
}

// authenticated frees the connection's place: it has sent a request the guard accepted.
func (l *connLimiter) authenticated(ctx context.Context) {
	tc, ok := ctx.Value(connKey{}).(*trackedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	l.releaseLocked(tc)
	l.mu.Unlock()
}

func (l *connLimiter) releaseLocked(tc *trackedConn) {
	if !tc.counted {
		return
	}
	tc.counted = false
	l.n--
	if l.byIP[tc.ip]--; l.byIP[tc.ip] <= 0 {
		delete(l.byIP, tc.ip)
	}
}

package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// The server's defaults: what New and ServeHTTP apply to a zero value, and what the flags show.
const (
	DefaultAddr       = "127.0.0.1:8080"
	DefaultSessionTTL = 30 * time.Minute // idle Streamable HTTP sessions
	DefaultMaxBody    = 32 << 20         // largest request body, in bytes
	DefaultGrace      = 30 * time.Second // calls in flight may finish on shutdown
	DefaultWorkers    = 32               // concurrent tool calls over stdio
)

// DefaultHTTPOptions are the defaults of the operator's HTTP choices.
func DefaultHTTPOptions() HTTPOptions {
	return HTTPOptions{Addr: DefaultAddr, SessionTTL: DefaultSessionTTL, Security: Security{MaxBody: DefaultMaxBody}}
}

// Validate checks the operator's HTTP choices without reading anything: a server reachable
// from other machines must have a token unless the operator says otherwise in so many words.
// Errors name the flags that set each value, the words the operator knows.
func (o HTTPOptions) Validate() error {
	var p []error
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil || port == "" {
		p = append(p, fmt.Errorf("--addr %q is not host:port, e.g. 127.0.0.1:8080", o.Addr))
	} else {
		ip := net.ParseIP(host)
		loopback := strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback())
		noToken := o.Security.Token == "" && o.TokenFile == "" && o.TokensFile == "" && len(o.Security.Principals) == 0
		if !loopback && noToken && !o.InsecureNoAuth {
			p = append(p, fmt.Errorf("--addr %s is reachable from other machines and no token is set; set --auth-token (or NANOBANANA_AUTH_TOKEN), bind 127.0.0.1, or pass --insecure-no-auth", o.Addr))
		}
		if o.SessionTTL <= 0 {
			p = append(p, errors.New("--session-ttl must be a positive duration such as 30m"))
		}
		if o.Security.MaxBody <= 0 {
			p = append(p, errors.New("--max-body-mb must be at least 1"))
		}
	}
	return errors.Join(p...)
}

// LoadTokens reads the token files into Security: --auth-token-file when no token was given
// directly, and --auth-tokens-file's named tokens.
func (o *HTTPOptions) LoadTokens() error {
	var p []error
	if o.Security.Token == "" && o.TokenFile != "" {
		data, err := os.ReadFile(o.TokenFile)
		if err != nil {
			p = append(p, fmt.Errorf("--auth-token-file %s cannot be read: %v", o.TokenFile, errors.Unwrap(err)))
		}
		o.Security.Token = strings.TrimSpace(string(data))
		if err == nil && o.Security.Token == "" {
			p = append(p, fmt.Errorf("--auth-token-file %s is empty; put the token in it", o.TokenFile))
		}
	}
	if o.TokensFile != "" {
		data, err := os.ReadFile(o.TokensFile)
		if err != nil {
			p = append(p, fmt.Errorf("--auth-tokens-file %s cannot be read: %v", o.TokensFile, errors.Unwrap(err)))
		} else if o.Security.Principals, err = ParseTokens(data); err != nil {
			p = append(p, fmt.Errorf("--auth-tokens-file %s: %w; each line is name=token", o.TokensFile, err))
		}
	}
	return errors.Join(p...)
}

// Validate checks the server's own limits.
func (o Options) Validate() error {
	var p []error
	if o.Workers < 1 || o.Workers > 100 {
		p = append(p, fmt.Errorf("--workers must be between 1 and 100, not %d", o.Workers))
	}
	if o.Grace < 0 {
		p = append(p, errors.New("--shutdown-grace must not be negative"))
	}
	return errors.Join(p...)
}

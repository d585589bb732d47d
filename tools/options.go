package tools

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultClient is the client preset used unless the operator names one.
const DefaultClient = "generic"

// DefaultURLTTL is how long a signed image URL works unless configured.
const DefaultURLTTL = time.Hour

// Options are the operator's choices about the tools: how images come back (output mode,
// client preset, URLs), where inputs may come from, progress and background jobs. Validation
// errors name the flags that set them, the words the operator knows.
type Options struct {
	Output             string        // default delivery mode; empty: the preset's
	Client             string        // client preset (Presets)
	PublicURL          string        // how clients reach this server, for image URLs
	URLTTL             time.Duration // how long signed image URLs work
	URLSecret          string        // signs image URLs; empty: random per start
	TrustForwardedHost bool          // image URLs may name X-Forwarded-Host's host
	KeepDrafts         bool          // save thought images too
	AllowedRoots       []string      // where input image paths may come from; empty: see ResolveRoots
	AllowPrivateURLs   bool          // input image URLs may be on loopback and private networks
	ProgressEvery      time.Duration
	AsyncAfter         time.Duration // a call still running after this answers with a job_id; 0: never
	AsyncAfterSet      bool          // AsyncAfter was given, so the preset's value does not apply
	// JobLease is how long a running job of a shared store (--store redis://) stays "running"
	// after its replica stopped renewing it; then any replica reports it interrupted.
	JobLease time.Duration
}

// DefaultOptions are the defaults of Options.
func DefaultOptions() Options {
	return Options{Client: DefaultClient, URLTTL: DefaultURLTTL, ProgressEvery: DefaultProgressEvery, JobLease: DefaultJobLease}
}

// ServesURLs reports whether a transport can serve image URLs (output url): only the HTTP
// ones run the server that answers them. It is the one place that rule lives.
func ServesURLs(transport string) bool { return transport != "stdio" }

// Validate reports every bad value, one sentence each, for a server on transport.
func (o Options) Validate(transport string) error {
	var p []error
	bad := func(format string, args ...any) { p = append(p, fmt.Errorf(format, args...)) }
	known := false
	for _, m := range OutputModes {
		known = known || m == o.Output
	}
	if o.Output != "" && !known {
		bad("--output %q is not known; use one of %s", o.Output, strings.Join(OutputModes, ", "))
	}
	if o.Output == OutputURL && !ServesURLs(transport) {
		bad("--output url needs an HTTP transport to serve the links; add --transport http, or use preview, resource or path")
	}
	if _, ok := Presets[o.Client]; !ok {
		bad("--client %q is not known; use one of %s", o.Client, strings.Join(PresetNames(), ", "))
	}
	if o.URLTTL <= 0 {
		bad("--url-ttl must be a positive duration such as 1h")
	}
	if o.PublicURL != "" && !strings.HasPrefix(o.PublicURL, "http://") && !strings.HasPrefix(o.PublicURL, "https://") {
		bad("--public-url %q must start with http:// or https://", o.PublicURL)
	}
	if o.ProgressEvery <= 0 {
		bad("--progress-every must be a positive duration such as 300s, not %s", o.ProgressEvery)
	}
	if o.AsyncAfter < 0 {
		bad("--async-after must not be negative")
	}
	if o.JobLease < time.Second {
		bad("--job-lease must be at least 1s (the running replica renews it every third), not %s", o.JobLease)
	}
	return errors.Join(p...)
}

// ResolveRoots fills AllowedRoots when the operator left it empty and makes every root
// absolute. A remote (HTTP) client has no business with the operator's files, so it gets the
// output directory only. A local (stdio) client gets the user's usual places: the working
// directory (unless it is /, as MCP clients often start servers), the output, home and
// temporary directories.
func (o *Options) ResolveRoots(transport, outputDir string, getenv func(string) string) error {
	if len(o.AllowedRoots) == 0 {
		o.AllowedRoots = defaultRoots(transport, outputDir, getenv)
	}
	var p []error
	for i, r := range o.AllowedRoots {
		abs, err := filepath.Abs(r)
		if err != nil {
			p = append(p, fmt.Errorf("--allowed-roots entry %q is not a usable path", r))
			continue
		}
		o.AllowedRoots[i] = abs
	}
	return errors.Join(p...)
}

func defaultRoots(transport, outputDir string, getenv func(string) string) []string {
	if transport != "stdio" {
		return []string{outputDir}
	}
	var roots []string
	if wd, err := os.Getwd(); err == nil && filepath.Dir(wd) != wd {
		roots = append(roots, wd)
	}
	roots = append(roots, outputDir)
	if h := getenv("HOME"); h != "" {
		roots = append(roots, h)
	} else if h := getenv("USERPROFILE"); h != "" {
		roots = append(roots, h)
	}
	return append(roots, os.TempDir())
}

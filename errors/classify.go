package errors

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	stderrors "errors"
	"io"
	"net"
	"strings"
	"syscall"

	"google.golang.org/genai"
)

// Classify explains any error this server meets: our own *Error (its Diagnosis, completed from
// the catalog), a genai.APIError from Gemini, context cancellation and deadlines, network
// failures, and — for anything else — the error's text, as Explain reads it. What cannot be
// identified is reported honestly as unknown.
func Classify(err error, opts ...Option) Diagnosis {
	cfg := newConfig(opts)
	if err == nil {
		return complete(Diagnosis{Category: Unknown, Summary: "No error was reported."})
	}
	if e, ok := As(err); ok {
		d := e.Diagnosis
		if d.Cause == "" && len(d.Fix) == 0 {
			if entry, ok := Lookup(d.Category, d.Case); ok {
				d.Retryable = entry.Retryable
			}
		}
		if d.Model == "" {
			d.Model = cfg.model
		}
		d.Summary = Sanitize(d.Summary)
		d.Detail = Sanitize(d.Detail)
		return complete(d)
	}
	if ae, ok := apiError(err); ok {
		return FromAPIError(ae, opts...)
	}
	if d, ok := classifyGo(err, cfg); ok {
		return d
	}
	d := explain(err.Error(), cfg)
	if d.Category == Unknown {
		d.Detail = clean(err.Error(), 400)
	}
	return d
}

func apiError(err error) (genai.APIError, bool) {
	var v genai.APIError
	if stderrors.As(err, &v) {
		return v, true
	}
	var p *genai.APIError
	if stderrors.As(err, &p) && p != nil {
		return *p, true
	}
	return genai.APIError{}, false
}

// FromAPIError explains an error answer from the Gemini API, reading its Details
// (QuotaFailure, RetryInfo, ErrorInfo, Help) and its message.
func FromAPIError(e genai.APIError, opts ...Option) Diagnosis {
	cfg := newConfig(opts)
	f := &facts{code: e.Code, status: e.Status, message: e.Message}
	if len(e.Details) > 0 {
		f.addDetails(e.Details)
		if b, err := json.Marshal(e.Details); err == nil && len(b) < 1<<16 {
			f.scan(string(b))
		}
	}
	// A non-JSON body (a proxy's HTML page) arrives whole in Message; it may hold a JSON error.
	if strings.Contains(e.Message, "{") {
		if inner, ok := findAPIError(e.Message, 0); ok && !inner.empty() {
			if inner.code == 0 {
				inner.code = e.Code
			}
			f = inner
		}
	}
	f.scan(f.message)
	return build(f, cfg)
}

// classifyGo recognises context and network errors by type.
func classifyGo(err error, cfg config) (Diagnosis, bool) {
	mk := func(cat Category, kase, summary string) (Diagnosis, bool) {
		d := Diagnosis{Category: cat, Case: kase, Summary: summary, Detail: clean(err.Error(), 300), Model: cfg.model}
		if e, ok := Lookup(cat, kase); ok {
			d.Case = e.Case
			d.Retryable = e.Retryable
		}
		return complete(d), true
	}
	var (
		dnsErr   *net.DNSError
		unknownA x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		certErr  x509.CertificateInvalidError
		verErr   *tls.CertificateVerificationError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		opErr    *net.OpError
		netErr   net.Error
	)
	switch {
	case stderrors.Is(err, context.Canceled):
		return mk(Cancelled, defaultCase, "The request was cancelled before it finished; nothing needs fixing, send it again if you still need it.")
	case stderrors.Is(err, context.DeadlineExceeded):
		return mk(Timeout, defaultCase, "The request timed out before Gemini answered; retry with a longer timeout (image generation takes 30–170 s) or a smaller image size.")
	case stderrors.As(err, &dnsErr):
		return mk(Network, "dns", "Could not resolve "+orText(Sanitize(dnsErr.Name), "the Gemini host")+" (DNS lookup failed); check the network connection and the base URL, then retry.")
	case stderrors.As(err, &unknownA), stderrors.As(err, &hostErr), stderrors.As(err, &certErr), stderrors.As(err, &verErr),
		stderrors.As(err, &recErr), stderrors.As(err, &alertErr):
		return mk(Network, "tls", "The TLS connection to Gemini could not be verified; install the proxy's CA certificate or the system CA bundle, or fix the base URL.")
	case stderrors.Is(err, syscall.ECONNREFUSED):
		return mk(Network, defaultCase, "The connection to Gemini was refused; check the base URL, proxy or firewall, then retry.")
	case stderrors.Is(err, syscall.ECONNRESET), stderrors.Is(err, syscall.EPIPE), stderrors.Is(err, syscall.ECONNABORTED):
		return mk(Network, defaultCase, "The connection to Gemini was reset mid-request; retry, and check any proxy if it keeps happening.")
	case stderrors.Is(err, io.ErrUnexpectedEOF), stderrors.Is(err, io.EOF):
		return mk(Network, defaultCase, "The connection closed before Gemini's answer was complete; retry, and check any proxy if it keeps happening.")
	case stderrors.As(err, &netErr) && netErr.Timeout():
		return mk(Timeout, defaultCase, "The network timed out waiting for Gemini; retry with a longer timeout or check the connection.")
	case stderrors.As(err, &opErr):
		return mk(Network, defaultCase, "Could not reach Gemini over the network; check the connection, proxy and base URL, then retry.")
	}
	if strings.Contains(err.Error(), "x509: ") || strings.Contains(err.Error(), "tls: ") {
		return mk(Network, "tls", "The TLS connection to Gemini could not be verified; install the proxy's CA certificate or the system CA bundle, or fix the base URL.")
	}
	return Diagnosis{}, false
}

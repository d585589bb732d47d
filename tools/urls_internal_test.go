package tools

import (
	"net/http"
	"strings"
	"testing"
)

// X-Forwarded-Host names the link's host only when the operator trusts the proxy, and only
// when it is a host; whatever reaches the markdown link cannot break out of it.
func TestForwardedHostIsTrustedOnlyWhenConfiguredAndValid(t *testing.T) {
	d := &Delivery{DeliveryOptions: DeliveryOptions{ServerURL: func() string { return "http://127.0.0.1:8080" }}}
	h := http.Header{"X-Forwarded-Host": {"images.example.com"}, "X-Forwarded-Proto": {"https"}}
	if got := d.urlBase(h); got != "http://127.0.0.1:8080" {
		t.Errorf("untrusted X-Forwarded-Host was used: %s", got)
	}
	d.TrustForwardedHost = true
	if got := d.urlBase(h); got != "https://images.example.com" {
		t.Errorf("trusted X-Forwarded-Host: %s", got)
	}
	for _, bad := range []string{"evil.example)![x](http://evil", "a b", "user@host", "host/path", "host:99999",
		"-bad-.example", "host?q", "<script>", "[::1"} {
		h.Set("X-Forwarded-Host", bad)
		if got := d.urlBase(h); got != "http://127.0.0.1:8080" {
			t.Errorf("X-Forwarded-Host %q was used: %s", bad, got)
		}
	}
	for _, good := range []string{"example.com:8443", "10.0.0.5", "[2001:db8::1]:443", "localhost"} {
		if !validHost(good) {
			t.Errorf("%q refused", good)
		}
	}
	if got := markdownURL("http://h/a (b)<c>"); strings.ContainsAny(got, " ()<>") {
		t.Errorf("markdownURL = %q", got)
	}
}

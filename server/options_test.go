package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A server other machines can reach needs a token, a token file or the operator's explicit
// --insecure-no-auth; each bad value is one sentence naming its flag.
func TestHTTPOptionsValidate(t *testing.T) {
	const noToken = "--addr 0.0.0.0:8080 is reachable from other machines and no token is set; set --auth-token (or NANOBANANA_AUTH_TOKEN), bind 127.0.0.1, or pass --insecure-no-auth"
	for _, tc := range []struct {
		want   string // empty: valid
		change func(*HTTPOptions)
	}{
		{"", func(*HTTPOptions) {}},
		{"", func(o *HTTPOptions) { o.Addr = "localhost:0" }},
		{noToken, func(o *HTTPOptions) { o.Addr = "0.0.0.0:8080" }},
		{"", func(o *HTTPOptions) { o.Addr, o.Security.Token = "0.0.0.0:8080", "t" }},
		{"", func(o *HTTPOptions) { o.Addr, o.TokenFile = "0.0.0.0:8080", "/run/secrets/token" }},
		{"", func(o *HTTPOptions) { o.Addr, o.TokensFile = "0.0.0.0:8080", "/run/secrets/tokens" }},
		{"", func(o *HTTPOptions) { o.Addr, o.InsecureNoAuth = "0.0.0.0:8080", true }},
		{`--addr "nonsense" is not host:port, e.g. 127.0.0.1:8080`, func(o *HTTPOptions) { o.Addr = "nonsense" }},
		{"--session-ttl must be a positive duration such as 30m", func(o *HTTPOptions) { o.SessionTTL = 0 }},
		{"--max-body-mb must be at least 1", func(o *HTTPOptions) { o.Security.MaxBody = 0 }},
	} {
		o := DefaultHTTPOptions()
		tc.change(&o)
		err := o.Validate()
		if (tc.want == "" && err != nil) || (tc.want != "" && (err == nil || err.Error() != tc.want)) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	if err := (Options{Workers: DefaultWorkers, Grace: DefaultGrace}).Validate(); err != nil {
		t.Errorf("default server options: %v", err)
	}
	if err := (Options{Workers: 101}).Validate(); err == nil || err.Error() != "--workers must be between 1 and 100, not 101" {
		t.Errorf("101 workers: %v", err)
	}
	if err := (Options{Workers: 1, Grace: -time.Second}).Validate(); err == nil || err.Error() != "--shutdown-grace must not be negative" {
		t.Errorf("a negative grace: %v", err)
	}
}

// The token files are read when the server starts, with one sentence for each problem and
// never a token in it.
func TestLoadTokens(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	o := HTTPOptions{TokenFile: write("token", "from-file\n"), TokensFile: write("tokens", "# teams\na=tok-a-1\nb=tok-b-2\n")}
	if err := o.LoadTokens(); err != nil || o.Security.Token != "from-file" || len(o.Security.Principals) != 2 {
		t.Errorf("LoadTokens: %v, token %q, principals %+v", err, o.Security.Token, o.Security.Principals)
	}
	o = HTTPOptions{Security: Security{Token: "given"}, TokenFile: filepath.Join(dir, "missing")}
	if err := o.LoadTokens(); err != nil || o.Security.Token != "given" {
		t.Errorf("--auth-token must win over --auth-token-file: %v %q", err, o.Security.Token)
	}
	for _, tc := range []struct {
		o    HTTPOptions
		want string
	}{
		{HTTPOptions{TokenFile: write("empty", " \n")}, "is empty; put the token in it"},
		{HTTPOptions{TokenFile: filepath.Join(dir, "missing")}, "cannot be read: no such file or directory"},
		{HTTPOptions{TokensFile: write("bad", "a=tok-a-1\nb tok-b-2\n")}, "line 2"},
	} {
		err := tc.o.LoadTokens()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "tok-b-2") {
			t.Errorf("got %v, want a sentence with %q and no token", err, tc.want)
		}
	}
}

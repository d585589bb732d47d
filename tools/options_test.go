package tools_test

import (
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// The defaults pass on every transport; output url needs an HTTP transport; each bad value is
// refused in one sentence naming its flag.
func TestOptionsValidate(t *testing.T) {
	for _, transport := range []string{"stdio", "http", "sse"} {
		if err := tools.DefaultOptions().Validate(transport); err != nil {
			t.Errorf("defaults over %s: %v", transport, err)
		}
	}
	for _, tc := range []struct {
		transport, want string // want empty: valid
		change          func(*tools.Options)
	}{
		{"stdio", "--output url needs an HTTP transport to serve the links; add --transport http, or use preview, resource or path",
			func(o *tools.Options) { o.Output = tools.OutputURL }},
		{"http", "", func(o *tools.Options) { o.Output = tools.OutputURL }},
		{"stdio", `--output "gif" is not known; use one of preview, resource, url, path, full`, func(o *tools.Options) { o.Output = "gif" }},
		{"stdio", `--client "zed" is not known; use one of cherry-studio, claude-code, claude-desktop, dify, generic`,
			func(o *tools.Options) { o.Client = "zed" }},
		{"http", "--url-ttl must be a positive duration such as 1h", func(o *tools.Options) { o.URLTTL = 0 }},
		{"http", `--public-url "example.com" must start with http:// or https://`, func(o *tools.Options) { o.PublicURL = "example.com" }},
		{"stdio", "--progress-every must be a positive duration such as 300s, not 0s", func(o *tools.Options) { o.ProgressEvery = 0 }},
		{"stdio", "--async-after must not be negative", func(o *tools.Options) { o.AsyncAfter = -time.Second }},
	} {
		o := tools.DefaultOptions()
		tc.change(&o)
		err := o.Validate(tc.transport)
		if (tc.want == "" && err != nil) || (tc.want != "" && (err == nil || err.Error() != tc.want)) {
			t.Errorf("over %s: got %v, want %q", tc.transport, err, tc.want)
		}
	}
}

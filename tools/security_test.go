package tools_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// A signed link serves its image only under the image's own extension, with the content type
// taken from the bytes: renaming it to .html cannot make a browser render it as a page.
func TestSignedURLBindsTheExtension(t *testing.T) {
	var set *tools.Set
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { set.ImageHandler().ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	h := newHarness(t, func(d *tools.Wiring) {
		d.Delivery.Transport, d.Delivery.URLs = "http", tools.NewURLSigner([]byte("secret"), time.Hour)
		d.Delivery.ServerURL = func() string { return srv.URL }
	})
	set = h.set
	var out tools.ImageOutput
	structured(t, h.call(t, "generate_image", map[string]any{"prompt": "a kite", "output": "url"}), &out)
	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type")
	}
	if status, ct := get(out.URL); status != http.StatusOK || ct != "image/png" {
		t.Errorf("the signed link: %d %q", status, ct)
	}
	for _, ext := range []string{".html", ".svg", ".jpg", ""} {
		u := strings.Replace(out.URL, ".png?", ext+"?", 1)
		if status, ct := get(u); status != http.StatusNotFound {
			t.Errorf("the link renamed to %q: %d %q, want 404", ext, status, ct)
		}
	}
}

// Oversized arguments are refused with a sentence naming the limit, before anything is sent.
func TestOversizedArgumentsAreRefusedBeforeAnythingIsSent(t *testing.T) {
	names := make([]any, 50)
	for i := range names {
		names[i] = "nano-banana"
	}
	for _, c := range []struct {
		name, tool string
		args       map[string]any
		want       string
	}{
		{"prompt", "generate_image", map[string]any{"prompt": strings.Repeat("é", 32001)}, "32001 characters, over the 32000-character limit"},
		{"check_config models", "check_config", map[string]any{"models": names}, "at most"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			res := h.call(t, c.tool, c.args)
			if !res.IsError || !strings.Contains(text(res), c.want) {
				t.Errorf("got %s", text(res))
			}
			if n := len(h.sim.Requests()); n != 0 {
				t.Errorf("%d requests went upstream", n)
			}
		})
	}
	h := newHarness(t)
	if res := h.call(t, "generate_image", map[string]any{"prompt": strings.Repeat("a", 32000)}); res.IsError {
		t.Errorf("a prompt at the limit was refused: %s", text(res))
	}
}

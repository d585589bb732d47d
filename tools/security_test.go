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

func TestPromptsAreCapped(t *testing.T) {
	h := newHarness(t)
	res := h.call(t, "generate_image", map[string]any{"prompt": strings.Repeat("é", 32001)})
	if !res.IsError || !strings.Contains(text(res), "32001 characters, over the 32000-character limit") {
		t.Errorf("got %s", text(res))
	}
	if n := len(h.sim.Requests()); n != 0 {
		t.Errorf("%d requests went upstream", n)
	}
	if res := h.call(t, "generate_image", map[string]any{"prompt": strings.Repeat("a", 32000)}); res.IsError {
		t.Errorf("a prompt at the limit was refused: %s", text(res))
	}
}

func TestCheckConfigModelsAreCappedAtTheRegistrySize(t *testing.T) {
	h := newHarness(t)
	names := make([]any, 50)
	for i := range names {
		names[i] = "nano-banana"
	}
	res := h.call(t, "check_config", map[string]any{"models": names})
	if !res.IsError || !strings.Contains(text(res), "at most") {
		t.Errorf("got %s", text(res))
	}
	if n := len(h.sim.Requests()); n != 0 {
		t.Errorf("%d upstream calls for a refused check", n)
	}
}

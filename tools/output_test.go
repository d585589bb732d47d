package tools_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

func TestOutputResource(t *testing.T) {
	h := newHarness(t)
	res := h.call(t, "generate_image", map[string]any{"prompt": "a kite", "output": "resource"})
	var out tools.ImageOutput
	structured(t, res, &out)
	link, ok := res.Content[1].(mcp.ResourceLink)
	if !ok || link.URI != "image://"+out.ImageID || link.MIMEType != "image/png" {
		t.Fatalf("second content %#v", res.Content[1])
	}
	var req mcp.ReadResourceRequest
	req.Params.URI = link.URI
	rr, err := h.client.ReadResource(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	blob := rr.Contents[0].(mcp.BlobResourceContents)
	data, _ := base64.StdEncoding.DecodeString(blob.Blob)
	saved, _ := os.ReadFile(out.Path)
	if !bytes.Equal(data, saved) || blob.MIMEType != "image/png" {
		t.Error("resources/read did not return the saved image")
	}
	req.Params.URI = "image://img_aaaaaaaaaaaaaaaa"
	if _, err := h.client.ReadResource(context.Background(), req); err == nil {
		t.Error("an unknown image id was read")
	}
}

func TestOutputURLSignedAndExpiring(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	signer := tools.NewURLSigner([]byte("secret"), time.Hour)
	signer.Now = func() time.Time { return now }
	var set *tools.Set
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { set.ImageHandler().ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	h := newHarness(t, func(d *tools.Wiring) {
		d.Delivery.Transport, d.Delivery.URLs, d.Delivery.ServerURL = "http", signer, func() string { return srv.URL }
	})
	set = h.set
	res := h.call(t, "generate_image", map[string]any{"prompt": "a kite", "output": "url"})
	var out tools.ImageOutput
	structured(t, res, &out)
	if !strings.HasPrefix(out.URL, srv.URL+"/images/"+out.ImageID+".png?") || out.URLExpires != "2026-11-23T13:00:00Z" {
		t.Fatalf("url %q expires %q", out.URL, out.URLExpires)
	}
	if !strings.Contains(text(res), "![") {
		t.Errorf("the text lacks a markdown image link: %s", text(res))
	}
	get := func(u string) (int, []byte) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	status, body := get(out.URL)
	saved, _ := os.ReadFile(out.Path)
	if status != 200 || !bytes.Equal(body, saved) {
		t.Errorf("valid link: %d, %d bytes", status, len(body))
	}
	other := h.call(t, "generate_image", map[string]any{"prompt": "another", "output": "path"})
	var out2 tools.ImageOutput
	structured(t, other, &out2)
	forged := strings.Replace(out.URL, "sig=", "sig=0", 1)
	wrongID := strings.Replace(out.URL, out.ImageID, out2.ImageID, 1)
	longer := strings.Replace(out.URL, "exp=", "exp=9", 1)
	for name, u := range map[string]string{"forged": forged, "wrong id": wrongID, "extended": longer} {
		if status, _ := get(u); status != http.StatusForbidden {
			t.Errorf("%s link: %d, want 403", name, status)
		}
	}
	now = now.Add(61 * time.Minute)
	if status, _ := get(out.URL); status != http.StatusForbidden {
		t.Errorf("expired link: %d, want 403", status)
	}
}

func TestOutputURLRefusedOverStdio(t *testing.T) {
	h := newHarness(t, func(d *tools.Wiring) { d.Delivery.Transport = "stdio" })
	res := h.call(t, "generate_image", map[string]any{"prompt": "a kite", "output": "url"})
	if !res.IsError || !strings.Contains(text(res), "--transport http") {
		t.Errorf("got %s", text(res))
	}
	if len(h.sim.Requests()) != 0 {
		t.Error("the call went upstream although its output could not be delivered")
	}
}

func TestOutputFullAndItsLimit(t *testing.T) {
	h := newHarness(t, func(d *tools.Wiring) { d.Delivery.Transport = "stdio" })
	res := h.call(t, "generate_image", map[string]any{"prompt": "a kite", "output": "full"})
	var out tools.ImageOutput
	structured(t, res, &out)
	img, ok := res.Content[1].(mcp.ImageContent)
	saved, _ := os.ReadFile(out.Path)
	if data, _ := base64.StdEncoding.DecodeString(img.Data); !ok || !bytes.Equal(data, saved) {
		t.Error("full mode did not inline the full image")
	}
}

// A 4K result over stdio stays under the TypeScript stdio client's 10 MiB message limit in
// every mode but full, whatever the preset.
func TestFourKStaysUnderStdioLimit(t *testing.T) {
	presets := tools.PresetNames()
	if testing.Short() {
		presets = []string{"claude-code", "generic"} // the largest preview budget, and every mode
	}
	for _, preset := range presets {
		cs, err := tools.ResolvePreset(preset, "stdio", "")
		if err != nil {
			t.Fatal(err)
		}
		h := newHarness(t, func(d *tools.Wiring) {
			d.Delivery.Transport, d.Delivery.Output, d.Delivery.Preview = "stdio", cs.Output, cs.Preview
			d.Turns.AsyncAfter = cs.AsyncAfter
		})
		modes := []string{"preview"} // presets differ only in the preview budget
		if preset == "generic" {
			modes = []string{"preview", "resource", "path"}
		}
		for _, mode := range modes {
			res := h.call(t, "generate_image", map[string]any{"prompt": "big", "model": "nano-banana-pro", "image_size": "4K", "output": mode})
			raw, _ := json.Marshal(res)
			if res.IsError || len(raw) > 10<<20 {
				t.Errorf("%s/%s: isError %v, %d bytes", preset, mode, res.IsError, len(raw))
			}
			if mode == "preview" {
				img := res.Content[1].(mcp.ImageContent)
				if n := base64.StdEncoding.DecodedLen(len(img.Data)); n > tools.Presets[preset].Preview.MaxBytes {
					t.Errorf("%s: preview %d bytes over its %d budget", preset, n, tools.Presets[preset].Preview.MaxBytes)
				}
			}
		}
	}
}

func TestPresets(t *testing.T) {
	cases := []struct{ preset, transport, explicit, want string }{
		{"claude-code", "stdio", "", "preview"},
		{"claude-desktop", "stdio", "", "preview"},
		{"cherry-studio", "stdio", "", "preview"},
		{"cherry-studio", "http", "", "url"},
		{"dify", "http", "", "url"},
		{"dify", "stdio", "", "resource"},
		{"generic", "http", "full", "full"},
	}
	for _, c := range cases {
		cs, err := tools.ResolvePreset(c.preset, c.transport, c.explicit)
		if err != nil || cs.Output != c.want {
			t.Errorf("%s over %s: %q %v; want %q", c.preset, c.transport, cs.Output, err, c.want)
		}
	}
	if _, err := tools.ResolvePreset("netscape", "stdio", ""); err == nil {
		t.Error("unknown preset accepted")
	}
}

package tools_test

import (
	"encoding/base64"
	"encoding/json"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

func TestGenerateImageSavesFinalImage(t *testing.T) {
	h := newHarness(t)
	res := h.call(t, "generate_image", map[string]any{"prompt": "a red fox in the snow"})
	if res.IsError {
		t.Fatalf("error result: %s", text(res))
	}
	var out tools.ImageOutput
	structured(t, res, &out)
	if !strings.HasPrefix(out.ConversationID, "c_") || !strings.HasPrefix(out.ImageID, "img_") {
		t.Errorf("ids = %q, %q; want c_… and img_…", out.ConversationID, out.ImageID)
	}
	if out.Model != "gemini-nano-banana-2.1" {
		t.Errorf("model = %q, want the default nano-banana-2.1 id", out.Model)
	}
	if filepath.Dir(out.Path) != h.outDir || !strings.Contains(filepath.Base(out.Path), "a-red-fox-in-the-snow") {
		t.Errorf("path = %q; want a readable name in %s", out.Path, h.outDir)
	}
	w, hgt := decodeFile(t, out.Path)
	if w != 1024 || hgt != 1024 || out.Width != 1024 || out.Height != 1024 {
		t.Errorf("saved %d×%d, reported %d×%d; want 1024×1024 (1:1 at 1K)", w, hgt, out.Width, out.Height)
	}
	if out.Drafts < 1 {
		t.Errorf("drafts = %d; the simulator sends thought images for Nano Banana 2.1", out.Drafts)
	}
	if out.Usage.ImageTokens != 1120 || out.CostUSD < 0.0336 || out.Attempts != 1 {
		t.Errorf("usage %+v cost %v attempts %d", out.Usage, out.CostUSD, out.Attempts)
	}
	if out.MIMEType != "image/png" || out.Bytes == 0 || out.URI != "file://"+filepath.ToSlash(out.Path) {
		t.Errorf("mime %q bytes %d uri %q", out.MIMEType, out.Bytes, out.URI)
	}
	if !strings.HasPrefix(text(res), "Generated a 1024×1024 1K image with gemini-nano-banana-2.1") {
		t.Errorf("summary = %q", text(res))
	}
	img, ok := mcp.AsImageContent(res.Content[1])
	if !ok || img.MIMEType != "image/jpeg" {
		t.Fatalf("second content is not a JPEG preview: %#v", res.Content[1])
	}
	data, _ := base64.StdEncoding.DecodeString(img.Data)
	cfg, _, err := image.DecodeConfig(strings.NewReader(string(data)))
	if err != nil || max(cfg.Width, cfg.Height) > 768 {
		t.Errorf("preview %d×%d err %v; want at most 768 px", cfg.Width, cfg.Height, err)
	}
	raw, _ := json.Marshal(res.StructuredContent)
	if len(raw) > 4096 {
		t.Errorf("structuredContent is %d bytes; it must never carry image data", len(raw))
	}
}

func TestGenerateImageRatioAndSize(t *testing.T) {
	h := newHarness(t)
	res := h.call(t, "generate_image", map[string]any{
		"prompt": "a skyline", "model": "nano-banana-pro", "aspect_ratio": "16:9", "image_size": "2k", "output": "path",
	})
	if res.IsError {
		t.Fatalf("error result: %s", text(res))
	}
	var out tools.ImageOutput
	structured(t, res, &out)
	w, hgt := decodeFile(t, out.Path)
	if w != 2752 || hgt != 1536 {
		t.Errorf("saved %d×%d; want 2752×1536 (16:9 at 2K on Pro)", w, hgt)
	}
	if out.ImageSize != "2K" || len(out.Notes) == 0 || !strings.Contains(out.Notes[0], `"2K"`) {
		t.Errorf("size %q notes %v; want 2k normalised to 2K and said so", out.ImageSize, out.Notes)
	}
	if len(res.Content) != 1 {
		t.Errorf("output=path returned %d content items; want the text only", len(res.Content))
	}
	body := h.sim.Requests()[0].Body
	cfg := body["generationConfig"].(map[string]any)["imageConfig"].(map[string]any)
	if cfg["aspectRatio"] != "16:9" || cfg["imageSize"] != "2K" {
		t.Errorf("sent imageConfig %v", cfg)
	}
}

func TestGenerateImageMapsPreviewIDToSuccessor(t *testing.T) {
	h := newHarness(t)
	res := h.call(t, "generate_image", map[string]any{"prompt": "x", "model": "gemini-3-pro-image-preview", "output": "path"})
	var out tools.ImageOutput
	structured(t, res, &out)
	if out.Model != "gemini-3-pro-image" || len(out.Notes) == 0 || !strings.Contains(out.Notes[0], "replaced by gemini-3-pro-image") {
		t.Errorf("model %q notes %v", out.Model, out.Notes)
	}
	if got := h.sim.Requests()[0].Model; got != "gemini-3-pro-image" {
		t.Errorf("upstream saw model %q", got)
	}
}

func TestGenerateImageValidationNeverReachesUpstream(t *testing.T) {
	png := base64.StdEncoding.EncodeToString(tinyPNG(t))
	cases := []struct {
		name string
		args map[string]any
		cat  apierrors.Category
		says string
	}{
		{"empty prompt", map[string]any{"prompt": "  "}, apierrors.InvalidRequest, "prompt is empty"},
		{"unknown model", map[string]any{"prompt": "x", "model": "dall-e-3"}, apierrors.ModelNotFound, "nano-banana-pro"},
		{"ratio not on model", map[string]any{"prompt": "x", "model": "nano-banana-pro", "aspect_ratio": "8:1"}, apierrors.UnsupportedParameter, "21:9"},
		{"unknown ratio", map[string]any{"prompt": "x", "aspect_ratio": "7:3"}, apierrors.InvalidRequest, "16:9"},
		{"512 on pro", map[string]any{"prompt": "x", "model": "nano-banana-pro", "image_size": "512"}, apierrors.UnsupportedParameter, "1K, 2K, 4K"},
		{"4K on nano-banana", map[string]any{"prompt": "x", "model": "nano-banana", "image_size": "4K"}, apierrors.UnsupportedParameter, "use one of 1K"},
		{"too many references", map[string]any{"prompt": "x", "model": "nano-banana", "images": []any{png, png, png, png}}, apierrors.UnsupportedParameter, "at most 3"},
		{"thinking on 2.5", map[string]any{"prompt": "x", "model": "nano-banana", "thinking_level": "high"}, apierrors.UnsupportedParameter, "thinking"},
		{"bad output", map[string]any{"prompt": "x", "output": "fax"}, apierrors.InvalidRequest, "preview, resource, url, path, full"},
		{"wrong type", map[string]any{"prompt": 42}, apierrors.InvalidRequest, "prompt"},
	}
	h := newHarness(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := h.call(t, "generate_image", c.args)
			if !res.IsError {
				t.Fatalf("accepted: %s", text(res))
			}
			var d apierrors.Diagnosis
			structured(t, res, &d)
			if d.Category != c.cat || !strings.Contains(text(res), c.says) {
				t.Errorf("category %q text %q; want %q mentioning %q", d.Category, text(res), c.cat, c.says)
			}
		})
	}
	if n := len(h.sim.Requests()); n != 0 {
		t.Errorf("%d requests reached the upstream; validation must stop them all", n)
	}
}

func TestGenerateImageReferenceInputs(t *testing.T) {
	h := newHarness(t)
	first := h.call(t, "generate_image", map[string]any{"prompt": "a cat", "output": "path"})
	var out tools.ImageOutput
	structured(t, first, &out)
	local := filepath.Join(h.outDir, "ref.png")
	if err := os.WriteFile(local, tinyPNG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	dataURL := "data:image/png;base64," + base64.StdEncoding.EncodeToString(tinyPNG(t))
	res := h.call(t, "generate_image", map[string]any{"prompt": "the same cat in a hat", "output": "path",
		"images": []any{out.ImageID, local, dataURL}})
	if res.IsError {
		t.Fatalf("error: %s", text(res))
	}
	reqs := h.sim.Requests()
	parts := reqs[len(reqs)-1].Body["contents"].([]any)[0].(map[string]any)["parts"].([]any)
	if len(parts) != 4 {
		t.Fatalf("user turn has %d parts; want the prompt and three images", len(parts))
	}
	for _, p := range parts[1:] {
		if mime := p.(map[string]any)["inlineData"].(map[string]any)["mimeType"]; mime != "image/png" {
			t.Errorf("reference sent as %v", mime)
		}
	}
}

func TestGenerateImageRefusesBadInputs(t *testing.T) {
	h := newHarness(t)
	outside := filepath.Join(t.TempDir(), "secret.png")
	if err := os.WriteFile(outside, tinyPNG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	notImage := filepath.Join(h.outDir, "notes.txt")
	if err := os.WriteFile(notImage, []byte("hello, this is text"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(h.outDir, "link.png")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct{ ref, says string }{
		"outside roots":    {outside, "Not readable here: "},
		"symlink out":      {link, "Not readable here: "},
		"not an image":     {notImage, "not a PNG, JPEG or WebP"},
		"missing file":     {filepath.Join(h.outDir, "nope.png"), "Not readable here: "},
		"loopback URL":     {"http://127.0.0.1:9/cat.png", "loopback or private"},
		"unknown image id": {"img_aaaaaaaaaaaaaaaa", "No saved image"},
		"bad data URL":     {"data:image/png,abc", "data:image/png;base64"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			res := h.call(t, "generate_image", map[string]any{"prompt": "x", "images": []any{c.ref}})
			if !res.IsError || !strings.Contains(text(res), c.says) || !strings.HasPrefix(text(res), "Image 1: ") {
				t.Errorf("got %v %q; want an error saying %q", res.IsError, text(res), c.says)
			}
		})
	}
	if n := len(h.sim.Requests()); n != 0 {
		t.Errorf("%d requests reached the upstream", n)
	}
}

func TestGenerateImageSafetyBlockIsExplained(t *testing.T) {
	h := newHarness(t)
	h.sim.Enqueue("", geminitest.Fault{Kind: geminitest.KindImageSafety})
	res := h.call(t, "generate_image", map[string]any{"prompt": "something"})
	var d apierrors.Diagnosis
	structured(t, res, &d)
	if !res.IsError || d.Category != apierrors.SafetyBlocked || d.Retryable {
		t.Errorf("got %v %+v", res.IsError, d)
	}
	if files, _ := os.ReadDir(h.outDir); len(files) != 0 {
		t.Errorf("a blocked call left %d files", len(files))
	}
}

func TestGenerateImageKeepsDrafts(t *testing.T) {
	h := newHarness(t, func(d *tools.Wiring) { d.Turns.KeepDrafts = true })
	res := h.call(t, "generate_image", map[string]any{"prompt": "a lighthouse", "output": "path"})
	var out tools.ImageOutput
	structured(t, res, &out)
	if len(out.DraftPaths) != out.Drafts || out.Drafts == 0 {
		t.Fatalf("drafts %d, paths %v", out.Drafts, out.DraftPaths)
	}
	fw, fh := decodeFile(t, out.Path)
	for _, p := range out.DraftPaths {
		if w, hh := decodeFile(t, p); w >= fw && hh >= fh {
			t.Errorf("draft %s is %d×%d, not smaller than the final %d×%d", p, w, hh, fw, fh)
		}
	}
}

func decodeFile(t *testing.T, path string) (int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cfg.Width, cfg.Height
}

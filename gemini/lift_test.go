package gemini

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"google.golang.org/genai"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
)

// The image a call returns is byte-for-byte the one on the wire, drafts and signatures
// included, though the SDK only ever saw placeholders.
func TestLiftedImagesMatchTheWire(t *testing.T) {
	sim, err := geminitest.New(geminitest.Config{Photo: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	c, err := NewClient(context.Background(), Config{APIKey: "k", BaseURL: sim.URL()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Generate(context.Background(), Request{Prompt: "a pear", KeepDrafts: true, Options: Options{Model: "nano-banana-pro", ImageSize: "1K"}})
	if err != nil {
		t.Fatal(err)
	}
	bare, err := genai.NewClient(context.Background(), &genai.ClientConfig{APIKey: "k", Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: sim.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	want, err := bare.Models.GenerateContent(context.Background(), "gemini-3-pro-image", genai.Text("a pear"), &genai.GenerateContentConfig{
		ResponseModalities: []string{"TEXT", "IMAGE"}, ImageConfig: &genai.ImageConfig{ImageSize: "1K"},
		ThinkingConfig: &genai.ThinkingConfig{IncludeThoughts: true}})
	if err != nil {
		t.Fatal(err)
	}
	var wantImages [][]byte
	for _, p := range want.Candidates[0].Content.Parts {
		if p.InlineData != nil {
			wantImages = append(wantImages, p.InlineData.Data)
		}
	}
	if len(wantImages) < 2 || len(res.Drafts) != len(wantImages)-1 {
		t.Fatalf("%d images on the wire, %d drafts kept", len(wantImages), len(res.Drafts))
	}
	if !bytes.Equal(res.Image.Data, wantImages[len(wantImages)-1]) || len(res.Image.Data) < 500<<10 {
		t.Errorf("final image: %d bytes, want the wire's %d", len(res.Image.Data), len(wantImages[len(wantImages)-1]))
	}
	for i, d := range res.Drafts {
		if !bytes.Equal(d.Data, wantImages[i]) {
			t.Errorf("draft %d differs from the wire", i)
		}
	}
	for _, p := range res.Content.Parts {
		if p.InlineData != nil && bytes.HasPrefix(p.InlineData.Data, []byte(liftPrefix)) {
			t.Error("a placeholder was left in the recorded model turn")
		}
	}
}

// Large base64 strings are decoded from the stream (the JSON escape \/ included), whatever
// the read sizes; small strings and everything else are copied as they were; a large string
// that is not base64 fails, as it would in the SDK.
func TestLiftStream(t *testing.T) {
	img := bytes.Repeat([]byte{0x89, 'P', 'N', 'G', 0xff, 0xfe, 0x3f}, 3*decodeBlock/7+liftMin) // several blocks
	big := base64.StdEncoding.EncodeToString(img)
	escaped := strings.ReplaceAll(big, "/", `\/`)
	body := `{"candidates":[{"content":{"parts":[` +
		`{"text":"a \"data\": \"quoted\" word"},` +
		`{"inlineData":{"mimeType":"image/png","data":"aGk="}},` +
		`{"inlineData":{"mimeType":"image/png","data" : "` + escaped + `"}},` +
		`{"inlineData":{"mimeType":"image/png","data":"` + big + `"},"thoughtSignature":"c2ln"}]}}]}`
	for _, r := range []io.Reader{strings.NewReader(body), iotest.HalfReader(strings.NewReader(body))} {
		l := &lifted{}
		out, err := liftStream(r, l)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.blobs) != 2 || !bytes.Equal(l.blobs[0], img) || !bytes.Equal(l.blobs[1], img) {
			t.Fatalf("lifted %d blobs", len(l.blobs))
		}
		if !json.Valid(out) || len(out) > 600 {
			t.Fatalf("rewritten body is %d bytes, valid JSON %v: %.300s", len(out), json.Valid(out), out)
		}
		for _, keep := range []string{`"aGk="`, `{"text":"a \"data\": \"quoted\" word"}`, `"thoughtSignature":"c2ln"`} {
			if !strings.Contains(string(out), keep) {
				t.Errorf("%s was changed: %s", keep, out)
			}
		}
	}
	bad := `{"data":"` + strings.Repeat("!", liftMin+8) + `"}`
	if _, err := liftStream(strings.NewReader(bad), &lifted{}); err == nil {
		t.Error("a large data string that is not base64 was accepted")
	}
}

// Reference and history images reach the upstream byte-for-byte, though the SDK only
// marshalled placeholders, and the caller's contents are left untouched.
func TestLiftedRequestImagesReachTheWire(t *testing.T) {
	c, sim := newTestClient(t, Config{})
	ref := photoBytes(t)
	res, err := c.Generate(context.Background(), Request{Prompt: "like this", References: []Image{{Data: ref, MIMEType: "image/png"}}, Options: Options{Model: "nano-banana-pro"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.UserContent.Parts[1].InlineData.Data; !bytes.Equal(got, ref) {
		t.Fatal("the recorded user turn holds a placeholder instead of the image")
	}
	parts := sim.Requests()[0].Body["contents"].([]any)[0].(map[string]any)["parts"].([]any)
	sent, _ := parts[1].(map[string]any)["inlineData"].(map[string]any)["data"].(string)
	if sent != base64.StdEncoding.EncodeToString(ref) {
		t.Fatalf("the upstream received %d base64 characters, want the %d-byte image", len(sent), len(ref))
	}
}

func photoBytes(t *testing.T) []byte {
	sim, err := geminitest.New(geminitest.Config{Photo: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	c, err := NewClient(context.Background(), Config{APIKey: "k", BaseURL: sim.URL()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Generate(context.Background(), Request{Prompt: "a reference", Options: Options{Model: "nano-banana-2", ImageSize: "512"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Image.Data) < liftMin {
		t.Fatalf("reference of %d bytes is too small to be lifted", len(res.Image.Data))
	}
	return res.Image.Data
}

// base64Reader gives the standard encoding whatever the caller's buffer size.
func TestBase64Reader(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 5, 100, 4096, 10001} {
		data := bytes.Repeat([]byte{0xfb, 0x10, 0x7e}, n)[:n]
		for _, buf := range []int{1, 3, 5, 7, 4096} {
			var out []byte
			r := &base64Reader{data: data}
			p := make([]byte, buf)
			for {
				k, err := r.Read(p)
				out = append(out, p[:k]...)
				if err != nil {
					break
				}
			}
			if want := base64.StdEncoding.EncodeToString(data); string(out) != want {
				t.Fatalf("n=%d buf=%d: %q, want %q", n, buf, out, want)
			}
		}
	}
}

// BenchmarkLiftStream reads a response carrying a 1K photo-sized image (3 MB, its base64 4 MB).
func BenchmarkLiftStream(b *testing.B) {
	img := make([]byte, 3<<20)
	for i := range img {
		img[i] = byte(i*7919 + i>>9)
	}
	body := []byte(`{"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"` +
		base64.StdEncoding.EncodeToString(img) + `"}}]}}]}`)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := liftStream(bytes.NewReader(body), &lifted{}); err != nil {
			b.Fatal(err)
		}
	}
}

// decodeBase64 decodes and refuses exactly what the standard library does: every length,
// padding, and a bad byte at every position of a group.
func TestDecodeBase64MatchesTheStandardLibrary(t *testing.T) {
	raw := make([]byte, 200)
	for i := range raw {
		raw[i] = byte(i*151 + 7)
	}
	var inputs []string
	for n := range len(raw) {
		enc := base64.StdEncoding.EncodeToString(raw[:n])
		inputs = append(inputs, enc)
		for _, bad := range []byte{'=', '!', '\\', 0x80, 0xff, '-', '_', '\n'} {
			for _, at := range []int{0, len(enc) / 2, len(enc) - 1} {
				if at >= 0 && at < len(enc) {
					inputs = append(inputs, enc[:at]+string(bad)+enc[at+1:])
				}
			}
		}
	}
	for _, in := range inputs {
		want := make([]byte, len(in))
		wn, werr := base64.StdEncoding.Decode(want, []byte(in))
		got := make([]byte, len(in))
		gn, gerr := decodeBase64(got, []byte(in))
		if (werr == nil) != (gerr == nil) || werr == nil && !bytes.Equal(got[:gn], want[:wn]) {
			t.Fatalf("%q: got %d bytes, error %v; the standard library %d, %v", in, gn, gerr, wn, werr)
		}
	}
}

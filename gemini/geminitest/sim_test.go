package geminitest

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"google.golang.org/genai"
)

func newSim(t testing.TB, cfg Config) (*Server, *genai.Client) {
	t.Helper()
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, client(t, srv, "k")
}

func client(t testing.TB, srv *Server, key string) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{APIKey: key, Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL()}})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func imageConfig(ratio, size string, thoughts bool) *genai.GenerateContentConfig {
	cfg := &genai.GenerateContentConfig{ResponseModalities: []string{"TEXT", "IMAGE"},
		ImageConfig: &genai.ImageConfig{AspectRatio: ratio, ImageSize: size}}
	if thoughts {
		cfg.ThinkingConfig = &genai.ThinkingConfig{IncludeThoughts: true}
	}
	return cfg
}

func finalImage(t *testing.T, resp *genai.GenerateContentResponse) *genai.Part {
	t.Helper()
	var last *genai.Part
	for _, p := range resp.Candidates[0].Content.Parts {
		if p.InlineData != nil && !p.Thought {
			last = p
		}
	}
	if last == nil {
		t.Fatal("no final image")
	}
	return last
}

func pngSize(t *testing.T, b []byte) (int, int) {
	t.Helper()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil || format != "png" {
		t.Fatalf("decoding image: %v (%s)", err, format)
	}
	return cfg.Width, cfg.Height
}

func apiError(t *testing.T, err error) genai.APIError {
	t.Helper()
	var e genai.APIError
	if !errors.As(err, &e) {
		t.Fatalf("want genai.APIError, got %T %v", err, err)
	}
	return e
}

func TestDimensions(t *testing.T) {
	_, c := newSim(t, Config{})
	ctx := context.Background()
	cases := []struct {
		model, ratio, size string
		w, h               int
	}{
		{"gemini-2.5-flash-image", "16:9", "", 1344, 768},
		{"gemini-2.5-flash-image", "21:9", "1K", 1536, 672},
		{"gemini-3-pro-image-preview", "", "", 1024, 1024},
		{"gemini-3-pro-image-preview", "16:9", "2K", 2752, 1536},
		{"gemini-3-pro-image", "9:16", "1K", 768, 1376},
		{"gemini-3.1-flash-image-preview", "8:1", "512", 1536, 192},
		{"gemini-3.1-flash-image", "2:3", "2K", 1696, 2528},
		{"gemini-3.1-flash-image-preview", "1:4", "1K", 512, 2048},
	}
	for _, tc := range cases {
		resp, err := c.Models.GenerateContent(ctx, tc.model, genai.Text("a banana"), imageConfig(tc.ratio, tc.size, false))
		if err != nil {
			t.Fatalf("%s %s %s: %v", tc.model, tc.ratio, tc.size, err)
		}
		if w, h := pngSize(t, finalImage(t, resp).InlineData.Data); w != tc.w || h != tc.h {
			t.Errorf("%s %s %s: got %dx%d, want %dx%d", tc.model, tc.ratio, tc.size, w, h, tc.w, tc.h)
		}
		if resp.UsageMetadata == nil || resp.UsageMetadata.CandidatesTokensDetails[0].Modality != genai.MediaModalityImage {
			t.Errorf("%s: usage lacks IMAGE tokens: %+v", tc.model, resp.UsageMetadata)
		}
	}
}

func TestInputImageSetsDefaultRatio(t *testing.T) {
	_, c := newSim(t, Config{})
	var buf bytes.Buffer
	_ = png.Encode(&buf, image.NewGray(image.Rect(0, 0, 160, 90)))
	contents := []*genai.Content{genai.NewContentFromParts([]*genai.Part{
		genai.NewPartFromText("make it blue"), genai.NewPartFromBytes(buf.Bytes(), "image/png")}, genai.RoleUser)}
	resp, err := c.Models.GenerateContent(context.Background(), "gemini-3-pro-image-preview", contents, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := pngSize(t, finalImage(t, resp).InlineData.Data); w != 1376 || h != 768 {
		t.Errorf("got %dx%d, want 16:9 1376x768", w, h)
	}
}

func TestThoughtsAndSignatures(t *testing.T) {
	_, c := newSim(t, Config{})
	ctx := context.Background()
	resp, err := c.Models.GenerateContent(ctx, "gemini-3-pro-image-preview", genai.Text("a banana"), imageConfig("1:1", "1K", true))
	if err != nil {
		t.Fatal(err)
	}
	var thoughtImages int
	for _, p := range resp.Candidates[0].Content.Parts {
		if p.Thought {
			if len(p.ThoughtSignature) != 0 {
				t.Error("thought part carries a signature")
			}
			if p.InlineData != nil {
				thoughtImages++
				if w, _ := pngSize(t, p.InlineData.Data); w >= 1024 {
					t.Errorf("draft width %d not smaller than final", w)
				}
			}
			continue
		}
		if len(p.ThoughtSignature) == 0 {
			t.Errorf("non-thought part without signature: text=%q image=%v", p.Text, p.InlineData != nil)
		}
	}
	if thoughtImages < 1 || thoughtImages > 2 {
		t.Errorf("thought images = %d, want 1 or 2", thoughtImages)
	}
	if resp.UsageMetadata.ThoughtsTokenCount == 0 {
		t.Error("no thoughtsTokenCount")
	}
	plain, err := c.Models.GenerateContent(ctx, "gemini-3-pro-image-preview", genai.Text("a banana"), imageConfig("1:1", "1K", false))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plain.Candidates[0].Content.Parts {
		if p.Thought {
			t.Fatal("thought part without includeThoughts")
		}
	}
	flash, err := c.Models.GenerateContent(ctx, "gemini-2.5-flash-image", genai.Text("a banana"), imageConfig("", "", true))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range flash.Candidates[0].Content.Parts {
		if p.Thought {
			t.Fatal("2.5 Flash returned thoughts")
		}
	}
}

func TestReplaySignatures(t *testing.T) {
	srv, c := newSim(t, Config{})
	ctx := context.Background()
	model := "gemini-3.1-flash-image-preview"
	cfg := imageConfig("1:1", "512", true)
	user1 := genai.NewContentFromText("a banana", genai.RoleUser)
	resp, err := c.Models.GenerateContent(ctx, model, []*genai.Content{user1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	prev := resp.Candidates[0].Content
	user2 := genai.NewContentFromText("make it blue", genai.RoleUser)
	if _, err := c.Models.GenerateContent(ctx, model, []*genai.Content{user1, prev, user2}, cfg); err != nil {
		t.Fatalf("exact replay rejected: %v", err)
	}
	last := srv.Requests()[len(srv.Requests())-1]
	if got := len(last.Body["contents"].([]any)); got != 3 {
		t.Fatalf("recorded %d contents, want 3", got)
	}

	imgIdx, textIdx := -1, -1
	for i, p := range prev.Parts {
		if !p.Thought && p.InlineData != nil {
			imgIdx = i
		}
		if !p.Thought && p.Text != "" && textIdx < 0 {
			textIdx = i
		}
	}
	clone := func(mut func(parts []*genai.Part)) *genai.Content {
		parts := make([]*genai.Part, len(prev.Parts))
		for i, p := range prev.Parts {
			cp := *p
			parts[i] = &cp
		}
		mut(parts)
		return &genai.Content{Role: "model", Parts: parts}
	}
	cases := []struct {
		name string
		mut  func([]*genai.Part)
		want string
	}{
		{"stripped image", func(p []*genai.Part) { p[imgIdx].ThoughtSignature = nil },
			"Image part is missing a thought_signature in content position 2, part position " + itoa(imgIdx+1) + "."},
		{"stripped text", func(p []*genai.Part) { p[textIdx].ThoughtSignature = nil },
			"Text part is missing a thought_signature in content position 2, part position " + itoa(textIdx+1) + "."},
		{"altered", func(p []*genai.Part) { p[imgIdx].ThoughtSignature = append([]byte{}, p[textIdx].ThoughtSignature...) },
			"Corrupted thought signature."},
		{"edited text", func(p []*genai.Part) { p[textIdx].Text += "!" }, "Corrupted thought signature."},
	}
	for _, tc := range cases {
		_, err := c.Models.GenerateContent(ctx, model, []*genai.Content{user1, clone(tc.mut), user2}, cfg)
		e := apiError(t, err)
		if e.Code != 400 || e.Status != "INVALID_ARGUMENT" || e.Message != tc.want {
			t.Errorf("%s: got %d %s %q, want %q", tc.name, e.Code, e.Status, e.Message, tc.want)
		}
	}
	// Signatures are bound to the model that issued them.
	_, err = c.Models.GenerateContent(ctx, "gemini-3-pro-image-preview", []*genai.Content{user1, prev, user2}, imageConfig("1:1", "1K", false))
	if e := apiError(t, err); e.Message != "Corrupted thought signature." {
		t.Errorf("foreign model: %q", e.Message)
	}
	// A chat replays history verbatim and keeps working.
	chat, err := c.Chats.Create(ctx, model, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"a cat", "add a hat", "make it night"} {
		if _, err := chat.SendMessage(ctx, genai.Part{Text: msg}); err != nil {
			t.Fatalf("chat turn %q: %v", msg, err)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestValidationErrors(t *testing.T) {
	_, c := newSim(t, Config{APIKeys: []string{"k"}})
	ctx := context.Background()
	check := func(name, model string, cfg *genai.GenerateContentConfig, code int, contains string) {
		t.Helper()
		_, err := c.Models.GenerateContent(ctx, model, genai.Text("x"), cfg)
		e := apiError(t, err)
		if e.Code != code || !strings.Contains(e.Message, contains) {
			t.Errorf("%s: got %d %q, want %d containing %q", name, e.Code, e.Message, code, contains)
		}
	}
	check("unknown model", "gemini-9-image", nil, 404,
		"models/gemini-9-image is not found for API version v1beta, or is not supported for generateContent. Call ListModels")
	check("lowercase k", "gemini-3-pro-image-preview", imageConfig("1:1", "2k", false), 400, "image_size must be one of '1K', '2K', or '4K'")
	check("512 on pro", "gemini-3-pro-image-preview", imageConfig("1:1", "512", false), 400, "image_size")
	check("2K on 2.5", "gemini-2.5-flash-image", imageConfig("1:1", "2K", false), 400, "image_size must be '1K'")
	check("8:1 on pro", "gemini-3-pro-image", imageConfig("8:1", "1K", false), 400,
		"aspect_ratio must be one of '1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', or '21:9'")
	multi := imageConfig("1:1", "", false)
	multi.CandidateCount = 2
	check("candidates", "gemini-2.5-flash-image", multi, 400, "Multiple candidates is not enabled for models/gemini-2.5-flash-image")
	check("candidates on 3", "gemini-3.1-flash-image", multi, 400, "Multiple candidates is not enabled for this model")
	search := &genai.GenerateContentConfig{Tools: []*genai.Tool{{GoogleSearch: &genai.GoogleSearch{}}}}
	check("search on 2.5", "gemini-2.5-flash-image", search, 400, "Search Grounding is not supported.")
	images := &genai.GenerateContentConfig{Tools: []*genai.Tool{{GoogleSearch: &genai.GoogleSearch{
		SearchTypes: &genai.SearchTypes{WebSearch: &genai.WebSearch{}, ImageSearch: &genai.ImageSearch{}}}}}}
	check("image search on pro", "gemini-3-pro-image", images, 400, "Image Search is not supported")

	var parts []*genai.Part
	for range 4 {
		parts = append(parts, genai.NewPartFromBytes([]byte("x"), "image/png"))
	}
	_, err := c.Models.GenerateContent(ctx, "gemini-2.5-flash-image", []*genai.Content{genai.NewContentFromParts(parts, genai.RoleUser)}, nil)
	if e := apiError(t, err); e.Code != 400 || !strings.Contains(e.Message, "at most 3") {
		t.Errorf("too many images: %d %q", e.Code, e.Message)
	}
}

func TestAuth(t *testing.T) {
	srv, _ := newSim(t, Config{APIKeys: []string{"good"}})
	_, err := client(t, srv, "bad").Models.GenerateContent(context.Background(), "gemini-2.5-flash-image", genai.Text("x"), nil)
	e := apiError(t, err)
	if e.Code != 400 || e.Message != "API key not valid. Please pass a valid API key." || e.Details[0]["reason"] != "API_KEY_INVALID" {
		t.Errorf("bad key: %+v", e)
	}
	for _, r := range srv.Requests() {
		for _, h := range r.Headers {
			if strings.Contains(h, "bad") {
				t.Error("key recorded")
			}
		}
		if !r.HasKey || r.Status != 400 {
			t.Errorf("record: %+v", r)
		}
	}
}

func TestModelsGetAndList(t *testing.T) {
	_, c := newSim(t, Config{})
	ctx := context.Background()
	m, err := c.Models.Get(ctx, "gemini-3-pro-image-preview", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "models/gemini-3-pro-image-preview" || m.InputTokenLimit != 65536 {
		t.Errorf("get: %+v", m)
	}
	page, err := c.Models.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) < 5 {
		t.Errorf("list: %d models", len(page.Items))
	}
}

func TestStream(t *testing.T) {
	_, c := newSim(t, Config{})
	var parts []*genai.Part
	var finish genai.FinishReason
	for resp, err := range c.Models.GenerateContentStream(context.Background(), "gemini-3-pro-image-preview", genai.Text("a banana"), imageConfig("4:3", "1K", true)) {
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, resp.Candidates[0].Content.Parts...)
		if resp.Candidates[0].FinishReason != "" {
			finish = resp.Candidates[0].FinishReason
		}
	}
	if finish != genai.FinishReasonStop {
		t.Errorf("finish = %q", finish)
	}
	last := parts[len(parts)-1]
	if w, h := pngSize(t, last.InlineData.Data); w != 1200 || h != 896 || len(last.ThoughtSignature) == 0 {
		t.Errorf("final streamed image %dx%d sig=%d", w, h, len(last.ThoughtSignature))
	}
}

func TestConcurrent(t *testing.T) {
	_, c := newSim(t, Config{Faults: "503@0.3", Seed: 1})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = c.Models.GenerateContent(context.Background(), "gemini-3.1-flash-image-preview",
				genai.Text("p"+itoa(i%8)), imageConfig("1:1", "512", i%2 == 0))
		}()
	}
	wg.Wait()
}

func TestRawAuthAndRedaction(t *testing.T) {
	srv, _ := newSim(t, Config{})
	resp, err := http.Post(srv.URL()+"v1beta/models/gemini-2.5-flash-image:generateContent", "application/json",
		strings.NewReader(`{"contents":[{"parts":[{"text":"x"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(body), "Method doesn't allow unregistered callers") {
		t.Errorf("no key: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Post(srv.URL()+"v1beta/models/gemini-2.5-flash-image:generateContent?key=secret-value&alt=json", "application/json",
		strings.NewReader(`{"contents":[{"parts":[{"text":"x"}]}],"generation_config":{"image_config":{"aspect_ratio":"16:9"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("query key: %d", resp.StatusCode)
	}
	for _, r := range srv.Requests() {
		if strings.Contains(r.Query, "secret") || strings.Contains(r.Path, "secret") {
			t.Errorf("key leaked into record: %+v", r)
		}
	}
}

func TestGroundingMetadataWhenSearchIsOn(t *testing.T) {
	_, c := newSim(t, Config{})
	cfg := &genai.GenerateContentConfig{ResponseModalities: []string{"TEXT", "IMAGE"},
		Tools: []*genai.Tool{{GoogleSearch: &genai.GoogleSearch{SearchTypes: &genai.SearchTypes{
			WebSearch: &genai.WebSearch{}, ImageSearch: &genai.ImageSearch{}}}}}}
	resp, err := c.Models.GenerateContent(context.Background(), "gemini-3.1-flash-image", genai.Text("the Eiffel Tower"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	md := resp.Candidates[0].GroundingMetadata
	if md == nil || len(md.WebSearchQueries) == 0 || len(md.ImageSearchQueries) == 0 || len(md.GroundingChunks) < 3 ||
		md.GroundingChunks[0].Web == nil || md.GroundingChunks[2].Image == nil ||
		md.SearchEntryPoint == nil || !strings.Contains(md.SearchEntryPoint.RenderedContent, "Eiffel") {
		t.Fatalf("groundingMetadata %+v", md)
	}
	plain, err := c.Models.GenerateContent(context.Background(), "gemini-3.1-flash-image", genai.Text("x"), nil)
	if err != nil || plain.Candidates[0].GroundingMetadata != nil {
		t.Errorf("ungrounded answer carries grounding: %v", err)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
)

// TestMain lets the test binary act as the server binary: the stdio tests re-execute it with
// NANOBANANA_TEST_MAIN=1, so they exercise the real process, flags, environment and pipes.
func TestMain(m *testing.M) {
	if os.Getenv("NANOBANANA_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestConfigFlagsEnvAndDefaults(t *testing.T) {
	var stderr bytes.Buffer
	cfg, err := parseConfig([]string{"--model", "nano-banana-pro"}, env(
		"NANOBANANA_MODEL", "nano-banana", "NANOBANANA_OUTPUT_DIR", "/tmp/imgs", "NANOBANANA_KEEP_DRAFTS", "true",
		"GEMINI_API_KEY", "g-key", "GOOGLE_API_KEY", "google-key", "GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:1/",
	), &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Model != "nano-banana-pro" {
		t.Errorf("model %q: the flag must win over its environment twin", cfg.Model)
	}
	if cfg.OutputDir != "/tmp/imgs" || !cfg.KeepDrafts {
		t.Errorf("environment twins not applied: %+v", cfg)
	}
	if cfg.APIKey != "google-key" || cfg.BaseURL != "http://127.0.0.1:1/" {
		t.Errorf("SDK variables: key %q base %q (GOOGLE_API_KEY wins, as in the SDK)", cfg.APIKey, cfg.BaseURL)
	}
	if !slices.Contains(cfg.AllowedRoots, "/tmp/imgs") {
		t.Errorf("allowed roots %v should include the output directory", cfg.AllowedRoots)
	}
	cfg, err = parseConfig(nil, env("HOME", "/home/u"), &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if want := "/home/u/.local/share/nanobanana-mcp/images"; cfg.OutputDir != want {
		t.Errorf("default output dir %q, want %q (never the working directory)", cfg.OutputDir, want)
	}
}

func TestConfigRejectsBadValuesOneSentenceEach(t *testing.T) {
	var stderr bytes.Buffer
	_, err := parseConfig([]string{"--transport", "carrier-pigeon", "--log-level", "loud", "--timeout", "-1s", "--history-mb", "200"},
		env("HOME", "/h", "NANOBANANA_WORKERS", "many", "NANOBANANA_SIMULATE_LATENCY", "1s"), &stderr)
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	for _, want := range []string{"--transport \"carrier-pigeon\"", "--log-level \"loud\"", "--timeout must be a positive",
		"NANOBANANA_WORKERS=\"many\"", "only apply with --simulate", "--history-mb is 200 but can be at most 96"} {
		found := false
		for _, l := range lines {
			found = found || strings.Contains(l, want)
		}
		if !found {
			t.Errorf("no line mentions %s:\n%s", want, err)
		}
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, env(), nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "nanobanana-mcp ") {
		t.Errorf("--version printed %q", out.String())
	}
}

// startStdio runs this binary as the server over real pipes, as an MCP client would.
func startStdio(t *testing.T, environ []string, args ...string) *client.Client {
	t.Helper()
	c, err := client.NewStdioMCPClient(os.Args[0], append(environ, "NANOBANANA_TEST_MAIN=1"), args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := initialize(ctx, c, mcp.LATEST_LEGACY_PROTOCOL_VERSION, "stdio-test"); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return c
}

func callTool(t *testing.T, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var req mcp.CallToolRequest
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func TestStdioSimulateEndToEnd(t *testing.T) {
	out := t.TempDir()
	c := startStdio(t, []string{"HOME=" + t.TempDir()}, "--simulate", "--output-dir", out, "--log-level", "debug")
	ctx := context.Background()
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range list.Tools {
		names = append(names, tl.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "generate_image") {
		t.Fatalf("tools/list: %v", names)
	}
	res := callTool(t, c, "generate_image", map[string]any{"prompt": "a banana on a desk", "aspect_ratio": "3:2"})
	if res.IsError {
		t.Fatalf("generate_image failed: %v", res.Content)
	}
	assertSavedImage(t, res, out, 1264, 848)
}

// The way an outside harness drives it: a fake Gemini reached through GOOGLE_GEMINI_BASE_URL,
// a key in GEMINI_API_KEY and the output directory in NANOBANANA_OUTPUT_DIR.
func TestStdioAgainstUpstreamFromEnvironment(t *testing.T) {
	sim, err := geminitest.New(geminitest.Config{APIKeys: []string{"real-looking-key"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	out := t.TempDir()
	c := startStdio(t, []string{"HOME=" + t.TempDir(), "GEMINI_API_KEY=real-looking-key",
		"GOOGLE_GEMINI_BASE_URL=" + sim.URL(), "NANOBANANA_OUTPUT_DIR=" + out})
	res := callTool(t, c, "generate_image", map[string]any{"prompt": "a lighthouse", "model": "nano-banana-pro",
		"aspect_ratio": "16:9", "image_size": "1K"})
	if res.IsError {
		t.Fatalf("generate_image failed: %v", res.Content)
	}
	assertSavedImage(t, res, out, 1376, 768)
	reqs := generations(sim)
	if len(reqs) != 1 || reqs[0].Model != "gemini-3-pro-image" || !reqs[0].HasKey {
		t.Errorf("upstream saw %+v", reqs)
	}
}

func TestStdioWithoutKeyExplainsWhatIsMissing(t *testing.T) {
	c := startStdio(t, []string{"HOME=" + t.TempDir(), "GEMINI_API_KEY=", "GOOGLE_API_KEY="})
	res := callTool(t, c, "generate_image", map[string]any{"prompt": "x"})
	if !res.IsError || !strings.Contains(res.Content[0].(mcp.TextContent).Text, "GEMINI_API_KEY") {
		t.Errorf("got %+v", res.Content)
	}
}

func assertSavedImage(t *testing.T, res *mcp.CallToolResult, dir string, w, h int) {
	t.Helper()
	raw, _ := json.Marshal(res.StructuredContent)
	var out struct {
		Path           string `json:"path"`
		Width          int    `json:"width"`
		Height         int    `json:"height"`
		ConversationID string `json:"conversation_id"`
		ImageID        string `json:"image_id"`
		Model          string `json:"model"`
		MIMEType       string `json:"mime_type"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(out.Path) != dir || out.Width != w || out.Height != h || out.ConversationID == "" ||
		out.ImageID == "" || out.Model == "" || out.MIMEType != "image/png" {
		t.Errorf("structuredContent %s; want a %d×%d PNG in %s", raw, w, h, dir)
	}
	if st, err := os.Stat(out.Path); err != nil || st.Size() == 0 {
		t.Errorf("saved file: %v", err)
	}
}

func TestConfigHTTPNeedsTokenOffLoopback(t *testing.T) {
	var stderr bytes.Buffer
	_, err := parseConfig([]string{"--transport", "http", "--addr", "0.0.0.0:8080"}, env("HOME", "/h"), &stderr)
	if err == nil || !strings.Contains(err.Error(), "--auth-token") {
		t.Errorf("a public address without a token was accepted: %v", err)
	}
	for _, args := range [][]string{
		{"--transport", "http", "--addr", "0.0.0.0:8080", "--insecure-no-auth"},
		{"--transport", "sse", "--addr", "127.0.0.1:0"},
		{"--transport", "http", "--addr", "[::]:8080", "--auth-token", "t"},
	} {
		if _, err := parseConfig(args, env("HOME", "/h"), &stderr); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseConfig([]string{"--transport", "http", "--addr", "10.0.0.1:80"}, env("HOME", "/h", "NANOBANANA_AUTH_TOKEN_FILE", tokenFile), &stderr)
	if err == nil {
		err = cfg.LoadTokens()
	}
	if err != nil || cfg.Security.Token != "from-file" {
		t.Errorf("token file: %v %q", err, cfg.Security.Token)
	}
	if _, err := parseConfig([]string{"--transport", "http", "--addr", "nonsense"}, env("HOME", "/h"), &stderr); err == nil {
		t.Error("a malformed --addr was accepted")
	}
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte("# workspaces\ndify=tok-dify-1\nlibrechat=tok-lc-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = parseConfig([]string{"--transport", "http", "--addr", "10.0.0.1:80", "--auth-tokens-file", tokens}, env("HOME", "/h"), &stderr)
	if err == nil {
		err = cfg.LoadTokens()
	}
	if err != nil || len(cfg.Security.Principals) != 2 || cfg.Security.Principals[1].Name != "librechat" {
		t.Errorf("--auth-tokens-file: %v %+v", err, cfg.Security.Principals)
	}
	if err := os.WriteFile(tokens, []byte("dify=tok-dify-1\nlibrechat tok-lc-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The file is read when the server starts, which refuses to.
	err = run(context.Background(), []string{"--transport", "http", "--auth-tokens-file", tokens}, env("HOME", t.TempDir()), nil, &stderr, &stderr)
	if err == nil || !strings.Contains(err.Error(), "line 2") || strings.Contains(err.Error(), "tok-lc-2") {
		t.Errorf("a bad tokens file: %v", err)
	}
}

// Four turns of one conversation over stdio, each request carrying the full history on the
// pinned model; then the server restarts and the conversation goes on; then an outside image
// file starts a new conversation and reaches the upstream as input.
func TestStdioConversationAcrossRestart(t *testing.T) {
	sim, err := geminitest.New(geminitest.Config{APIKeys: []string{"k"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	home, out := t.TempDir(), t.TempDir()
	environ := []string{"HOME=" + home, "GEMINI_API_KEY=k", "GOOGLE_GEMINI_BASE_URL=" + sim.URL(), "NANOBANANA_OUTPUT_DIR=" + out}
	structuredOf := func(res *mcp.CallToolResult) map[string]any {
		t.Helper()
		if res.IsError {
			t.Fatalf("tool error: %v", res.Content)
		}
		raw, _ := json.Marshal(res.StructuredContent)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return m
	}
	c := startStdio(t, environ)
	first := structuredOf(callTool(t, c, "generate_image", map[string]any{"prompt": "a red bicycle", "model": "nano-banana-pro", "output": "path"}))
	conv := first["conversation_id"].(string)
	for turn := 2; turn <= 4; turn++ {
		structuredOf(callTool(t, c, "edit_image", map[string]any{"prompt": "change it", "conversation_id": conv, "output": "path"}))
	}
	_ = c.Close()

	c = startStdio(t, environ)
	fifth := structuredOf(callTool(t, c, "edit_image", map[string]any{"prompt": "after the restart", "conversation_id": conv, "output": "path"}))
	if fifth["turn"] != 5.0 || fifth["conversation_id"] != conv {
		t.Errorf("after restart: %v", fifth)
	}
	reqs := generations(sim)
	for i, r := range reqs {
		if n := len(r.Body["contents"].([]any)); r.Model != "gemini-3-pro-image" || n != 2*i+1 {
			t.Errorf("request %d: model %s with %d contents; want the pinned model and the full history", i+1, r.Model, n)
		}
	}
	photo := filepath.Join(out, "holiday.png")
	img, _ := os.ReadFile(first["path"].(string))
	if err := os.WriteFile(photo, img, 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := structuredOf(callTool(t, c, "edit_image", map[string]any{"prompt": "make it vintage", "image": photo, "output": "path"}))
	if fresh["conversation_id"] == conv || fresh["turn"] != 1.0 {
		t.Errorf("an outside image starts a new conversation: %v", fresh)
	}
	gens := generations(sim)
	last := gens[len(gens)-1].Body["contents"].([]any)
	if parts := last[0].(map[string]any)["parts"].([]any); len(last) != 1 || len(parts) != 2 {
		t.Errorf("the outside image did not reach the upstream as input: %v", last)
	}
}

// generations are the generateContent calls the upstream saw; the server also lists the
// models in the background at start-up.
func generations(sim *geminitest.Server) []geminitest.Request {
	var out []geminitest.Request
	for _, r := range sim.Requests() {
		if r.Action == "generateContent" || r.Action == "streamGenerateContent" {
			out = append(out, r)
		}
	}
	return out
}

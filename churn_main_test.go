package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// The simulator told that Nano Banana 2 is shut down: the server's default and the old alias
// both produce images from Nano Banana 2.1, and the result says why.
func TestStdioSimulatedShutdown(t *testing.T) {
	out := t.TempDir()
	c := startStdio(t, []string{"HOME=" + t.TempDir()}, "--simulate", "--output-dir", out,
		"--simulate-faults", "gemini-3.1-flash-image:gone,gemini-2.5-flash-image:gone")
	res := callTool(t, c, "generate_image", map[string]any{"prompt": "a banana", "model": "nano-banana-2", "output": "path"})
	var st struct {
		Model        string   `json:"model"`
		FallbackFrom string   `json:"fallback_from"`
		Notes        []string `json:"notes"`
	}
	raw, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(raw, &st)
	text := ""
	if len(res.Content) > 0 {
		if tc, ok := res.Content[0].(mcp.TextContent); ok {
			text = tc.Text
		}
	}
	if res.IsError || st.Model != "gemini-nano-banana-2.1" || st.FallbackFrom != "gemini-3.1-flash-image" ||
		!strings.Contains(text, "gemini-3.1-flash-image was shut down by Google; used its successor gemini-nano-banana-2.1") {
		t.Errorf("got %+v: %s", st, text)
	}
}

func TestUpstreamNameSaysVertex(t *testing.T) {
	cases := map[string]*Config{
		"gemini":                   {},
		"gemini via http://relay/": {BaseURL: "http://relay/"},
		"vertex-ai project p in global via http://127.0.0.1:9/": {Vertex: true, Project: "p", Location: "global", BaseURL: "http://127.0.0.1:9/"},
	}
	for want, cfg := range cases {
		if got := upstreamName(cfg); got != want {
			t.Errorf("upstreamName = %q; want %q", got, want)
		}
	}
}

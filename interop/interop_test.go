// Package interop drives the built server with third-party MCP clients (the official
// TypeScript SDK). It installs the pinned npm packages itself; it skips only where Node is
// missing.
package interop

import (
	"context"
	"encoding/json"
	"image"
	_ "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
)

var serverBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := exec.LookPath("node"); err != nil {
		// Tests call t.Skip with this message; nothing to install without Node.
		return m.Run()
	}
	if _, err := os.Stat("node_modules/@modelcontextprotocol/sdk"); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			println("interop: npm ci failed:", err.Error())
			return 1
		}
	}
	dir, err := os.MkdirTemp("", "nanobanana-interop-")
	if err != nil {
		println(err.Error())
		return 1
	}
	defer os.RemoveAll(dir)
	serverBin = filepath.Join(dir, "nanobanana-mcp")
	build := exec.Command("go", "build", "-o", serverBin, "github.com/nanobanana-mcp/nanobanana-mcp")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		println("interop: building the server:", err.Error())
		return 1
	}
	return m.Run()
}

type callResult struct {
	IsError    bool           `json:"isError"`
	Types      []string       `json:"types"`
	Text       string         `json:"text"`
	Structured map[string]any `json:"structured"`
	Progress   int            `json:"progress"`
	Thrown     string         `json:"thrown"`
}

type report struct {
	Fatal string                `json:"fatal"`
	Tools []string              `json:"tools"`
	Calls map[string]callResult `json:"calls"`
}

func node(t *testing.T, env []string, args ...string) report {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("interop tests need Node.js (node is not on PATH)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"client.mjs"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	var r report
	if jerr := json.Unmarshal(out, &r); jerr != nil {
		t.Fatalf("node: %v; output %q", err, out)
	}
	if r.Fatal != "" {
		t.Fatalf("client failed: %s", r.Fatal)
	}
	return r
}

// The TypeScript client drives the binary over stdio against a fake Gemini reached through
// GOOGLE_GEMINI_BASE_URL, with the key and output directory in the environment.
func TestTypeScriptClientOverStdio(t *testing.T) {
	sim, err := geminitest.New(geminitest.Config{APIKeys: []string{"interop-key"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	out := t.TempDir()
	r := node(t, []string{"GEMINI_API_KEY=interop-key", "GOOGLE_GEMINI_BASE_URL=" + sim.URL(),
		"NANOBANANA_OUTPUT_DIR=" + out, "HOME=" + t.TempDir()}, "stdio", serverBin)

	if !strings.Contains(strings.Join(r.Tools, ","), "generate_image") {
		t.Errorf("tools/list: %v", r.Tools)
	}
	gen := r.Calls["generate"]
	if gen.Thrown != "" || gen.IsError {
		t.Fatalf("generate_image: %+v", gen)
	}
	if strings.Join(gen.Types, ",") != "text,image" {
		t.Errorf("content types %v", gen.Types)
	}
	path, _ := gen.Structured["path"].(string)
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("saved image: %v", err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil || cfg.Width != 1376 || cfg.Height != 768 || filepath.Dir(path) != out {
		t.Errorf("saved %s %d×%d (%v); want 1376×768 in %s", path, cfg.Width, cfg.Height, err, out)
	}
	for _, k := range []string{"conversation_id", "image_id", "model", "path", "mime_type", "width", "height", "bytes",
		"drafts", "usage", "cost_usd", "attempts", "elapsed_ms"} {
		if _, ok := gen.Structured[k]; !ok {
			t.Errorf("structuredContent lacks %s", k)
		}
	}

	bad := r.Calls["badRatio"]
	if bad.Thrown != "" || !bad.IsError || bad.Structured["category"] != "unsupported_parameter" {
		t.Errorf("a refused ratio must reach the client as a tool error with a Diagnosis: %+v", bad)
	}
	if n := len(sim.Requests()); n != 1 {
		t.Errorf("%d upstream calls; the refused ratio must not be sent", n)
	}
	if ex := r.Calls["explain"]; ex.Thrown != "" || ex.Structured["source"] != "last_failure" {
		t.Errorf("explain_error: %+v", ex)
	}
	if lm := r.Calls["listModels"]; lm.Thrown != "" || lm.IsError {
		t.Errorf("list_models: %+v", lm)
	}
}

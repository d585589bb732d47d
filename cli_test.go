package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// --help prints the flags and exits 0: it did what was asked.
func TestHelpExitsZero(t *testing.T) {
	cmd := exec.Command(os.Args[0], "--help")
	cmd.Env = append(os.Environ(), "NANOBANANA_TEST_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--history-mb") && !strings.Contains(string(out), "-history-mb") {
		t.Errorf("--help printed no flags:\n%s", out)
	}
	if exitCode(errors.New("bad flag"), io.Discard) != 2 {
		t.Error("a bad configuration must exit 2")
	}
}

// check_config under --simulate says the simulator answered, not that a key is accepted.
func TestCheckConfigSaysItIsTheSimulator(t *testing.T) {
	c := startStdio(t, []string{"HOME=" + t.TempDir()}, "--simulate", "--output-dir", t.TempDir())
	res := callTool(t, c, "check_config", map[string]any{})
	var raw string
	for _, ct := range res.Content {
		if tc, ok := mcp.AsTextContent(ct); ok {
			raw += tc.Text
		}
	}
	if strings.Contains(raw, "the key is accepted") || strings.Contains(raw, "this key") || !strings.Contains(raw, "simulator") {
		t.Errorf("check_config under --simulate: %s", raw)
	}
}

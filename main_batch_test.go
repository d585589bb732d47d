package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// startSimulatorProcess runs this binary with --serve-simulator, as its own process that
// outlives the servers, and returns its URL.
func startSimulatorProcess(t *testing.T) string {
	t.Helper()
	_, out := startProcess(t, (*exec.Cmd).StdoutPipe, []string{"NANOBANANA_LOG_LEVEL=error"}, "--serve-simulator", "127.0.0.1:0")
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://") {
		t.Fatalf("the simulator process printed %q (%v), want its URL", line, err)
	}
	return strings.TrimSpace(line)
}

// A batch of 20 over stdio: refused with the invalid request named, then submitted by server
// process 1, which stops; server process 2 (same data directory) follows it and collects 20
// saved images, counted at batch prices. The simulator runs as a process of its own.
func TestStdioBatchAcrossRestart(t *testing.T) {
	simURL := startSimulatorProcess(t)
	home, out := t.TempDir(), t.TempDir()
	environ := []string{"HOME=" + home, "GEMINI_API_KEY=k", "GOOGLE_GEMINI_BASE_URL=" + simURL, "NANOBANANA_OUTPUT_DIR=" + out}
	reqs := make([]any, 20)
	for i := range reqs {
		reqs[i] = map[string]any{"prompt": fmt.Sprintf("icon %d", i), "model": "nano-banana-pro",
			"image_size": []string{"1K", "2K"}[i%2], "aspect_ratio": []string{"1:1", "4:3", "9:16"}[i%3]}
	}
	reqs[12].(map[string]any)["aspect_ratio"] = "7:5"

	c := startStdio(t, environ)
	res := callTool(t, c, "batch_generate", map[string]any{"requests": reqs})
	if !res.IsError || !strings.Contains(firstText(res), "Request 12 of the batch is invalid") {
		t.Fatalf("want request 12 named: %s", firstText(res))
	}
	reqs[12].(map[string]any)["aspect_ratio"] = "1:1"
	var sub struct {
		BatchID string `json:"batch_id"`
		Jobs    int    `json:"jobs"`
		State   string `json:"state"`
	}
	decode(t, callTool(t, c, "batch_generate", map[string]any{"requests": reqs}), &sub)
	if sub.Jobs != 1 || sub.State != "pending" {
		t.Fatalf("submitted: %+v", sub)
	}
	_ = c.Close()

	resp, err := http.Post(strings.TrimSuffix(simURL, "/")+"/_simulator/advance?by=2m", "", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("advancing the simulator: %v %v", resp, err)
	}
	_ = resp.Body.Close()

	c = startStdio(t, environ)
	var got struct {
		State   string `json:"state"`
		Done    int    `json:"done"`
		Results []struct {
			ImageID string `json:"image_id"`
			Path    string `json:"path"`
		} `json:"results"`
	}
	decode(t, callTool(t, c, "get_batch", map[string]any{"batch_id": sub.BatchID, "wait_seconds": 5}), &got)
	if got.State != "succeeded" || got.Done != 20 || len(got.Results) != 20 {
		t.Fatalf("after the restart: %+v", got)
	}
	for i, r := range got.Results {
		if _, err := os.Stat(r.Path); err != nil || r.ImageID == "" {
			t.Errorf("image %d: %+v %v", i, r, err)
		}
	}
	var usage struct {
		BatchImages int `json:"batch_images"`
	}
	decode(t, callTool(t, c, "usage_report", map[string]any{}), &usage)
	if usage.BatchImages != 20 {
		t.Errorf("usage_report counts %d batch images, want 20", usage.BatchImages)
	}
}

func firstText(res *mcp.CallToolResult) string {
	if len(res.Content) == 0 {
		return ""
	}
	if tc, ok := mcp.AsTextContent(res.Content[0]); ok {
		return tc.Text
	}
	return ""
}

func decode(t *testing.T, res *mcp.CallToolResult, v any) {
	t.Helper()
	if res.IsError {
		t.Fatalf("tool error: %s", firstText(res))
	}
	raw, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

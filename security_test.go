package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// A relay (GOOGLE_GEMINI_BASE_URL) with a key that is not in Google's format, whose errors
// echo the key back: the key must appear in no tool result, explain_error, check_config, log
// line or job file, and the URL-signing secret neither.
func TestSecretsEchoedByRelayAreRedactedByValue(t *testing.T) {
	const key = "sk-relay-7fQ2mZp91xLw"
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		got := r.Header.Get("x-goog-api-key")
		fmt.Fprintf(w, `{"error":{"code":400,"message":"Incorrect API key provided: %s. Check %s at the relay.","status":"INVALID_ARGUMENT"}}`, got, got)
	}))
	t.Cleanup(relay.Close)
	home := t.TempDir()
	c := startStdio(t, []string{"HOME=" + home, "GEMINI_API_KEY=" + key, "GOOGLE_API_KEY=",
		"GOOGLE_GEMINI_BASE_URL=" + relay.URL}, "--max-attempts", "1", "--log-level", "debug")
	stderr, _ := client.GetStderr(c)
	var seen []string
	record := func(res *mcp.CallToolResult) {
		for _, ct := range res.Content {
			if tc, ok := ct.(mcp.TextContent); ok {
				seen = append(seen, tc.Text)
			}
		}
		sc, _ := json.Marshal(res.StructuredContent)
		seen = append(seen, string(sc))
	}
	gen := callTool(t, c, "generate_image", map[string]any{"prompt": "a banana"})
	if !gen.IsError {
		t.Fatalf("the relay answers 400, yet generate_image succeeded: %v", gen.Content)
	}
	record(gen)
	job := callTool(t, c, "generate_image", map[string]any{"prompt": "a banana", "async": true})
	record(job)
	var pending struct {
		JobID string `json:"job_id"`
	}
	sc, _ := json.Marshal(job.StructuredContent)
	_ = json.Unmarshal(sc, &pending)
	if pending.JobID != "" {
		record(callTool(t, c, "get_generation", map[string]any{"job_id": pending.JobID, "wait_seconds": 10}))
	}
	record(callTool(t, c, "explain_error", map[string]any{}))
	record(callTool(t, c, "explain_error", map[string]any{"error": "400 Incorrect API key provided: " + key}))
	record(callTool(t, c, "check_config", map[string]any{}))
	_ = c.Close()

	logs, _ := io.ReadAll(stderr)
	seen = append(seen, string(logs))
	_ = filepath.WalkDir(home, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			data, _ := os.ReadFile(path)
			seen = append(seen, path+": "+string(data))
		}
		return nil
	})
	all := strings.Join(seen, "\n")
	if strings.Contains(all, key) {
		for _, s := range seen {
			if strings.Contains(s, key) {
				t.Errorf("the key leaked in:\n%.600s", s)
			}
		}
	}
	if !strings.Contains(all, "[REDACTED]") {
		t.Errorf("nothing was redacted; did the relay's echo reach the results at all?\n%.2000s", all)
	}
}

// Over HTTP the default input roots are the output directory only; over stdio they are the
// user's places, but never the filesystem root that clients often start servers in.
func TestDefaultRootsDependOnTheTransport(t *testing.T) {
	var stderr strings.Builder
	cfg, err := parseConfig([]string{"--transport", "http", "--output-dir", "/srv/out"}, env("HOME", "/home/u"), &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.AllowedRoots) != 1 || cfg.AllowedRoots[0] != "/srv/out" {
		t.Errorf("HTTP default roots %v, want only the output directory", cfg.AllowedRoots)
	}
	t.Chdir("/")
	cfg, err = parseConfig([]string{"--output-dir", "/srv/out"}, env("HOME", "/home/u"), &stderr)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/srv/out", "/home/u", os.TempDir()}
	if strings.Join(cfg.AllowedRoots, ":") != strings.Join(want, ":") {
		t.Errorf("stdio default roots from / are %v, want %v", cfg.AllowedRoots, want)
	}
}

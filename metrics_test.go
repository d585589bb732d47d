package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

var metricsLine = regexp.MustCompile(`msg="serving metrics" addr=(\S+)`)

// startHTTPProcess runs this binary as an HTTP server with a metrics listener of its own and
// returns the MCP base URL and the metrics base URL once both listen.
func startHTTPProcess(t *testing.T, environ []string, args ...string) (mcpURL, metricsURL string) {
	t.Helper()
	_, stderr := startProcess(t, (*exec.Cmd).StderrPipe, environ, append([]string{"--transport", "http",
		"--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"}, args...)...)
	mcpAddr, metricsAddr := make(chan string, 1), make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				mcpAddr <- m[1]
			}
			if m := metricsLine.FindStringSubmatch(sc.Text()); m != nil {
				metricsAddr <- m[1]
			}
		}
	}()
	timeout := time.After(30 * time.Second)
	for mcpURL == "" || metricsURL == "" {
		select {
		case a := <-mcpAddr:
			mcpURL = "http://" + a
		case a := <-metricsAddr:
			metricsURL = "http://" + a
		case <-timeout:
			t.Fatal("the server did not start both listeners")
		}
	}
	return mcpURL, metricsURL
}

// scrape GETs /metrics and returns its status and the samples, keyed by name{labels} as the
// text format writes them.
func scrape(t *testing.T, url, token string) (int, map[string]float64) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	samples := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			samples[line[:i]] = v
		}
	}
	return resp.StatusCode, samples
}

// A user's view of /metrics over HTTP: after one generation that succeeds and one the
// simulator refuses for safety, the counters an operator graphs say so — calls by outcome,
// the failure's category, a cost above zero, the latency histograms' counts — on the token-
// protected MCP listener (401 without the token) and on --metrics-addr without one.
func TestMetricsAfterASuccessAndAFailure(t *testing.T) {
	const token = "metrics-test-token"
	mcpURL, metricsURL := startHTTPProcess(t, []string{"HOME=" + t.TempDir()}, "--simulate",
		"--simulate-faults", "gemini-3-pro-image:safety", "--auth-token", token)

	c, err := client.NewStreamableHttpClient(mcpURL+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := initialize(ctx, c, mcp.LATEST_PROTOCOL_VERSION, "metrics-test"); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	if res := callTool(t, c, "generate_image", map[string]any{"prompt": "a banana", "model": "nano-banana-2.1"}); res.IsError {
		t.Fatalf("generate_image on the simulator failed: %v", res.Content)
	}
	failed := callTool(t, c, "generate_image", map[string]any{"prompt": "a banana", "model": "nano-banana-pro"})
	if !failed.IsError {
		t.Fatal("generate_image succeeded although the simulator refuses every Pro call")
	}
	var diag struct {
		Category string `json:"category"`
	}
	raw, _ := json.Marshal(failed.StructuredContent)
	if err := json.Unmarshal(raw, &diag); err != nil || diag.Category == "" {
		t.Fatalf("the failure carries no category: %s", raw)
	}

	if status, _ := scrape(t, mcpURL, ""); status != http.StatusUnauthorized {
		t.Errorf("/metrics on the MCP listener without the token: status %d, want 401", status)
	}
	status, viaMCP := scrape(t, mcpURL, token)
	if status != http.StatusOK {
		t.Fatalf("/metrics on the MCP listener with the token: status %d", status)
	}
	status, m := scrape(t, metricsURL, "")
	if status != http.StatusOK {
		t.Fatalf("/metrics on --metrics-addr without a token: status %d, want 200", status)
	}
	const ok = `nanobanana_tool_calls_total{outcome="ok",tool="generate_image"}`
	if viaMCP[ok] != 1 {
		t.Errorf("the MCP listener's /metrics says %s = %v, want 1", ok, viaMCP[ok])
	}
	want := map[string]float64{
		ok: 1,
		`nanobanana_tool_calls_total{outcome="error",tool="generate_image"}`:                              1,
		`nanobanana_tool_errors_total{category="` + diag.Category + `",tool="generate_image"}`:            1,
		`nanobanana_generations_total{model="gemini-nano-banana-2.1",outcome="ok"}`:                       1,
		`nanobanana_generations_total{model="gemini-3-pro-image",outcome="error"}`:                        1,
		`nanobanana_generation_errors_total{category="` + diag.Category + `",model="gemini-3-pro-image"}`: 1,
		`nanobanana_upstream_errors_total{category="` + diag.Category + `",model="gemini-3-pro-image"}`:   1,
		`nanobanana_images_total{model="gemini-nano-banana-2.1"}`:                                         1,
		`nanobanana_tool_call_duration_seconds_count{tool="generate_image"}`:                              2,
		`nanobanana_upstream_request_duration_seconds_count{model="gemini-nano-banana-2.1"}`:              1,
		`nanobanana_upstream_request_duration_seconds_count{model="gemini-3-pro-image"}`:                  1,
		`nanobanana_limiter_wait_seconds_count{model="gemini-nano-banana-2.1"}`:                           1,
		`nanobanana_tool_calls_in_flight`:                                                                 0,
		`nanobanana_store_up`:                                                                             1,
		`nanobanana_breaker_state{model="gemini-nano-banana-2.1"}`:                                        0,
	}
	for k, v := range want {
		got, found := m[k]
		if !found || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, found, v)
		}
	}
	if cost := m[`nanobanana_cost_usd_total{model="gemini-nano-banana-2.1"}`]; cost <= 0 {
		t.Errorf("cost of the generated image is %v, want above zero", cost)
	}
	if rss := m["process_resident_memory_bytes"]; rss <= 0 {
		t.Errorf("process_resident_memory_bytes = %v: the process collector is missing", rss)
	}
	for k := range m {
		if strings.Contains(k, "banana\"") || strings.Contains(k, token) {
			t.Errorf("a label carries a prompt or a token: %s", k)
		}
	}
}

// Over stdio --metrics-addr is the only way to metrics: the listener serves them without a
// token while the protocol runs on stdin and stdout.
func TestMetricsOverStdioOnTheirOwnAddress(t *testing.T) {
	c := startStdio(t, []string{"HOME=" + t.TempDir()}, "--simulate", "--metrics-addr", "127.0.0.1:0")
	stderr, _ := client.GetStderr(c)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := metricsLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var url string
	select {
	case a := <-found:
		url = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not log its metrics address")
	}
	if res := callTool(t, c, "generate_image", map[string]any{"prompt": "a banana"}); res.IsError {
		t.Fatalf("generate_image: %v", res.Content)
	}
	status, m := scrape(t, url, "")
	const ok = `nanobanana_tool_calls_total{outcome="ok",tool="generate_image"}`
	if status != http.StatusOK || m[ok] != 1 {
		t.Errorf("status %d, %s = %v; want 200 and 1", status, ok, m[ok])
	}
}

func TestConfigRejectsAMetricsAddressWithoutAPort(t *testing.T) {
	var stderr strings.Builder
	_, err := parseConfig([]string{"--metrics-addr", "9464"}, env("HOME", t.TempDir()), &stderr)
	if err == nil || !strings.Contains(err.Error(), `--metrics-addr "9464" is not a host:port address`) {
		t.Errorf("--metrics-addr 9464: %v", err)
	}
}

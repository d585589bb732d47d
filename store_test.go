package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/internal/redistest"
)

func TestStoreFlagAndItsEnvironmentTwin(t *testing.T) {
	var stderr bytes.Buffer
	cfg, err := parseConfig(nil, env("HOME", "/h", "NANOBANANA_STORE", "redis://:pw@redis.internal:6379/2", "NANOBANANA_JOB_LEASE", "5s"), &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StoreOptions.Store != "redis://:pw@redis.internal:6379/2" || !cfg.StoreOptions.Shared() || cfg.JobLease.Seconds() != 5 {
		t.Errorf("store %q lease %s", cfg.StoreOptions.Store, cfg.JobLease)
	}
	cfg, err = parseConfig(nil, env("HOME", "/h"), &stderr)
	if err != nil || cfg.StoreOptions.Shared() {
		t.Errorf("the default store must be the file store: %q %v", cfg.StoreOptions.Store, err)
	}
	for _, bad := range []string{"http://:hunter2@redis.internal:6379", "redis://:hunter2@redis.internal:notaport/0"} {
		_, err := parseConfig([]string{"--store", bad}, env("HOME", "/h"), &stderr)
		if err == nil || !strings.HasPrefix(err.Error(), "--store: ") || strings.Contains(err.Error(), "hunter2") ||
			!strings.Contains(err.Error(), "redis://") || strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("--store %s: %v; want one sentence naming the flag and the form, never the password", bad, err)
		}
	}
	if _, err := parseConfig([]string{"--job-lease", "100ms"}, env("HOME", "/h"), &stderr); err == nil || !strings.Contains(err.Error(), "--job-lease") {
		t.Errorf("a lease shorter than its renewals: %v", err)
	}
}

// A Redis that does not answer at start-up stops the server with one sentence naming the host
// and what to do, never the password, in the error or the log.
func TestUnreachableRedisAtStartUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	var stderr bytes.Buffer
	err = run(context.Background(), []string{"--simulate", "--store", "redis://:hunter2@" + addr + "/0"},
		env("HOME", t.TempDir()), strings.NewReader(""), io.Discard, &stderr)
	if err == nil {
		t.Fatal("the server started without its store")
	}
	msg := err.Error()
	if !strings.Contains(msg, addr) || !strings.Contains(msg, "check that Redis is running") || strings.Contains(msg+stderr.String(), "hunter2") {
		t.Errorf("start-up error %q (log %q); want the host, what to do, and no password", msg, stderr.String())
	}
}

// /healthz's store part: ok while Redis answers, an error (without the password) once it does
// not, and "file" for the default store.
func TestStoreHealth(t *testing.T) {
	srv := redistest.Start(t)
	cfg, err := parseConfig([]string{"--store", srv.URLFor(1)}, env("HOME", t.TempDir()), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a := &app{}
	t.Cleanup(a.close)
	st, err := openStores(context.Background(), a, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if h := st.health(context.Background()); h.Kind != "redis" || h.Status != "ok" || !strings.Contains(h.Where, srv.Addr) {
		t.Errorf("health with Redis up: %+v", h)
	}
	srv.Kill()
	h := st.health(context.Background())
	if h.Status != "error" || !strings.Contains(h.Error, srv.Addr) {
		t.Errorf("health with Redis down: %+v", h)
	}

	cfg, err = parseConfig(nil, env("HOME", t.TempDir()), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if st, err = openStores(context.Background(), a, cfg, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if h := st.health(context.Background()); h.Kind != "file" || h.Status != "ok" {
		t.Errorf("health of the file store: %+v", h)
	}
	// A data directory gone from under the server (an unmounted volume) is an error.
	if err := os.RemoveAll(cfg.StoreDir); err != nil {
		t.Fatal(err)
	}
	if h := st.health(context.Background()); h.Status != "error" || st.ping(context.Background()) == nil {
		t.Errorf("health of a file store whose directory is gone: %+v", h)
	}
}

// Under --simulate the server is ready without a key, and /healthz does not claim one.
func TestHealthUnderSimulateClaimsNoKey(t *testing.T) {
	cfg, err := parseConfig([]string{"--simulate"}, env("HOME", t.TempDir()), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a, err := wire(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	if h := a.health(); h.Upstream != "simulator" || h.KeyPresent || !h.Ready {
		t.Errorf("health under --simulate: %+v, want the simulator, ready, no key", h)
	}
}

// Two server processes (the real binary over stdio) on one Redis and one simulator process,
// with separate data directories and a shared --output-dir: a conversation started by the
// first is continued by the second, history and all, and the second's usage_report counts the
// first's call.
func TestTwoProcessesShareConversationsThroughRedis(t *testing.T) {
	simURL := startSimulatorProcess(t)
	url, out := redistest.URL(t), t.TempDir()
	environ := func() []string {
		return []string{"HOME=" + t.TempDir(), "GEMINI_API_KEY=k", "GOOGLE_GEMINI_BASE_URL=" + simURL,
			"NANOBANANA_OUTPUT_DIR=" + out, "NANOBANANA_STORE=" + url}
	}
	a, b := startStdio(t, environ()), startStdio(t, environ())
	decodeOK := func(res *mcp.CallToolResult, v any) {
		t.Helper()
		if res.IsError {
			t.Fatalf("tool error: %s", firstText(res))
		}
		decode(t, res, v)
	}
	var first, second struct {
		ConversationID string `json:"conversation_id"`
		Turn           int    `json:"turn"`
	}
	decodeOK(callTool(t, a, "generate_image", map[string]any{"prompt": "a red bicycle", "output": "path"}), &first)
	decodeOK(callTool(t, b, "edit_image", map[string]any{"prompt": "make it blue", "conversation_id": first.ConversationID, "output": "path"}), &second)
	if second.ConversationID != first.ConversationID || second.Turn != 2 {
		t.Errorf("the second process continuing the first's conversation: %+v", second)
	}
	var usage struct {
		Calls int `json:"calls"`
	}
	decodeOK(callTool(t, b, "usage_report", map[string]any{}), &usage)
	if usage.Calls != 2 {
		t.Errorf("usage_report on the second process counts %d calls; want both processes' 2", usage.Calls)
	}
}

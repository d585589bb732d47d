package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/server"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// --store-dir X/conversations once put jobs and rate-limit state in X and deleted any *.json
// in X/jobs it could not parse. Everything the server writes now lives inside the store it
// created, and the user's files beside it are left as they were.
func TestStoreDirKeepsEverythingInside(t *testing.T) {
	x := t.TempDir()
	foreign := map[string]string{
		filepath.Join(x, "jobs", "config.json"): `{"user": "settings"}`,
		filepath.Join(x, "jobs", "broken.json"): `{not json`,
		filepath.Join(x, "ratelimit.json"):      `my own file`,
		filepath.Join(x, "lifecycle.json"):      `also mine`,
	}
	for p, body := range foreign {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	store := filepath.Join(x, "conversations")
	c := startStdio(t, []string{"HOME=" + t.TempDir()}, "--simulate", "--output-dir", t.TempDir(), "--store-dir", store)
	res := callTool(t, c, "generate_image", map[string]any{"prompt": "a kite", "async": true, "output": "path"})
	var pending struct {
		JobID string `json:"job_id"`
	}
	raw, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(raw, &pending)
	if pending.JobID == "" {
		t.Fatalf("no job: %s", raw)
	}
	if res := callTool(t, c, "get_generation", map[string]any{"job_id": pending.JobID, "wait_seconds": 30}); res.IsError {
		t.Fatalf("get_generation: %v", res.Content)
	}
	if _, err := os.Stat(filepath.Join(store, "jobs", pending.JobID+".json")); err != nil {
		t.Errorf("the job is not kept inside the store: %v", err)
	}
	_ = c.Close()
	for p, body := range foreign {
		if got, err := os.ReadFile(p); err != nil || string(got) != body {
			t.Errorf("%s, a file the server did not write, was changed: %q %v", p, got, err)
		}
	}
}

// Three servers started at the same moment on a fresh HOME (Claude Desktop and Claude Code on
// first use) all start and serve.
func TestConcurrentFirstStartOfServers(t *testing.T) {
	home := t.TempDir()
	var clients []*client.Client
	for range 3 {
		c, err := client.NewStdioMCPClient(os.Args[0], []string{"HOME=" + home, "XDG_DATA_HOME=", "NANOBANANA_TEST_MAIN=1"}, "--simulate")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		clients = append(clients, c)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(clients))
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := initialize(ctx, c, mcp.LATEST_LEGACY_PROTOCOL_VERSION, "first-start"); err != nil {
				errs <- err
				return
			}
			if _, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a server did not start: %v", err)
	}
}

// --store-dir naming a directory that is not the server's (not empty, no marker) stops the
// server at start with one sentence, and nothing is read from or written into it: the store
// is opened before the quota and lifecycle state that live inside it.
func TestStoreDirNotOursIsLeftAlone(t *testing.T) {
	x := t.TempDir()
	if err := os.WriteFile(filepath.Join(x, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"--simulate", "--store-dir", x, "--output-dir", t.TempDir()},
		env("HOME", t.TempDir()), nil, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "is not a session store") || !strings.Contains(err.Error(), "set --store-dir") {
		t.Fatalf("a foreign --store-dir: %v", err)
	}
	entries, _ := os.ReadDir(x)
	if len(entries) != 1 || entries[0].Name() != "notes.txt" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the server wrote into a directory it did not create: %v", names)
	}
}

// Every default the flags show is the one its package applies: config.go writes none itself.
func TestConfigDefaultsComeFromThePackages(t *testing.T) {
	var stderr bytes.Buffer
	cfg, err := parseConfig(nil, env("HOME", t.TempDir()), &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.ClientOptions, gemini.DefaultClientOptions()) ||
		!reflect.DeepEqual(cfg.ResilienceOptions, gemini.DefaultResilienceOptions()) {
		t.Errorf("gemini options %+v %+v differ from the package's defaults", cfg.ClientOptions, cfg.ResilienceOptions)
	}
	if s := session.DefaultStoreOptions(); cfg.ConvTTL != s.ConvTTL || cfg.Budget() != session.DefaultBudget {
		t.Errorf("session options %+v differ from the package's defaults", cfg.StoreOptions)
	}
	if h := server.DefaultHTTPOptions(); cfg.Addr != h.Addr || cfg.SessionTTL != h.SessionTTL ||
		cfg.Security.MaxBody != h.Security.MaxBody || cfg.Workers != server.DefaultWorkers || cfg.Grace != server.DefaultGrace {
		t.Errorf("server options %+v differ from the package's defaults", cfg.HTTPOptions)
	}
	if o := tools.DefaultOptions(); cfg.Client != o.Client || cfg.URLTTL != o.URLTTL || cfg.ProgressEvery != o.ProgressEvery {
		t.Errorf("tools options %+v differ from the package's defaults", cfg.Options)
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The harness runs as the README says and prints its table; only the start-up rows here, to
// keep the test short (the whole run takes minutes).
func TestBenchPrintsATable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the server binary")
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-quick", "-only", "startup"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, row := range []string{"| tools/list size (model-visible part) |", "| cold start to initialize (median) |", "| idle RSS |"} {
		if !strings.Contains(out.String(), row) {
			t.Errorf("no %q row in\n%s", row, out.String())
		}
	}
}

// -profile builds the server with its pprof endpoint and leaves the server's CPU, allocation,
// block and mutex profiles, a goroutine dump and an execution trace, and the harness's CPU
// profile, for `go tool pprof` and `go tool trace`.
func TestBenchProfilesTheServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the server binary")
	}
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-quick", "-only", "profile", "-profile", dir, "-profile-seconds", "1"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "| profiled: 1K, 16 in flight, output preview |") {
		t.Errorf("no profile row in\n%s", out.String())
	}
	for _, name := range []string{"cpu.pprof", "allocs.pprof", "block.pprof", "mutex.pprof", "goroutines.txt", "trace.out", "harness.pprof"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

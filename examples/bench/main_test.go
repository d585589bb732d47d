package main

import (
	"bytes"
	"context"
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

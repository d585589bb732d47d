package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"testing"
)

// The README's first command, run as a user would on a machine without a key.
func TestQuickstartWithSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server binary")
	}
	out := t.TempDir()
	bin, err := buildServer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(bin[:len(bin)-len("/nanobanana-mcp")]) })
	t.Setenv("GEMINI_API_KEY", "")
	t.Setenv("GOOGLE_API_KEY", "")
	var stdout bytes.Buffer
	getenv := func(string) string { return "" }
	if err := run(context.Background(), []string{"-server", bin, "-output-dir", out, "-ratio", "16:9"}, getenv, &stdout); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	m := regexp.MustCompile(`Your image: (\S+)\n\((\d+)×(\d+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no image path printed:\n%s", stdout.String())
	}
	if _, err := os.Stat(m[1]); err != nil {
		t.Errorf("printed path does not exist: %v", err)
	}
	if m[2] != "1376" || m[3] != "768" {
		t.Errorf("image is %s×%s; want 1376×768 for 16:9 on Nano Banana 2", m[2], m[3])
	}
	e := regexp.MustCompile(`Edited image: (\S+)\n`).FindStringSubmatch(stdout.String())
	if e == nil || e[1] == m[1] {
		t.Fatalf("no edited image printed:\n%s", stdout.String())
	}
	if _, err := os.Stat(e[1]); err != nil {
		t.Errorf("edited image: %v", err)
	}
}

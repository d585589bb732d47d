package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	flagRE = regexp.MustCompile(`(?:^|[\s"\[,])--([a-z][a-z0-9-]*)`)
	envRE  = regexp.MustCompile(`\b(NANOBANANA_[A-Z0-9_]+)\b`)
)

// The client guides must parse and name only flags and variables that exist.
func TestClientExamples(t *testing.T) {
	files, _ := filepath.Glob("examples/clients/*")
	if len(files) < 5 {
		t.Fatalf("expected the client guides, found %v", files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".json") {
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
		if strings.HasSuffix(f, ".md") {
			continue
		}
		for _, m := range flagRE.FindAllStringSubmatch(string(data), -1) {
			checkFlag(t, f, m[1])
		}
		for _, m := range envRE.FindAllStringSubmatch(string(data), -1) {
			checkFlag(t, f, strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(m[1], envPrefix), "_", "-")))
		}
	}
}

func checkFlag(t *testing.T, file, name string) {
	t.Helper()
	if name == "scope" { // claude mcp add's own flag
		return
	}
	var stderr bytes.Buffer
	_, err := parseConfig([]string{"--" + name + "=x"}, env("HOME", "/h"), &stderr)
	if err != nil && strings.Contains(err.Error(), "flag provided but not defined") {
		t.Errorf("%s names --%s, which does not exist", file, name)
	}
}

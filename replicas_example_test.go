package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// examples/replicas cannot be run here (no Docker), so its parts are checked against each
// other and against the server: the replicas' command line is a valid configuration, and both
// load balancers send traffic to the replicas compose.yaml defines, on the port they listen on.
func TestReplicasExampleIsConsistent(t *testing.T) {
	compose, err := os.ReadFile("examples/replicas/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^\s+command: (\["--transport".*\])$`).FindSubmatch(compose)
	if line == nil {
		t.Fatal("compose.yaml has no one-line replica command starting with --transport")
	}
	var args []string
	if err := json.Unmarshal(line[1], &args); err != nil {
		t.Fatalf("the replica command is not a one-line list: %v", err)
	}
	tmp := t.TempDir()
	tokens := filepath.Join(tmp, "tokens")
	if err := os.WriteFile(tokens, []byte("dify=0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := ""
	for i, a := range args {
		switch {
		case i > 0 && args[i-1] == "--auth-tokens-file":
			args[i] = tokens // the compose secret
		case i > 0 && args[i-1] == "--output-dir":
			args[i] = filepath.Join(tmp, "images") // the shared volume
		case i > 0 && args[i-1] == "--addr":
			_, port, _ = net.SplitHostPort(a)
		}
	}
	var stderr bytes.Buffer
	_, err = parseConfig(args, env("HOME", tmp, "GEMINI_API_KEY", "k"), &stderr)
	if err != nil {
		t.Fatalf("compose.yaml's replica command is refused by the server: %v", err)
	}
	services := regexp.MustCompile(`(?m)^  (replica\d+): \*replica$`).FindAllSubmatch(compose, -1)
	if len(services) != 3 {
		t.Fatalf("compose.yaml defines %d replicas, want 3", len(services))
	}
	for _, lb := range []string{"haproxy.cfg", "nginx.conf"} {
		conf, err := os.ReadFile(filepath.Join("examples/replicas", lb))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range services {
			if want := string(s[1]) + ":" + port; !strings.Contains(string(conf), want) {
				t.Errorf("%s does not send traffic to %s", lb, want)
			}
		}
	}
}

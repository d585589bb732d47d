package redistest

import (
	"strings"
	"testing"
)

// Two tests' databases differ, and a private server stops when killed.
func TestURLAndStart(t *testing.T) {
	a, b := URL(t), URL(t)
	if a == b || !strings.HasPrefix(a, "redis://127.0.0.1:") {
		t.Fatalf("URLs %q and %q", a, b)
	}
	if err := shared.ping(); err != nil {
		t.Fatal(err)
	}
	s := Start(t)
	if err := s.ping(); err != nil {
		t.Fatal(err)
	}
	if err := s.Do("-n", "3", "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := s.ping(); err == nil {
		t.Fatal("the killed server still answers")
	}
}

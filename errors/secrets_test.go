package errors

import (
	"bytes"
	stderrors "errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRegisteredSecretsAreRedactedByValue(t *testing.T) {
	t.Cleanup(ForgetSecrets)
	RegisterSecret("sk-proj-Abc123xyz", "tok", "") // too short and empty values are ignored
	got := Sanitize("relay said: invalid sk-proj-Abc123xyz (a token of yours)")
	if strings.Contains(got, "sk-proj-Abc123xyz") || !strings.Contains(got, "[REDACTED]") {
		t.Errorf("Sanitize = %q", got)
	}
	if !strings.Contains(got, "token of yours") {
		t.Errorf("a short registered value redacted ordinary words: %q", got)
	}
	if b := RedactSecrets([]byte(`{"text":"sk-proj-Abc123xyz"}`)); bytes.Contains(b, []byte("sk-proj")) {
		t.Errorf("RedactSecrets = %s", b)
	}

	var buf bytes.Buffer
	log := slog.New(RedactHandler(slog.NewJSONHandler(&buf, nil)))
	log.With("base", "sk-proj-Abc123xyz").Warn("upstream said sk-proj-Abc123xyz",
		"error", stderrors.New("400: sk-proj-Abc123xyz"), slog.Group("g", "k", "sk-proj-Abc123xyz"))
	if strings.Contains(buf.String(), "sk-proj") || strings.Count(buf.String(), "[REDACTED]") != 4 {
		t.Errorf("log line = %s", buf.String())
	}
}

// ForgetSecrets drops every registered value, for tests that register their own.
func ForgetSecrets() {
	secrets.mu.Lock()
	secrets.values = nil
	secrets.mu.Unlock()
}

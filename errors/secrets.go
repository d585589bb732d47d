package errors

import (
	"bytes"
	"sort"
	"strings"
	"sync"
)

// The configured secrets are redacted by value as well as by pattern: a key for a relay
// (GOOGLE_GEMINI_BASE_URL) need not look like a Google key, and an upstream that echoes it
// back must not put it in a tool result, a log line or a job file.
var secrets struct {
	mu     sync.RWMutex
	values []string // longest first, so a secret containing another is replaced whole
}

// minSecretLen keeps very short values (a test token "x") from redacting ordinary words.
const minSecretLen = 6

// RegisterSecret adds a value (the API key, a bearer token, the URL-signing secret) that
// Sanitize replaces wherever it appears. Empty and very short values are ignored.
func RegisterSecret(values ...string) {
	secrets.mu.Lock()
	defer secrets.mu.Unlock()
	for _, v := range values {
		v = strings.TrimSpace(v)
		if len(v) < minSecretLen || containsString(secrets.values, v) {
			continue
		}
		secrets.values = append(secrets.values, v)
	}
	sort.Slice(secrets.values, func(i, j int) bool { return len(secrets.values[i]) > len(secrets.values[j]) })
}

// redactValues replaces every registered secret in s.
func redactValues(s string) string {
	secrets.mu.RLock()
	defer secrets.mu.RUnlock()
	for _, v := range secrets.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "[REDACTED]")
		}
	}
	return s
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// RedactSecrets replaces every registered secret in data, for files the server writes (job
// results) where running the patterns over megabytes of base64 would cost too much.
func RedactSecrets(data []byte) []byte {
	secrets.mu.RLock()
	defer secrets.mu.RUnlock()
	for _, v := range secrets.values {
		if bytes.Contains(data, []byte(v)) {
			data = bytes.ReplaceAll(data, []byte(v), []byte("[REDACTED]"))
		}
	}
	return data
}

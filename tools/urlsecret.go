package tools

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// SharedURLSecret returns the secret that signs image URLs on every replica sharing rec: the
// first replica to start makes a random one and stores it if none is stored (PutIfAbsent),
// and every other replica reads that one, so a URL minted on one replica works on all. It
// is used when --url-secret is not given.
func SharedURLSecret(ctx context.Context, rec session.Records) ([]byte, error) {
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh)
	value, _ := json.Marshal(map[string]string{"secret": base64.StdEncoding.EncodeToString(fresh)})
	stored, _, err := rec.PutIfAbsent(ctx, "state", "url-secret", value)
	if err != nil {
		return nil, fmt.Errorf("reading the shared URL secret: %w", err)
	}
	var v struct{ Secret string }
	if err := json.Unmarshal(stored, &v); err != nil {
		return nil, fmt.Errorf("reading the shared URL secret: %w", err)
	}
	secret, err := base64.StdEncoding.DecodeString(v.Secret)
	if err != nil || len(secret) < 16 {
		return nil, fmt.Errorf("the shared URL secret in the store is damaged; delete the record state/url-secret or set --url-secret")
	}
	return secret, nil
}

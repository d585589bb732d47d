package session

import "context"

// LocalUser is the principal of the person running the server: every stdio client, and HTTP
// clients on loopback when no token is configured.
const LocalUser = "local"

type principalKey struct{}

// WithPrincipal returns ctx carrying the authenticated principal that owns what a call
// stores. The HTTP transports set it from the bearer token.
func WithPrincipal(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, principalKey{}, name)
}

// Principal returns the principal ctx carries, LocalUser when none: stdio, and HTTP without
// a token (allowed only on loopback unless the operator opts out), are the local user.
func Principal(ctx context.Context) string {
	if p, ok := ctx.Value(principalKey{}).(string); ok && p != "" {
		return p
	}
	return LocalUser
}

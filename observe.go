package main

import (
	"context"
	"os"
)

// storeHealth is the ping /metrics reports the store's health with: a store that can be pinged
// (Redis) answers PING; the file store's directory must still be there (a shared volume
// unmounted under a running server is the failure worth an alert).
func storeHealth(store any, dir string) func(context.Context) error {
	if p, ok := store.(interface{ Ping(context.Context) error }); ok {
		return p.Ping
	}
	return func(context.Context) error {
		_, err := os.Stat(dir)
		return err
	}
}

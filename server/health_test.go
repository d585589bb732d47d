package server

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// /healthz reports the store as the wiring says, asked on each probe, and stays 200 when the
// store has an error: the load balancer keeps the replica, the operator sees why.
func TestHealthzReportsTheStore(t *testing.T) {
	s := New(Options{Name: "test", Version: "1", Tools: newTestTools().list(), Grace: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := make(chan string, 1), make(chan error, 1)
	var down atomic.Bool
	go func() {
		done <- s.ServeHTTP(ctx, HTTPOptions{Addr: "127.0.0.1:0", KeepAlive: time.Hour,
			StoreHealth: func(context.Context) StoreHealth {
				if down.Load() {
					return StoreHealth{Kind: "redis", Where: "redis://10.0.0.5:6379/0", Status: "error", Error: "the Redis store does not answer"}
				}
				return StoreHealth{Kind: "redis", Where: "redis://10.0.0.5:6379/0", Status: "ok"}
			},
			Ready: func(a string) { addr <- a }})
	}()
	url := "http://" + <-addr + "/healthz"
	t.Cleanup(func() { cancel(); <-done })
	get := func() (int, StoreHealth) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Store StoreHealth `json:"store"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body.Store
	}
	if code, st := get(); code != 200 || st.Kind != "redis" || st.Status != "ok" || st.Where == "" {
		t.Errorf("store up: %d %+v", code, st)
	}
	down.Store(true)
	if code, st := get(); code != 200 || st.Status != "error" || st.Error == "" {
		t.Errorf("store down: %d %+v", code, st)
	}
}

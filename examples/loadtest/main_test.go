package main

import (
	"context"
	"testing"
)

// A small run: every call succeeds, and goroutines and file descriptors come back down once
// the clients and the server are gone.
func TestLoadLeavesNothingBehind(t *testing.T) {
	r, err := load(context.Background(), 4, 5, "512", 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 0 || r.Calls != 20 {
		t.Fatalf("%+v", r)
	}
	if r.Goroutines > r.GoroutinesBefore+2 || (r.FDsBefore >= 0 && r.FDs > r.FDsBefore+2) {
		t.Errorf("goroutines %d → %d, fds %d → %d: something leaked", r.GoroutinesBefore, r.Goroutines, r.FDsBefore, r.FDs)
	}
}

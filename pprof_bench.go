//go:build benchprofile

package main

import (
	"net"
	"net/http"
	_ "net/http/pprof" // the profiles examples/bench -profile fetches
	"os"
)

// A server built with -tags benchprofile (examples/bench -profile does) serves net/http/pprof
// on the loopback address in NANOBANANA_BENCH_PPROF, so the bench can profile the server
// process while it is under load. Release builds carry none of this.
func init() {
	addr := os.Getenv("NANOBANANA_BENCH_PPROF")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return
	}
	go func() { _ = http.Serve(ln, nil) }()
}

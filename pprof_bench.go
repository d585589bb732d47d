//go:build benchprofile

package main

import (
	"net"
	"net/http"
	_ "net/http/pprof" // the profiles examples/bench -profile fetches
	"os"
	"runtime"
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
	// Where calls wait off the CPU (channels, locks, the decode slots) shows in the block and
	// mutex profiles; a blocking event of 10 µs or more is sampled, and one mutex contention in 5.
	runtime.SetBlockProfileRate(10_000)
	runtime.SetMutexProfileFraction(5)
	go func() { _ = http.Serve(ln, nil) }()
}

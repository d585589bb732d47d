package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync/atomic"
	"time"
)

// profile runs 1K default-output calls with 16 in flight against a server built with
// -tags benchprofile while its CPU is profiled for secs seconds, then saves the CPU profile
// and the allocation, block and mutex profiles in dir (cpu.pprof, allocs.pprof, block.pprof,
// mutex.pprof), a goroutine dump taken halfway (goroutines.txt) and a three-second execution trace after it
// (trace.out, for `go tool trace`), and the CPU profile of this
// process, the simulator and the client (harness.pprof): `go tool pprof -top` reads them.
// It runs apart from the throughput rows, so profiling does not change their figures.
func (b *bench) profile(ctx context.Context, dir string, secs int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	p, _, err := startEnv(ctx, b.bin, b.sim, []string{"NANOBANANA_BENCH_PPROF=" + addr})
	if err != nil {
		return err
	}
	defer p.close()
	args := b.gen("1K", "preview")
	if err := b.warm(ctx, p, "1K"); err != nil {
		return err
	}
	var stop atomic.Bool
	done := make(chan error, 16)
	var calls atomic.Int64
	for range 16 {
		go func() {
			for !stop.Load() {
				calls.Add(1)
				if _, err := p.call(ctx, "generate_image", args); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	// The harness (simulator and client) is profiled too: it shares the cores.
	hf, err := os.Create(filepath.Join(dir, "harness.pprof"))
	if err != nil {
		return err
	}
	defer hf.Close()
	if err := pprof.StartCPUProfile(hf); err != nil {
		return err
	}
	cpu0, h0 := p.cpu(), procCPU(os.Getpid())
	// The goroutine dump is taken while the load runs, so it shows where the 16 calls wait.
	gerr := make(chan error, 1)
	go func() {
		select {
		case <-time.After(time.Duration(secs) * time.Second / 2):
			err := fetch(ctx, "http://"+addr+"/debug/pprof/goroutine?debug=2", filepath.Join(dir, "goroutines.txt"))
			if err == nil {
				err = fetch(ctx, "http://"+addr+"/debug/pprof/trace?seconds=3", filepath.Join(dir, "trace.out"))
			}
			gerr <- err
		case <-ctx.Done():
			gerr <- ctx.Err()
		}
	}()
	err = fetch(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), filepath.Join(dir, "cpu.pprof"))
	if gr := <-gerr; err == nil {
		err = gr
	}
	cpu, harness := p.cpu()-cpu0, procCPU(os.Getpid())-h0
	pprof.StopCPUProfile()
	stop.Store(true)
	for range 16 {
		if ferr := <-done; err == nil {
			err = ferr
		}
	}
	if err != nil {
		return err
	}
	for _, name := range []string{"allocs", "block", "mutex"} {
		if err := fetch(ctx, "http://"+addr+"/debug/pprof/"+name, filepath.Join(dir, name+".pprof")); err != nil {
			return err
		}
	}
	perCall := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(calls.Load()) }
	b.row("profiled: 1K, 16 in flight, output preview", "%d calls, CPU per call: server %.1f ms, harness %.1f ms; profiles in %s",
		calls.Load(), perCall(cpu), perCall(harness), dir)
	return nil
}

func fetch(ctx context.Context, url, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetching a profile (is the server built with -tags benchprofile?): %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

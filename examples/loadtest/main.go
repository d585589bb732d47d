// Loadtest drives the server over Streamable HTTP with N concurrent MCP clients against the
// built-in simulator (zero upstream latency by default) and reports calls per second, latency
// percentiles, the same percentiles for bare SDK calls (so the difference is what the server
// adds), memory, and whether goroutines and file descriptors came back down afterwards. All
// traffic stays on loopback and the run is bounded by -clients × -calls.
//
//	go run ./examples/loadtest -clients 16 -calls 50
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"google.golang.org/genai"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/server"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// Report is what one run measured.
type Report struct {
	Clients, Calls, Errors       int
	Elapsed                      time.Duration
	PerSecond                    float64
	P50, P99, BareP50, BareP99   time.Duration
	HeapMB, PeakRSSMB            float64
	GoroutinesBefore, Goroutines int
	FDsBefore, FDs               int
}

func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	clients := fs.Int("clients", 16, "concurrent MCP clients")
	calls := fs.Int("calls", 50, "generate_image calls per client")
	size := fs.String("size", "1K", "image size")
	latency := fs.Duration("latency", 0, "simulated upstream latency")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r, err := load(ctx, *clients, *calls, *size, *latency)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d clients, %d calls in all at %s: %d errors, %.0f calls/s\n", r.Clients, r.Calls, *size, r.Errors, r.PerSecond)
	fmt.Fprintf(w, "latency through the server p50 %v p99 %v; bare SDK p50 %v p99 %v\n", r.P50, r.P99, r.BareP50, r.BareP99)
	fmt.Fprintf(w, "heap in use %.1f MB, peak RSS %.1f MB\n", r.HeapMB, r.PeakRSSMB)
	fmt.Fprintf(w, "goroutines %d → %d, open files %d → %d\n", r.GoroutinesBefore, r.Goroutines, r.FDsBefore, r.FDs)
	return nil
}

func load(ctx context.Context, clients, calls int, size string, latency time.Duration) (*Report, error) {
	rep := &Report{Clients: clients, Calls: clients * calls, GoroutinesBefore: runtime.NumGoroutine(), FDsBefore: openFDs()}
	sim, err := geminitest.New(geminitest.Config{Latency: latency, RecordLimit: -1})
	if err != nil {
		return nil, err
	}
	defer sim.Close()
	gc, err := gemini.NewClient(ctx, gemini.Config{APIKey: "load", BaseURL: sim.URL()})
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "nanobanana-load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	store, err := session.Open(dir+"/conversations", session.Options{})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	// The same path as the server: every generation is saved and recorded as a conversation.
	set := tools.New(tools.Wiring{Gemini: gc, Images: &session.Images{Dir: dir}, Store: store,
		Inputs: tools.InputOptions{AllowedRoots: []string{dir}}})
	srv := server.New(server.Options{Name: "load", Version: "0", Tools: set.All(), Logger: slog.New(slog.DiscardHandler)})
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	addr := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		served <- srv.ServeHTTP(sctx, server.HTTPOptions{Addr: "127.0.0.1:0", Ready: func(a string) { addr <- a }})
	}()
	url := "http://" + <-addr + "/mcp"

	args := map[string]any{"prompt": "load", "model": "gemini-3.1-flash-image", "image_size": size, "output": "path"} // the model the bare SDK path calls
	lat, errs, elapsed := fanOut(clients, calls, func() (func() error, func(), error) {
		c, err := client.NewStreamableHttpClient(url)
		if err != nil {
			return nil, nil, err
		}
		if err := c.Start(ctx); err != nil {
			return nil, nil, err
		}
		var init mcp.InitializeRequest
		init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
		init.Params.ClientInfo = mcp.Implementation{Name: "load", Version: "0"}
		if _, err := c.Initialize(ctx, init); err != nil {
			return nil, nil, err
		}
		return func() error {
			var req mcp.CallToolRequest
			req.Params.Name, req.Params.Arguments = "generate_image", args
			res, err := c.CallTool(ctx, req)
			if err == nil && res.IsError {
				err = fmt.Errorf("tool error")
			}
			return err
		}, func() { _ = c.Close() }, nil
	})
	rep.Errors, rep.Elapsed = errs, elapsed
	rep.PerSecond = float64(rep.Calls) / elapsed.Seconds()
	rep.P50, rep.P99 = pct(lat, 50), pct(lat, 99)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rep.HeapMB = float64(ms.HeapInuse) / (1 << 20)
	rep.PeakRSSMB = peakRSSMB()

	sdk, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: "load", Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: sim.URL()}})
	if err != nil {
		return nil, err
	}
	cfg := &genai.GenerateContentConfig{ResponseModalities: []string{"TEXT", "IMAGE"}, ImageConfig: &genai.ImageConfig{ImageSize: size},
		ThinkingConfig: &genai.ThinkingConfig{IncludeThoughts: true}}
	bare, _, _ := fanOut(clients, calls, func() (func() error, func(), error) {
		return func() error {
			resp, err := sdk.Models.GenerateContent(ctx, "gemini-3.1-flash-image", genai.Text("load"), cfg)
			if err != nil {
				return err
			}
			parts := resp.Candidates[0].Content.Parts
			return session.WriteFileAtomic(dir+"/bare.png", parts[len(parts)-1].InlineData.Data, 0o644)
		}, func() {}, nil
	})
	rep.BareP50, rep.BareP99 = pct(bare, 50), pct(bare, 99)

	stop()
	if err := <-served; err != nil {
		return nil, err
	}
	sim.Close()
	settle(rep)
	return rep, nil
}

// fanOut runs clients × calls, each client on its own goroutine with its own connection.
func fanOut(clients, calls int, open func() (call func() error, close func(), err error)) ([]time.Duration, int, time.Duration) {
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call, closeFn, err := open()
			if err != nil {
				mu.Lock()
				errs += calls
				mu.Unlock()
				return
			}
			defer closeFn()
			for range calls {
				t := time.Now()
				err := call()
				d := time.Since(t)
				mu.Lock()
				lat = append(lat, d)
				if err != nil {
					errs++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return lat, errs, time.Since(start)
}

// settle waits briefly for connections and goroutines to wind down before counting them.
func settle(rep *Report) {
	for range 100 {
		runtime.GC()
		rep.Goroutines, rep.FDs = runtime.NumGoroutine(), openFDs()
		if rep.Goroutines <= rep.GoroutinesBefore+2 && rep.FDs <= rep.FDsBefore+2 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, len(s)*p/100)].Round(10 * time.Microsecond)
}

func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	var kb float64
	for _, line := range strings.Split(string(data), "\n") {
		if _, err := fmt.Sscanf(line, "VmHWM: %f kB", &kb); err == nil {
			return kb / 1024
		}
	}
	return 0
}

// Bench measures what this server costs to run, as the table of issue #17 does: cold start,
// idle RSS, CPU and latency per call at 1K and 4K in each output mode, throughput at 1, 4 and
// 16 calls in flight, peak RSS for 8 concurrent 4K calls and for an edit with a 4K history,
// RSS after 200 stored conversations, and the size of tools/list. The server runs as a real
// process over stdio (so its CPU and RSS are its own) against the simulator in this process
// with zero latency, drawing incompressible, photo-like images as large as real Gemini PNGs.
// The replicas step (issue #14) runs it over HTTP instead, 1 and 3 processes behind a
// round-robin proxy, with the file store and with Redis (it needs redis-server installed).
//
//	go run ./examples/bench                  # about three minutes on 2 cores
//	go run ./examples/bench -quick           # fewer repetitions, about a minute and a half
//	go run ./examples/bench -only replicas   # calls/s, p50, p99: 1 and 3 replicas, file vs Redis
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bench is one run's shared state: the binary, the simulator and the table being built.
type bench struct {
	bin, sim string
	simSrv   *geminitest.Server // for faults: the waiting rows delay answers
	quick    bool
	w        io.Writer
	model    string
}

// gen returns generate_image arguments for prompt "bench", with -model when given.
func (b *bench) gen(size, output string) map[string]any {
	args := map[string]any{"prompt": "bench", "image_size": size}
	if output != "" {
		args["output"] = output
	}
	if b.model != "" {
		args["model"] = b.model
	}
	return args
}

func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "fewer repetitions and conversations")
	bin := fs.String("server", "", "a built nanobanana-mcp binary (default: build this checkout)")
	flat := fs.Bool("flat", false, "small flat simulator images instead of photo-like ones")
	model := fs.String("model", "", "the model generate_image asks for (default: the server's default)")
	only := fs.String("only", "", "run only these steps, comma-separated: startup, calls, throughput, peak, edit, conversations, replicas, profile")
	profile := fs.String("profile", "", "profile the server under 16 preview calls in flight and save cpu, allocs, block and mutex profiles and a goroutine dump in this directory (builds with -tags benchprofile)")
	profileSecs := fs.Int("profile-seconds", 15, "how long -profile profiles")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bin == "" {
		dir, err := os.MkdirTemp("", "nanobanana-bench-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*bin = filepath.Join(dir, "nanobanana-mcp")
		build := []string{"build", "-o", *bin}
		if *profile != "" {
			build = append(build, "-tags", "benchprofile")
		}
		cmd := exec.CommandContext(ctx, "go", append(build, "github.com/nanobanana-mcp/nanobanana-mcp")...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building the server (run this from the repository): %w", err)
		}
	}
	sim, err := geminitest.New(geminitest.Config{Photo: !*flat, RecordLimit: -1, ImageCacheBytes: 512 << 20})
	if err != nil {
		return err
	}
	defer sim.Close()
	b := &bench{bin: *bin, sim: sim.URL(), simSrv: sim, quick: *quick, w: w, model: *model}
	fmt.Fprintf(w, "| measure | value |\n|---|---|\n")
	steps := []struct {
		name string
		run  func(context.Context) error
	}{{"startup", b.startup}, {"calls", b.perCall}, {"throughput", b.throughput}, {"peak", b.peak4K},
		{"edit", b.edit4K}, {"conversations", b.conversations}, {"replicas", b.replicas}}
	if *profile != "" {
		if err := os.MkdirAll(*profile, 0o755); err != nil {
			return err
		}
		steps = append(steps, struct {
			name string
			run  func(context.Context) error
		}{"profile", func(ctx context.Context) error { return b.profile(ctx, *profile, *profileSecs) }})
	}
	for _, step := range steps {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), step.name) {
			continue
		}
		if err := step.run(ctx); err != nil {
			return fmt.Errorf("%s: %w", step.name, err)
		}
	}
	return nil
}

func (b *bench) row(name, format string, a ...any) {
	fmt.Fprintf(b.w, "| %s | %s |\n", name, fmt.Sprintf(format, a...))
}

func (b *bench) n(quick, full int) int {
	if b.quick {
		return quick
	}
	return full
}

// startup: median handshake time of fresh processes, idle RSS and the tools/list sizes.
func (b *bench) startup(ctx context.Context) error {
	var starts []time.Duration
	var idle float64
	for range b.n(5, 11) {
		p, took, err := start(ctx, b.bin, b.sim)
		if err != nil {
			return err
		}
		starts = append(starts, took)
		total, visible, err := p.toolsListSize(ctx)
		if err != nil {
			p.close()
			return err
		}
		if len(starts) == 1 {
			b.row("tools/list size (model-visible part)", "%.1f KB (%.1f KB)", float64(total)/1000, float64(visible)/1000)
		}
		time.Sleep(200 * time.Millisecond) // let start-up garbage be collected
		idle, _ = p.rss()
		p.close()
	}
	b.row("cold start to initialize (median)", "%d ms", median(starts).Milliseconds())
	b.row("idle RSS", "%.0f MB", idle)
	return nil
}

// perCall: sequential calls in each output mode; CPU is the server process's own. Every
// picture a call can get is drawn first, so that every row measures the same thing. Without
// that, the first row (4K preview) waited 2 s per call for the simulator to draw a new
// picture, and a call that waits that long costs the server more CPU in every mode (a median
// 55 ms at 4K, the kernel refilling page cache this VM handed back to its host; see the
// README): the preview looked about 100 ms dearer than it is. The waiting rows measure that cost apart, with
// the simulator answering 2 s late.
func (b *bench) perCall(ctx context.Context) error {
	for _, size := range []string{"1K", "4K"} {
		calls := b.n(5, 20)
		if size == "4K" {
			calls = b.n(2, 6)
		}
		if err := b.warmed(ctx, size); err != nil {
			return err
		}
		for _, mode := range []string{"preview", "resource", "path", "full", "preview+wait", "path+wait"} {
			mode, wait := strings.CutSuffix(mode, "+wait")
			if wait && size != "4K" {
				continue
			}
			if size == "4K" && mode == "full" {
				continue // larger than stdio can carry inline: the server refuses it by design
			}
			p, _, err := start(ctx, b.bin, b.sim)
			if err != nil {
				return err
			}
			args := b.gen(size, mode)
			if _, err := p.call(ctx, "generate_image", args); err != nil { // warm the server
				p.close()
				return err
			}
			cpu0 := p.cpu()
			var lat []time.Duration
			for range calls {
				if wait {
					b.simSrv.Enqueue("", geminitest.Slow(upstreamWait))
				}
				t := time.Now()
				if _, err := p.call(ctx, "generate_image", args); err != nil {
					p.close()
					return err
				}
				lat = append(lat, time.Since(t))
			}
			cpu := (p.cpu() - cpu0) / time.Duration(calls)
			p.close()
			name := fmt.Sprintf("one %s call, output %s: latency (server CPU)", size, mode)
			if wait {
				name = fmt.Sprintf("one %s call answered %s late, output %s: latency (server CPU)", size, upstreamWait, mode)
			}
			b.row(name, "%.1f ms (%.0f ms)",
				float64(median(lat).Microseconds())/1000, float64(cpu.Microseconds())/1000)
		}
	}
	return nil
}

// throughput: 1K calls per second with 1, 4 and 16 in flight, default output and path.
func (b *bench) throughput(ctx context.Context) error {
	for _, mode := range []string{"preview", "path"} {
		for _, inflight := range []int{1, 4, 16} {
			p, _, err := start(ctx, b.bin, b.sim)
			if err != nil {
				return err
			}
			args := b.gen("1K", mode)
			if err := b.warm(ctx, p, "1K"); err != nil {
				p.close()
				return err
			}
			total := b.n(32, 96)
			t, server, harness := time.Now(), p.cpu(), procCPU(os.Getpid())
			err = fanOut(inflight, total, func() error { _, err := p.call(ctx, "generate_image", args); return err })
			el := time.Since(t)
			// Both processes share the cores: the simulator and the client cost CPU too.
			server, harness = (p.cpu()-server)/time.Duration(total), (procCPU(os.Getpid())-harness)/time.Duration(total)
			p.close()
			if err != nil {
				return err
			}
			// What the cores allow the server alone, and with the harness on them too.
			cores := float64(runtime.NumCPU())
			b.row(fmt.Sprintf("1K calls/s, %d in flight, output %s", inflight, mode),
				"%.1f (CPU per call: server %.1f ms, harness %.1f ms; %d cores allow %.0f with the harness, %.0f without)",
				float64(total)/el.Seconds(), float64(server.Microseconds())/1000, float64(harness.Microseconds())/1000,
				runtime.NumCPU(), cores/(server+harness).Seconds(), cores/server.Seconds())
		}
	}
	return nil
}

// warm has the simulator draw every picture a call of this size can get (calls without a
// seed get a random one, so one of simulatorVariants pictures and its drafts), so that the
// rows measure calls, not the simulator's first drawing of each picture: at 1K that is about
// 150 ms of harness CPU each, and spread over a throughput row it doubled the harness's CPU
// per call.
func (b *bench) warm(ctx context.Context, p *proc, size string) error {
	for seed := range simulatorVariants {
		args := b.gen(size, "path")
		args["seed"] = seed
		if _, err := p.call(ctx, "generate_image", args); err != nil {
			return err
		}
	}
	return nil
}

// warmed has the simulator draw every picture of size, in a server of its own.
func (b *bench) warmed(ctx context.Context, size string) error {
	p, _, err := start(ctx, b.bin, b.sim)
	if err != nil {
		return err
	}
	defer p.close()
	return b.warm(ctx, p, size)
}

// upstreamWait is how late the simulator answers in the waiting rows: about what it took to
// draw a new 4K picture, far less than Gemini takes.
const upstreamWait = 2 * time.Second

// simulatorVariants is how many pictures the simulator draws per size (geminitest's
// numVariants); consecutive seeds get them all.
const simulatorVariants = 8

// peak4K: eight concurrent 4K generations with the default output.
func (b *bench) peak4K(ctx context.Context) error {
	p, _, err := start(ctx, b.bin, b.sim)
	if err != nil {
		return err
	}
	defer p.close()
	args := b.gen("4K", "")
	if err := fanOut(8, 8, func() error { _, err := p.call(ctx, "generate_image", args); return err }); err != nil {
		return err
	}
	_, peak := p.rss()
	b.row("8 concurrent 4K calls, peak RSS", "%.0f MB", peak)
	return nil
}

// edit4K: a conversation of three 4K turns, so the last edit replays two 4K images.
func (b *bench) edit4K(ctx context.Context) error {
	p, _, err := start(ctx, b.bin, b.sim) // the default history budget, near Gemini's 100 MB limit
	if err != nil {
		return err
	}
	defer p.close()
	res, err := p.call(ctx, "generate_image", b.gen("4K", "path"))
	if err != nil {
		return err
	}
	conv, _ := res.StructuredContent.(map[string]any)["conversation_id"].(string)
	for range 2 {
		if _, err := p.call(ctx, "edit_image", map[string]any{"prompt": "more", "conversation_id": conv, "image_size": "4K"}); err != nil {
			return err
		}
	}
	_, peak := p.rss()
	b.row("edit with a 4K history of three turns, peak RSS", "%.0f MB", peak)
	return nil
}

// conversations: RSS growth over 200 stored conversations, per output mode.
func (b *bench) conversations(ctx context.Context) error {
	// claude-desktop: previews of up to 512 KiB, and every call is a job (--async-after).
	for _, mode := range []string{"preview", "path", "claude-desktop"} {
		var flags []string
		args := b.gen("1K", mode)
		if mode == "claude-desktop" {
			flags = []string{"--client", mode}
			delete(args, "output")
		}
		p, _, err := start(ctx, b.bin, b.sim, flags...)
		if err != nil {
			return err
		}
		if _, err := p.call(ctx, "generate_image", args); err != nil {
			p.close()
			return err
		}
		before, _ := p.rss()
		n := 200
		err = fanOut(4, n, func() error { _, err := p.call(ctx, "generate_image", args); return err })
		time.Sleep(1500 * time.Millisecond) // the server returns memory after a quiet second
		after, _ := p.rss()
		p.close()
		if err != nil {
			return err
		}
		b.row(fmt.Sprintf("RSS after %d conversations, %s", n, mode), "%.0f MB (from %.0f MB)", after, before)
	}
	return nil
}

// fanOut runs total calls with inflight at a time and returns the first error.
func fanOut(inflight, total int, call func() error) error {
	jobs := make(chan struct{}, total)
	for range total {
		jobs <- struct{}{}
	}
	close(jobs)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				if err := call(); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

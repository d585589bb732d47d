package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// replicas: 1K generate_image calls (output path) through a round-robin proxy to 1 and 3 HTTP
// server processes, with the file store and with Redis (--store redis://…, a redis-server
// started here), 16 stateless (2026-07-28) clients in flight; then the Redis store's cost per
// turn: one client making generate + edit turns one at a time on one replica, file vs Redis.
// Each replica may run all 16 upstream at once (--concurrency 16), so one replica is not
// held to the default 4. Everything shares this machine's cores, so three replicas show the cost
// of sharing state, not the gain of more machines.
func (b *bench) replicas(ctx context.Context) error {
	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		b.row("replicas", "skipped: redis-server is not installed")
		return nil
	}
	total := b.n(48, 160)
	for _, store := range []string{"file", "redis"} {
		for _, n := range []int{1, 3} {
			lat, el, err := b.replicaRun(ctx, redisBin, store, n, func(c *client.Client) error {
				_, err := callHTTP(ctx, c, "generate_image", b.gen("1K", "path"))
				return err
			}, 16, total)
			if err != nil {
				return fmt.Errorf("%d replicas, %s store: %w", n, store, err)
			}
			b.row(fmt.Sprintf("1K calls through the proxy, %d replica(s), %s store, 16 in flight: calls/s, p50, p99", n, store),
				"%.1f, %s, %s", float64(total)/el.Seconds(), ms(percentile(lat, 50)), ms(percentile(lat, 99)))
		}
	}
	turns := b.n(10, 30)
	var perTurn [2][2]time.Duration // store × (generate, edit)
	for i, store := range []string{"file", "redis"} {
		var gen, edit []time.Duration
		_, _, err := b.replicaRun(ctx, redisBin, store, 1, func(c *client.Client) error {
			t := time.Now()
			res, err := callHTTP(ctx, c, "generate_image", b.gen("1K", "path"))
			if err != nil {
				return err
			}
			gen = append(gen, time.Since(t))
			conv, _ := res.StructuredContent.(map[string]any)["conversation_id"].(string)
			t = time.Now()
			if _, err := callHTTP(ctx, c, "edit_image", map[string]any{"prompt": "more", "conversation_id": conv, "output": "path"}); err != nil {
				return err
			}
			edit = append(edit, time.Since(t))
			return nil
		}, 1, turns)
		if err != nil {
			return fmt.Errorf("turns, %s store: %w", store, err)
		}
		perTurn[i] = [2]time.Duration{percentile(gen[1:], 50), percentile(edit[1:], 50)} // [0] was the warm-up
	}
	b.row("one turn, 1 replica, 1 in flight (p50): generate / edit, file store", "%s / %s", ms(perTurn[0][0]), ms(perTurn[0][1]))
	b.row("one turn, 1 replica, 1 in flight (p50): generate / edit, Redis store", "%s / %s", ms(perTurn[1][0]), ms(perTurn[1][1]))
	b.row("Redis store's cost per turn (p50 difference): generate / edit", "%s / %s",
		ms(perTurn[1][0]-perTurn[0][0]), ms(perTurn[1][1]-perTurn[0][1]))
	return nil
}

// replicaRun starts n replicas on store ("file": each its own directory; "redis": one fresh
// redis-server) with a shared image directory behind a round-robin proxy, warms each client
// up with one call, then runs total calls of work with inflight clients at once. It returns
// each call's latency and the elapsed time.
func (b *bench) replicaRun(ctx context.Context, redisBin, store string, n int, work func(*client.Client) error,
	inflight, total int) ([]time.Duration, time.Duration, error) {
	dir, err := os.MkdirTemp("", "nanobanana-bench-replicas-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dir)
	var storeArgs []string // the file store: a --store-dir per replica, under its own HOME
	if store == "redis" {
		addr, stop, err := startRedisServer(redisBin, dir)
		if err != nil {
			return nil, 0, err
		}
		defer stop()
		storeArgs = []string{"--store", "redis://" + addr + "/0"}
	}
	proxy := &roundRobin{}
	lb := httptest.NewServer(proxy.handler())
	defer lb.Close()
	for i := range n {
		args := append([]string{"--transport", "http", "--addr", "127.0.0.1:0", "--auth-token", "bench-token-0123456789",
			"--output-dir", filepath.Join(dir, "images"), "--public-url", lb.URL, "--log-level", "info",
			"--concurrency", "16"}, storeArgs...) // not the default 4 upstream calls per replica: the clients' 16 are the bound
		addr, stop, err := startHTTPServer(ctx, b.bin, b.sim, filepath.Join(dir, fmt.Sprintf("home-%d", i)), args)
		if err != nil {
			return nil, 0, err
		}
		defer stop()
		proxy.add(addr)
	}
	clients := make([]*client.Client, inflight)
	for i := range clients {
		c, err := statelessClient(ctx, lb.URL, "bench-token-0123456789")
		if err != nil {
			return nil, 0, err
		}
		defer c.Close()
		if err := work(c); err != nil { // warm-up: connections, the simulator's image cache
			return nil, 0, err
		}
		clients[i] = c
	}
	var mu sync.Mutex
	var lat []time.Duration
	var next atomic.Int64
	began := time.Now()
	err = fanOut(inflight, total, func() error {
		c := clients[int(next.Add(1))%inflight]
		t := time.Now()
		err := work(c)
		mu.Lock()
		lat = append(lat, time.Since(t))
		mu.Unlock()
		return err
	})
	return lat, time.Since(began), err
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startHTTPServer runs the server over HTTP against the simulator and returns the address it
// listens on, read from its log.
func startHTTPServer(ctx context.Context, bin, simURL, home string, args []string) (string, func(), error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "GEMINI_API_KEY=bench", "GOOGLE_GEMINI_BASE_URL="+simURL, "HOME="+home)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }
	addr := make(chan string, 1)
	var last []string
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			} else if len(last) < 5 {
				last = append(last, sc.Text())
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if ok {
			return a, stop, nil
		}
		stop()
		return "", nil, fmt.Errorf("the server stopped before listening: %v", last)
	case <-time.After(20 * time.Second):
		stop()
		return "", nil, errors.New("the server did not listen within 20 s")
	}
}

// startRedisServer runs a private redis-server (no persistence) on a free loopback port.
func startRedisServer(bin, dir string) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting redis-server: %w", err)
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if conn, err := net.Dial("tcp", addr); err == nil {
			_, _ = conn.Write([]byte("PING\r\n"))
			line, _ := bufio.NewReader(conn).ReadString('\n')
			_ = conn.Close()
			if line == "+PONG\r\n" {
				return addr, stop, nil
			}
		}
	}
	stop()
	return "", nil, fmt.Errorf("redis-server on %s did not answer within 10 s", addr)
}

// roundRobin is a plain round-robin reverse proxy, as a load balancer in front of replicas
// serving stateless clients.
type roundRobin struct {
	mu       sync.Mutex
	backends []*url.URL
	next     int
}

func (p *roundRobin) add(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends = append(p.backends, &url.URL{Scheme: "http", Host: addr})
}

func (p *roundRobin) handler() http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			p.mu.Lock()
			target := p.backends[p.next%len(p.backends)]
			p.next++
			p.mu.Unlock()
			r.SetURL(target)
		},
		FlushInterval: -1,
	}
}

// statelessClient is an mcp-go Streamable HTTP client on the 2026-07-28 protocol: no session,
// so each call may go to any replica.
func statelessClient(ctx context.Context, base, token string) (*client.Client, error) {
	c, err := client.NewStreamableHttpClient(base+"/mcp",
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	var init mcp.InitializeRequest
	init.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "0"}
	if _, err := c.Initialize(ctx, init); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("initializing: %w", err)
	}
	return c, nil
}

// callHTTP runs one tool call and fails on a tool error.
func callHTTP(ctx context.Context, c *client.Client, name string, args map[string]any) (*mcp.CallToolResult, error) {
	p := &proc{client: c}
	return p.call(ctx, name, args)
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

package resilience

// A minimal real redis-server for this package's tests; internal/redistest does the same for
// the stores (to be folded into it).

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const redisServerPath = "/usr/bin/redis-server"

type redisServer struct {
	t    testing.TB
	dir  string
	port int
	cmd  *exec.Cmd
}

// startRedis starts a private redis-server on a free loopback port, without persistence,
// killed when the test ends. Without redis-server the test is skipped, unless
// NANOBANANA_REDIS=1 says Redis must be there.
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	if _, err := os.Stat(redisServerPath); err != nil {
		if os.Getenv("NANOBANANA_REDIS") == "1" {
			t.Fatalf("NANOBANANA_REDIS=1 but %s is missing: install Debian's redis-server package", redisServerPath)
		}
		t.Skipf("skipping: %s is not installed (apt-get install redis-server runs the Redis tests)", redisServerPath)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &redisServer{t: t, dir: t.TempDir(), port: port}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

func (s *redisServer) start() {
	s.t.Helper()
	var out bytes.Buffer
	s.cmd = exec.Command(redisServerPath, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--dir", s.dir, "--save", "", "--appendonly", "no", "--daemonize", "no")
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			s.stop()
			s.t.Fatalf("redis-server did not answer on %s within 10 s:\n%s", s.addr(), out.String())
		}
		time.Sleep(10 * time.Millisecond) // real time: the server process starting up
	}
}

// stop kills the server (a crash, as far as clients can tell); it is safe to call twice.
func (s *redisServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// client returns a new connection, closed when the test ends: one per replica.
func (s *redisServer) client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.addr()})
	s.t.Cleanup(func() { c.Close() })
	return c
}

// logBuffer collects log lines from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

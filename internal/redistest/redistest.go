// Package redistest runs a real redis-server for tests: Debian's package, on a free loopback
// port, without persistence. Tests that need Redis call URL and get a database of their own on a
// server shared by the whole test binary, so the suite pays for one server start.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// skipMessage is the one line a test prints when it cannot run here.
const skipMessage = "redis-server not found; install Debian's redis-server to run the Redis store tests"

// databases is how many logical databases the shared server has: one per test that asks.
const databases = 4096

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
	nextDB     atomic.Int64 // database 0 is left for tools pointed at the server by hand
)

// Server is a running redis-server.
type Server struct {
	Addr string // 127.0.0.1:port
	cmd  *exec.Cmd
	bin  string
	port int
}

// URL returns redis://ADDR/N for a database of the shared server that no other test of this
// binary uses, and flushes it when the test ends. It skips the test when redis-server is not
// installed, unless NANOBANANA_REDIS=1 (CI) makes that a failure.
func URL(t testing.TB) string {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = startShared() })
	if sharedErr != nil {
		fail(t, sharedErr)
	}
	db := nextDB.Add(1)
	if db >= databases {
		t.Fatalf("redistest: more than %d tests asked for a database; raise databases", databases-1)
	}
	t.Cleanup(func() { _ = shared.Do("-n", strconv.FormatInt(db, 10), "FLUSHDB") })
	return fmt.Sprintf("redis://%s/%d", shared.Addr, db)
}

// Start runs a server of the test's own, killed when the test ends: for tests that stop Redis
// under a client. Kill stops it earlier.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := start(nil)
	if err != nil {
		fail(t, err)
	}
	t.Cleanup(s.Kill)
	return s
}

// Kill stops the server at once, as a crash or a network partition would look to clients.
func (s *Server) Kill() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// Restart starts a killed server again on the same address, empty, as a Redis restarted
// without persistence looks to its clients.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	fresh, err := startOn(s.bin, s.port, nil)
	if err != nil {
		t.Fatalf("redistest: restarting: %v", err)
	}
	s.cmd = fresh.cmd
	t.Cleanup(s.Kill)
}

// URLFor returns the URL of database db of this server.
func (s *Server) URLFor(db int) string { return fmt.Sprintf("redis://%s/%d", s.Addr, db) }

func fail(t testing.TB, err error) {
	t.Helper()
	if os.IsNotExist(err) || strings.Contains(err.Error(), exec.ErrNotFound.Error()) {
		if os.Getenv("NANOBANANA_REDIS") == "1" {
			t.Fatalf("%s (NANOBANANA_REDIS=1 requires it)", skipMessage)
		}
		t.Skip(skipMessage)
	}
	t.Fatalf("redistest: %v", err)
}

// startShared starts the server shared by the test binary. No test's Cleanup may stop it, so it
// is started from a goroutine that keeps its OS thread for the life of the process: the
// server's parent-death signal (sent when the starting thread ends) then fires exactly when the
// test binary exits, however it exits.
func startShared() (*Server, error) {
	type result struct {
		s   *Server
		err error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: this thread lives as long as the process
		s, err := start(&syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL})
		ch <- result{s, err}
		select {}
	}()
	r := <-ch
	return r.s, r.err
}

// start runs redis-server on a free loopback port, retrying when another process takes the
// port between choosing it and the server binding it.
func start(attr *syscall.SysProcAttr) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, err
	}
	var last error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := startOn(bin, port, attr)
		if err == nil {
			return s, nil
		}
		last = err
	}
	return nil, last
}

func startOn(bin string, port int, attr *syscall.SysProcAttr) (*Server, error) {
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir) // nothing is written there: no RDB, no AOF, log on stdout
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
		"--save", "", "--appendonly", "no", "--databases", strconv.Itoa(databases),
		"--daemonize", "no", "--logfile", "", "--loglevel", "warning")
	cmd.SysProcAttr = attr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting redis-server: %w", err)
	}
	var log strings.Builder
	var logMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			logMu.Lock()
			log.WriteString(sc.Text() + "\n")
			logMu.Unlock()
		}
	}()
	s := &Server{Addr: addr, cmd: cmd, bin: bin, port: port}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s.ping() == nil {
			return s, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Kill()
	logMu.Lock()
	defer logMu.Unlock()
	return nil, fmt.Errorf("redis-server on %s did not answer PING within 10 s; its log:\n%s", addr, log.String())
}

// ping speaks RESP directly, so this package needs no client library.
func (s *Server) ping() error {
	conn, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// Do runs one command with redis-cli-style arguments ("-n DB" selects a database first), for
// setting a server up (CONFIG SET requirepass …); it returns the server's error, if any.
func (s *Server) Do(args ...string) error {
	conn, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	send := func(words ...string) error {
		var b strings.Builder
		fmt.Fprintf(&b, "*%d\r\n", len(words))
		for _, w := range words {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(w), w)
		}
		if _, err := conn.Write([]byte(b.String())); err != nil {
			return err
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "-") {
			return fmt.Errorf("redis: %s", strings.TrimSpace(line[1:]))
		}
		return nil
	}
	if len(args) >= 2 && args[0] == "-n" {
		if err := send("SELECT", args[1]); err != nil {
			return err
		}
		args = args[2:]
	}
	return send(args...)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

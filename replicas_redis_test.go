package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// startRedis runs a private redis-server on a free loopback port for the test and returns its
// URL. Without redis-server the test skips with one line, unless NANOBANANA_REDIS=1 (CI) says
// Redis must be there.
// TODO(14a): replace with internal/redistest once it lands.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("NANOBANANA_REDIS") == "1" {
			t.Fatal("redis-server is not installed, and NANOBANANA_REDIS=1 requires it (apt-get install redis-server)")
		}
		t.Skip("redis-server is not installed; install it (apt-get install redis-server) to run the Redis tests")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if conn, err := net.Dial("tcp", addr); err == nil {
			_, _ = conn.Write([]byte("PING\r\n"))
			line, _ := bufio.NewReader(conn).ReadString('\n')
			_ = conn.Close()
			if strings.HasPrefix(line, "+PONG") {
				return "redis://" + addr + "/0"
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer PING within 10 s", addr)
		}
	}
}

// requireStoreFlag skips until the server has --store (issue #14, being wired in by 14c).
// TODO(14e): remove once --store exists.
func requireStoreFlag(t *testing.T) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "--help")
	cmd.Env = append(os.Environ(), "NANOBANANA_TEST_MAIN=1")
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "-store ") {
		t.Skip("this build has no --store flag yet")
	}
}

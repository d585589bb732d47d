package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkStartupToolsList measures a cold start of the server process to a served
// tools/list over stdio (DESIGN.md target: ≤ 100 ms), and reports its resident memory once
// idle (target: ≤ 30 MB). The binary is this test binary re-executed as the server, which
// carries the test framework too, so the RSS figure is an upper bound.
func BenchmarkStartupToolsList(b *testing.B) {
	var rss float64
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "--simulate", "--output-dir", b.TempDir(), "--log-level", "error")
		cmd.Env = append(os.Environ(), "NANOBANANA_TEST_MAIN=1")
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		r := bufio.NewReader(stdout)
		send := func(s string) {
			if _, err := fmt.Fprintln(stdin, s); err != nil {
				b.Fatal(err)
			}
		}
		send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}`)
		readLine(b, r)
		send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
		send(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
		if line := readLine(b, r); !strings.Contains(line, "generate_image") {
			b.Fatalf("tools/list answered %.200s", line)
		}
		b.StopTimer()
		time.Sleep(50 * time.Millisecond) // let start-up garbage settle before reading RSS
		rss = max(rss, residentMB(cmd.Process.Pid))
		_ = stdin.Close()
		_ = cmd.Wait()
		b.StartTimer()
	}
	b.ReportMetric(rss, "rss-MB")
}

func readLine(b *testing.B, r *bufio.Reader) string {
	b.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return line
}

func residentMB(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

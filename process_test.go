package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// listening is the log line of a server that accepts connections, with its address.
var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startProcess runs this binary as a process of its own (see TestMain) with environ added to
// the test's environment, and returns the output pipe picks ((*exec.Cmd).StderrPipe or
// StdoutPipe). At the end of the test the process is interrupted and waited for.
func startProcess(t *testing.T, pipe func(*exec.Cmd) (io.ReadCloser, error), environ []string, args ...string) (*exec.Cmd, io.ReadCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), append(environ, "NANOBANANA_TEST_MAIN=1")...)
	out, err := pipe(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	return cmd, out
}

// initialize runs the MCP handshake as client name, asking for protocol version (the
// client's own default when "").
func initialize(ctx context.Context, c *client.Client, version, name string) (*mcp.InitializeResult, error) {
	var init mcp.InitializeRequest
	init.Params.ProtocolVersion = version
	init.Params.ClientInfo = mcp.Implementation{Name: name, Version: "0"}
	return c.Initialize(ctx, init)
}

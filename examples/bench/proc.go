package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// proc is one server process under measurement, driven over stdio by an mcp-go client as a
// desktop client would. Each scenario gets a fresh process, so its peak RSS is its own.
type proc struct {
	cmd    *exec.Cmd
	client *client.Client
	dir    string
}

// start launches the server against the simulator at simURL and completes the MCP
// handshake, returning how long that took (cold start).
func start(ctx context.Context, bin, simURL string, args ...string) (*proc, time.Duration, error) {
	return startEnv(ctx, bin, simURL, nil, args...)
}

// startEnv is start with more environment for the server.
func startEnv(ctx context.Context, bin, simURL string, extra []string, args ...string) (*proc, time.Duration, error) {
	dir, err := os.MkdirTemp("", "nanobanana-bench-")
	if err != nil {
		return nil, 0, err
	}
	p := &proc{dir: dir}
	args = append([]string{"--output-dir", filepath.Join(dir, "images"), "--store-dir", filepath.Join(dir, "store"), "--log-level", "error"}, args...)
	env := []string{"GEMINI_API_KEY=bench", "GOOGLE_GEMINI_BASE_URL=" + simURL, "HOME=" + dir}
	env = append(env, extra...)
	tr := transport.NewStdioWithOptions(bin, env, args, transport.WithCommandFunc(
		func(ctx context.Context, command string, env, args []string) (*exec.Cmd, error) {
			p.cmd = exec.CommandContext(ctx, command, args...)
			p.cmd.Env = append(os.Environ(), env...)
			return p.cmd, nil
		}))
	began := time.Now()
	p.client = client.NewClient(tr)
	if err := p.client.Start(ctx); err != nil {
		p.close()
		return nil, 0, fmt.Errorf("starting the server: %w", err)
	}
	var init mcp.InitializeRequest
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "0"}
	if _, err := p.client.Initialize(ctx, init); err != nil {
		p.close()
		return nil, 0, fmt.Errorf("initializing: %w", err)
	}
	return p, time.Since(began), nil
}

func (p *proc) close() {
	if p.client != nil {
		_ = p.client.Close()
	}
	_ = os.RemoveAll(p.dir)
}

// call runs one tool call and fails on a tool error.
func (p *proc) call(ctx context.Context, name string, args map[string]any) (*mcp.CallToolResult, error) {
	var req mcp.CallToolRequest
	req.Params.Name, req.Params.Arguments = name, args
	res, err := p.client.CallTool(ctx, req)
	if err != nil {
		return nil, err
	}
	if res.IsError {
		var msg string
		if len(res.Content) > 0 {
			if t, ok := mcp.AsTextContent(res.Content[0]); ok {
				msg = t.Text
			}
		}
		return nil, fmt.Errorf("%s failed: %s", name, msg)
	}
	return res, nil
}

// cpu is the user+system CPU time the process has used.
func (p *proc) cpu() time.Duration { return procCPU(p.cmd.Process.Pid) }

// procCPU is the user+system CPU time process pid has used.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are the 12th and 13th.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * time.Second / 100 // USER_HZ is 100 on Linux
}

// rss returns the resident set now and at its peak, in MB.
func (p *proc) rss() (now, peak float64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		var kb float64
		if _, err := fmt.Sscanf(line, "VmRSS: %f kB", &kb); err == nil {
			now = kb / 1024
		}
		if _, err := fmt.Sscanf(line, "VmHWM: %f kB", &kb); err == nil {
			peak = kb / 1024
		}
	}
	return now, peak
}

// toolsListSize is the size of the tools/list result as sent, and of the part a client's
// model sees (names, titles, descriptions, input schemas).
func (p *proc) toolsListSize(ctx context.Context) (total, visible int, err error) {
	res, err := p.client.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return 0, 0, err
	}
	all, err := json.Marshal(res)
	if err != nil {
		return 0, 0, err
	}
	for _, t := range res.Tools {
		v, err := tools.ModelVisible(t)
		if err != nil {
			return 0, 0, err
		}
		visible += len(v)
	}
	return len(all), visible, nil
}

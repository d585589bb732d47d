// Package server builds the MCP server from the tool list and serves it over a transport.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"

	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// Options describe the server.
type Options struct {
	Name         string
	Version      string
	Instructions string
	Tools        []tools.Tool
	Resources    []tools.Resource
	Logger       *slog.Logger
	Workers      int // concurrent tool calls over stdio; mcp-go's default of 5 queues the sixth
}

// New builds the MCP server and registers every tool.
func New(o Options) *mcpserver.MCPServer {
	s := mcpserver.NewMCPServer(o.Name, o.Version,
		mcpserver.WithToolCapabilities(false),
		mcpserver.WithResourceCapabilities(false, false),
		mcpserver.WithLogging(),
		mcpserver.WithRecovery(),
		mcpserver.WithInstructions(o.Instructions),
	)
	for _, t := range o.Tools {
		s.AddTool(t.Tool, t.Handler)
	}
	for _, r := range o.Resources {
		s.AddResource(r.Resource, r.Handler)
	}
	return s
}

// ServeStdio serves s on in/out until ctx is cancelled or the client closes its end. Nothing
// but protocol reaches out.
func ServeStdio(ctx context.Context, s *mcpserver.MCPServer, o Options, in io.Reader, out io.Writer) error {
	stdio := mcpserver.NewStdioServer(s)
	workers := o.Workers
	if workers <= 0 {
		workers = 32
	}
	mcpserver.WithWorkerPoolSize(min(workers, 100))(stdio)
	if o.Logger != nil {
		stdio.SetErrorLogger(log.New(slogWriter{o.Logger}, "", 0))
	}
	err := stdio.Listen(ctx, in, out)
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, io.EOF) {
		return nil
	}
	return fmt.Errorf("serving stdio: %w", err)
}

// slogWriter routes mcp-go's log.Logger lines into slog (stderr).
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn("mcp", "message", string(trimNL(p)))
	return len(p), nil
}

func trimNL(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}

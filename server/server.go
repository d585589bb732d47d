// Package server builds the MCP server from the tool list and serves it over stdio, the legacy
// HTTP+SSE transport or Streamable HTTP, with authentication, Origin checks, limits, health and
// graceful shutdown for the HTTP ones.
package server

import (
	"context"
	"log/slog"
	"time"

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
	Templates    []tools.ResourceTemplate
	Logger       *slog.Logger
	Workers      int           // concurrent tool calls over stdio; mcp-go's default of 5 queues the sixth
	Grace        time.Duration // how long in-flight calls may finish on shutdown; default 30 s
	Calls        CallObserver  // sees every tool call, for metrics; nil: none
}

// Server is the MCP server plus what the transports share: the in-flight calls.
type Server struct {
	mcp      *mcpserver.MCPServer
	opts     Options
	log      *slog.Logger
	inflight *inflight
	// cancelled holds the HTTP requests clients cancelled, whose responses are dropped.
	cancelled cancelledSet
}

// New builds the MCP server and registers every tool and resource.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	s := &Server{opts: o, log: o.Logger, inflight: newInflight()}
	hooks := &mcpserver.Hooks{}
	hooks.AddOnUnregisterSession(func(_ context.Context, cs mcpserver.ClientSession) {
		// mcp-go keeps an SSE client's calls running after it disconnects; nobody would read
		// the result, so stop paying for it.
		s.inflight.cancelSession(cs.SessionID())
	})
	opts := []mcpserver.ServerOption{
		mcpserver.WithToolCapabilities(false),
		mcpserver.WithResourceCapabilities(false, false),
		mcpserver.WithLogging(),
		mcpserver.WithRecovery(),
		mcpserver.WithHooks(hooks),
		mcpserver.WithToolHandlerMiddleware(s.inflight.middleware),
		mcpserver.WithInstructions(o.Instructions),
	}
	if o.Calls != nil {
		opts = append(opts, mcpserver.WithToolHandlerMiddleware(observe(o.Calls)))
	}
	s.mcp = mcpserver.NewMCPServer(o.Name, o.Version, opts...)
	for _, t := range o.Tools {
		s.mcp.AddTool(t.Tool, t.Handler)
	}
	for _, r := range o.Resources {
		s.mcp.AddResource(r.Resource, r.Handler)
	}
	for _, r := range o.Templates {
		s.mcp.AddResourceTemplate(r.Template, r.Handler)
	}
	return s
}

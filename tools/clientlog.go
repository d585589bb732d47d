package tools

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// clientLog sends a notifications/message to the calling client, at the level the client set
// (logging/setLevel, or the request's own level in the 2026-07-28 protocol; mcp-go filters).
// The server advertises the logging capability, so it says what a user would want to see in a
// client's log: retries, waits and fallbacks as they happen, what was changed on the way
// (notes), and failures. Nothing is sent to a client that did not initialise logging.
func clientLog(ctx context.Context, level mcp.LoggingLevel, msg string) {
	srv := server.ServerFromContext(ctx)
	if srv == nil || ctx.Err() != nil {
		return
	}
	_ = srv.SendLogMessageToClient(ctx, mcp.NewLoggingMessageNotification(level, "nanobanana-mcp", msg))
}

package server

import (
	"context"
	"errors"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// CallObserver sees every tool call, for metrics (the metrics package implements it, so this
// package needs no metrics library). Its methods run on the call's goroutine and must not block.
type CallObserver interface {
	CallStarted(tool string)
	// CallFinished reports how a call ended: outcome is "ok", "error" or "cancelled", and
	// category the failure's (apierrors.Category) when the outcome is "error".
	CallFinished(tool, outcome, category string, elapsed time.Duration)
}

// Outcomes of a tool call, as CallObserver sees them.
const (
	OutcomeOK        = "ok"
	OutcomeError     = "error"
	OutcomeCancelled = "cancelled"
)

// observe wraps every tool handler so that obs sees it start and finish.
func observe(obs CallObserver) mcpserver.ToolHandlerMiddleware {
	return func(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			tool, start := req.Params.Name, time.Now()
			obs.CallStarted(tool)
			// Deferred, so a panic (answered by mcp-go's recovery) still ends the call.
			outcome, category := OutcomeError, string(apierrors.Unknown)
			defer func() { obs.CallFinished(tool, outcome, category, time.Since(start)) }()
			res, err := next(ctx, req)
			outcome, category = callOutcome(ctx, res, err)
			return res, err
		}
	}
}

// callOutcome reads how a call ended from its result: tools answer failures as isError results
// carrying the Diagnosis (tools/errors.go), so the category comes from there.
func callOutcome(ctx context.Context, res *mcp.CallToolResult, err error) (outcome, category string) {
	var diag apierrors.Diagnosis
	switch {
	case err != nil:
		if errors.Is(err, context.Canceled) {
			return OutcomeCancelled, ""
		}
		return OutcomeError, string(apierrors.Unknown)
	case res == nil || !res.IsError:
		return OutcomeOK, ""
	}
	switch d := res.StructuredContent.(type) {
	case apierrors.Diagnosis:
		diag = d
	case *apierrors.Diagnosis:
		diag = *d
	}
	if diag.Category == apierrors.Cancelled || ctx.Err() == context.Canceled {
		return OutcomeCancelled, ""
	}
	if diag.Category == "" {
		return OutcomeError, string(apierrors.Unknown)
	}
	return OutcomeError, string(diag.Category)
}

package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// ExplainErrorInput is the explain_error argument object.
type ExplainErrorInput struct {
	Error string `json:"error,omitempty" jsonschema_description:"Any error text or message; empty: your latest failure (this session's, or with a shared store the latest on any replica)."`
	Model string `json:"model,omitempty" jsonschema_description:"If the text does not say."`
}

// ExplainErrorOutput is the Diagnosis plus where it came from.
type ExplainErrorOutput struct {
	apierrors.Diagnosis
	Source string `json:"source" jsonschema_description:"pasted, last_failure or none"`
	Tool   string `json:"tool,omitempty" jsonschema_description:"for last_failure"`
	At     string `json:"at,omitempty" jsonschema_description:"for last_failure, RFC 3339"`
}

// explainErrorDeps is what explain_error uses: the caller's last failure, and the registry
// for the replacement of a retired model.
type explainErrorDeps struct {
	*Failures
	Gemini Status // nil: no registry to name replacements from
}

// ExplainError is the explain_error tool.
func ExplainError(status Status, f *Failures) Tool {
	d := &explainErrorDeps{Failures: f, Gemini: status}
	tool := mcp.NewTool("explain_error",
		mcp.WithDescription("Explain a Gemini image error: what happened, whose move it is, when it clears, what to do."),
		mcp.WithInputSchema[ExplainErrorInput](),
		mcp.WithOutputSchema[ExplainErrorOutput](),
		annotations("Explain error", true, false, true, false),
	)
	return Tool{Tool: tool, Handler: typed(f, "explain_error", d.explainError)}
}

func (d *explainErrorDeps) explainError(ctx context.Context, _ mcp.CallToolRequest, in ExplainErrorInput) *mcp.CallToolResult {
	opts := []apierrors.Option{apierrors.ForModel(in.Model)}
	if d.Gemini != nil {
		opts = append(opts, apierrors.WithReplacements(d.Gemini.Registry().Replacement))
	}
	var out ExplainErrorOutput
	switch {
	case strings.TrimSpace(in.Error) != "":
		out = ExplainErrorOutput{Diagnosis: apierrors.Explain(in.Error, opts...), Source: "pasted"}
	default:
		f, ok := d.Failures.Last(ctx)
		if !ok {
			msg := "Nothing has failed in this session yet; paste the error text into the error argument to have it explained."
			if clientSession(ctx) == "" {
				msg = "This client has no MCP session, so the server cannot tell which failure is yours; paste the error text into the error argument to have it explained."
			}
			out = ExplainErrorOutput{Diagnosis: apierrors.Diagnosis{Category: apierrors.Unknown, Summary: msg}, Source: "none"}
			return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(msg)}, StructuredContent: out}
		}
		out = ExplainErrorOutput{Diagnosis: f.Diagnosis, Source: "last_failure", Tool: f.Tool, At: f.At.UTC().Format(time.RFC3339)}
	}
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(explainText(out))}, StructuredContent: out}
}

// explainText is the human reading of a Diagnosis: summary first, then why, what to do, and when.
func explainText(o ExplainErrorOutput) string {
	var b strings.Builder
	b.WriteString(o.Summary)
	fmt.Fprintf(&b, "\n\nCategory: %s", o.Category)
	if o.HTTPStatus != 0 || o.Status != "" {
		fmt.Fprintf(&b, " (HTTP %d %s)", o.HTTPStatus, o.Status)
	}
	fmt.Fprintf(&b, ". Retryable: %s.", yesNo(ptr(o.Retryable)))
	if o.Actor != "" {
		fmt.Fprintf(&b, " Whose move: %s.", o.Actor)
	}
	if o.Cause != "" {
		b.WriteString("\nWhy: " + o.Cause)
	}
	if len(o.Fix) > 0 {
		b.WriteString("\nWhat to do:")
		for i, s := range o.Fix {
			fmt.Fprintf(&b, "\n%d. %s", i+1, s)
		}
	}
	if o.Recovery != "" {
		b.WriteString("\nWhen it clears: " + o.Recovery)
	}
	if o.Source == "last_failure" {
		fmt.Fprintf(&b, "\n(This was the most recent failure of %s, at %s.)", o.Tool, o.At)
	}
	return b.String()
}

func yesNo(b *bool) string {
	if b != nil && *b {
		return "yes"
	}
	return "no"
}

func ptr[T any](v T) *T { return &v }

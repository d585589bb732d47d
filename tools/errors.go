package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// failure is the one adapter from an error to a tool result: isError, a first line that says
// what happened and what to do, the fix steps, and the Diagnosis as structuredContent. What
// only a developer can act on is logged in full and answered with a short message.
func (f *Failures) failure(ctx context.Context, tool, model string, err error) *mcp.CallToolResult {
	var opts []apierrors.Option
	if e, ok := apierrors.As(err); ok && e.Diagnosis.IsLocal() {
		model = "" // nothing was sent, so no model was involved
	} else if reg := f.reg; reg != nil {
		if model == "" && callsModel[tool] {
			model = reg.Default()
		}
		if res, err := reg.Lookup(model); err == nil {
			model = res.Model.ID // diagnoses speak of the id actually called, not the alias
		}
		opts = append(opts, apierrors.WithReplacements(reg.Replacement))
	}
	if model != "" {
		opts = append(opts, apierrors.ForModel(model))
	}
	diag := apierrors.Classify(err, opts...)
	level := slog.LevelWarn
	if diag.Category == apierrors.Unknown {
		level = slog.LevelError
	}
	f.record(ctx, tool, diag)
	if msg := diag.Summary; strings.HasPrefix(msg, tool+":") {
		clientLog(ctx, mcp.LoggingLevelWarning, msg)
	} else {
		clientLog(ctx, mcp.LoggingLevelWarning, tool+": "+msg)
	}
	f.log.Log(ctx, level, "tool failed", "tool", tool, "category", diag.Category,
		"model", diag.Model, "error", apierrors.Sanitize(err.Error()))
	return diagnosisResult(diag)
}

// callsModel lists the tools whose failures concern a model even when none was named: the
// default model is the one that would have been (or was) called.
var callsModel = map[string]bool{"generate_image": true, "edit_image": true, "get_generation": true}

func diagnosisResult(diag apierrors.Diagnosis) *mcp.CallToolResult {
	var b strings.Builder
	b.WriteString(diag.Summary)
	for i, step := range diag.Fix {
		fmt.Fprintf(&b, "\n%d. %s", i+1, step)
	}
	return &mcp.CallToolResult{
		IsError:           true,
		Content:           []mcp.Content{mcp.NewTextContent(b.String())},
		StructuredContent: diag,
	}
}

// typed binds the arguments into In before the handler runs; arguments of the wrong type get
// a tool error that says which, not a protocol error.
func typed[In any](f *Failures, tool string, h func(context.Context, mcp.CallToolRequest, In) *mcp.CallToolResult) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var in In
		if err := req.BindArguments(&in); err != nil {
			msg := err.Error()
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				msg = fmt.Sprintf("argument %q must be %s, not a JSON %s", te.Field, goKind(te.Type), te.Value)
			}
			e := apierrors.Localf(apierrors.InvalidRequest, "The %s arguments could not be read: %s; check them against the tool's schema.", tool, msg)
			return f.failure(ctx, tool, "", e), nil
		}
		return h(ctx, req, in), nil
	}
}

// goKind names a Go type as a user knows JSON, never as Go ("a slice", "a int").
func goKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.String {
			return "a list of strings"
		}
		return "a list"
	}
	return "an object"
}

package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// argSchema is the part of a tool's input schema the boundary enforces: the generated schemas
// use nothing else (objects of typed, possibly enumerated properties).
type argSchema struct {
	Type       any                   `json:"type"`
	Properties map[string]*argSchema `json:"properties"`
	Required   []string              `json:"required"`
	Enum       []any                 `json:"enum"`
	Items      *argSchema            `json:"items"`
}

// strict refuses, before the handler runs and so before anything is spent, every argument the
// tool's published input schema does not allow: an unknown name (with the nearest known one),
// a wrong type, a value outside an enumeration, a missing required argument. It is driven by
// the schema alone, so every tool in All gets it, including ones added later.
//
// camelCase spellings ("aspectRatio") are refused rather than accepted as aliases: the schema
// stays the one truth a client's model reads, the refusal costs nothing and names the right
// spelling, and an alias table would silently accept whatever else it happened to contain.
func strict(f *Failures, t mcp.Tool, next server.ToolHandlerFunc) server.ToolHandlerFunc {
	raw := t.RawInputSchema
	if len(raw) == 0 {
		raw, _ = json.Marshal(t.InputSchema)
	}
	var schema argSchema
	if err := json.Unmarshal(raw, &schema); err != nil || schema.Properties == nil {
		schema = argSchema{Properties: map[string]*argSchema{}}
	}
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if msg := checkArgs(&schema, req.Params.Arguments); msg != "" {
			if !strings.HasSuffix(msg, "?") {
				msg += "."
			}
			return f.failure(ctx, t.Name, "", apierrors.Local(apierrors.InvalidRequest, t.Name+": "+msg,
				"Correct the argument as the message says and call again; the tool's input schema lists every argument and its allowed values.")), nil
		}
		return next(ctx, req)
	}
}

// checkArgs returns what is wrong with the arguments, or "" when they fit the schema. The
// arguments arrive as decoded JSON (nil when the client sent none).
func checkArgs(s *argSchema, args any) string {
	if args == nil {
		args = map[string]any{}
	}
	obj, ok := args.(map[string]any)
	if !ok {
		return "the arguments must be a JSON object of named arguments, not a JSON " + jsonKind(args)
	}
	return checkObject("", s, obj)
}

// checkObject checks the names, values and required members of an object: the arguments
// themselves, or an object nested in them (prefix names where, e.g. "requests[2].").
func checkObject(prefix string, s *argSchema, obj map[string]any) string {
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		prop, known := s.Properties[k]
		if !known {
			return unknownArg(prefix+k, k, s.Properties)
		}
		if msg := checkValue(prefix+k, prop, obj[k]); msg != "" {
			return msg
		}
	}
	for _, k := range s.Required {
		if v, ok := obj[k]; !ok || v == nil || v == "" {
			return fmt.Sprintf("%s%s is required", prefix, k)
		}
	}
	return ""
}

func checkValue(name string, s *argSchema, v any) string {
	if v == nil {
		return "" // null means "not given", as an omitted argument does
	}
	switch typ, _ := s.Type.(string); typ {
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Sprintf("argument %q must be a string, not a JSON %s", name, jsonKind(v))
		}
		// A value that differs from an allowed one only in case ("2k") passes: the request
		// validation normalises it and says so in the result's notes.
		// An empty string means "not given", as many clients send for an optional field.
		if len(s.Enum) > 0 && str != "" && !inEnum(str, s.Enum) && enumHint(str, s.Enum) == "" {
			return fmt.Sprintf("argument %q is %q, which is not one of %s", name, str, enumList(s.Enum))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Sprintf("argument %q must be true or false, not a JSON %s", name, jsonKind(v))
		}
	case "integer":
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) {
			return fmt.Sprintf("argument %q must be a whole number, not %s", name, describe(v))
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return fmt.Sprintf("argument %q must be a number, not a JSON %s", name, jsonKind(v))
		}
	case "array":
		list, ok := v.([]any)
		what := "a list"
		if s.Items != nil {
			if it, _ := s.Items.Type.(string); it != "" {
				what = "a list of " + plural2(it)
			}
		}
		if !ok {
			return fmt.Sprintf("argument %q must be %s, not a JSON %s", name, what, jsonKind(v))
		}
		for i, el := range list {
			if s.Items != nil {
				if msg := checkValue(fmt.Sprintf("%s[%d]", name, i), s.Items, el); msg != "" {
					return msg
				}
			}
		}
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Sprintf("argument %q must be an object, not a JSON %s", name, jsonKind(v))
		}
		if s.Properties != nil {
			return checkObject(name+".", s, obj)
		}
	}
	return ""
}

// unknownArg names an unknown argument (where is its full name) and, where one is close, the
// argument meant.
func unknownArg(where, k string, props map[string]*argSchema) string {
	known := make([]string, 0, len(props))
	for p := range props {
		known = append(known, p)
	}
	sort.Strings(known)
	if best := nearest(k, known); best != "" {
		return fmt.Sprintf("unknown argument %q; did you mean %q?", where, best)
	}
	if len(known) == 0 {
		return fmt.Sprintf("unknown argument %q; this tool takes no arguments", where)
	}
	return fmt.Sprintf("unknown argument %q; the arguments are %s", where, strings.Join(known, ", "))
}

// nearest is the known name closest to k once case and separators are ignored (aspectRatio,
// AspectRatio and aspect-ratio all mean aspect_ratio), else by edit distance.
func nearest(k string, known []string) string {
	fold := func(s string) string {
		return strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(s))
	}
	best, bestDist := "", math.MaxInt
	for _, p := range known {
		if fold(p) == fold(k) {
			return p
		}
		if d := editDistance(fold(k), fold(p)); d < bestDist {
			best, bestDist = p, d
		}
	}
	if bestDist <= max(2, len(k)/4) {
		return best
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func inEnum(s string, enum []any) bool {
	for _, e := range enum {
		if e == s {
			return true
		}
	}
	return false
}

func enumList(enum []any) string {
	parts := make([]string, len(enum))
	for i, e := range enum {
		parts[i] = fmt.Sprint(e)
	}
	return strings.Join(parts, ", ")
}

// enumHint points at the allowed value a near-miss meant ("4k" → "4K").
func enumHint(s string, enum []any) string {
	for _, e := range enum {
		if es, ok := e.(string); ok && strings.EqualFold(es, s) {
			return fmt.Sprintf(" (did you mean %q?)", es)
		}
	}
	return ""
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func describe(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprint(f)
	}
	return "a JSON " + jsonKind(v)
}

func plural2(jsonType string) string {
	switch jsonType {
	case "boolean":
		return "booleans (true or false)"
	case "integer":
		return "whole numbers"
	}
	return jsonType + "s"
}

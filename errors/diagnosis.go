// Package errors turns any failure this server meets — an upstream Gemini error, a finish
// reason, a network fault, a local validation problem, or error text a user pasted — into a
// Diagnosis: what happened, whose move it is, when it clears and what to do.
//
// The package keeps the card's folder name; import it everywhere as apierrors. It imports no
// MCP code: tools/ owns the one adapter from Diagnosis to a tool result.
package errors

import (
	stderrors "errors"
	"fmt"
)

// Category is the shared vocabulary of tool errors, explain_error and metrics.
type Category string

// The categories, as DESIGN.md lists them.
const (
	RateLimited             Category = "rate_limited"
	DailyQuota              Category = "daily_quota"
	NoFreeTier              Category = "no_free_tier"
	Overloaded              Category = "overloaded"
	BadGateway              Category = "bad_gateway"
	ServerError             Category = "server_error"
	Timeout                 Category = "timeout"
	Network                 Category = "network"
	InvalidRequest          Category = "invalid_request"
	UnsupportedParameter    Category = "unsupported_parameter"
	MissingThoughtSignature Category = "missing_thought_signature"
	ModelNotFound           Category = "model_not_found"
	Auth                    Category = "auth"
	LocationUnsupported     Category = "location_unsupported"
	SafetyBlocked           Category = "safety_blocked"
	NoImage                 Category = "no_image"
	Cancelled               Category = "cancelled"
	Unknown                 Category = "unknown"
)

// Actor says whose move it is.
type Actor string

// The actors.
const (
	ActorYou     Actor = "you"     // change the request, the key or the configuration
	ActorWait    Actor = "wait"    // nothing is wrong; the limit clears on its own
	ActorGoogle  Actor = "google"  // the upstream is failing; wait or switch model
	ActorBilling Actor = "billing" // enable billing or raise the tier
)

// Quota names the limit a 429 hit.
type Quota struct {
	Dimension string `json:"dimension,omitempty" jsonschema_description:"RPM, TPM, RPD or IPM"`
	Limit     int64  `json:"limit,omitempty" jsonschema_description:"when stated"`
	ID        string `json:"quota_id,omitempty" jsonschema_description:"e.g. GenerateRequestsPerMinutePerProjectPerModel"`
	Metric    string `json:"metric,omitempty"`
	Model     string `json:"model,omitempty"`
}

// Diagnosis is a failure explained. Field names are part of the tool contract.
type Diagnosis struct {
	Category          Category `json:"category" jsonschema_description:"the kind of failure"`
	Case              string   `json:"case,omitempty" jsonschema_description:"within the category, e.g. per_minute"`
	HTTPStatus        int      `json:"http_status,omitempty" jsonschema_description:"upstream's"`
	Status            string   `json:"status,omitempty" jsonschema_description:"e.g. RESOURCE_EXHAUSTED"`
	Retryable         bool     `json:"retryable" jsonschema_description:"the same request can succeed later"`
	RetryAfterSeconds float64  `json:"retry_after_seconds,omitempty" jsonschema_description:"wait before retrying"`
	Quota             *Quota   `json:"quota,omitempty" jsonschema_description:"the quota hit"`
	Summary           string   `json:"summary" jsonschema_description:"one sentence: what happened and what to do"`
	Cause             string   `json:"cause,omitempty" jsonschema_description:"why it happened"`
	Fix               []string `json:"fix,omitempty" jsonschema_description:"steps that fix it"`
	Recovery          string   `json:"recovery,omitempty" jsonschema_description:"when it clears"`
	Actor             Actor    `json:"actor,omitempty" jsonschema_description:"whose move it is: you, wait, google or billing"`
	Model             string   `json:"model,omitempty"`
	Detail            string   `json:"detail,omitempty" jsonschema_description:"upstream's words, secrets removed"`
}

// Error is a failure that already carries its Diagnosis. Local validation and the Gemini client
// return it so that nothing needs to guess later.
type Error struct {
	Diagnosis Diagnosis
	Err       error // the underlying cause, if any
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Diagnosis.Summary, e.Err)
	}
	return e.Diagnosis.Summary
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an Error with the given category and summary; the remaining Diagnosis fields
// are filled in from the catalog where the caller left them empty.
func New(cat Category, summary string) *Error {
	d := Diagnosis{Category: cat, Summary: Sanitize(summary)}
	if e, ok := Lookup(cat, defaultCase); ok {
		d.Retryable = e.Retryable
	}
	return &Error{Diagnosis: complete(d)}
}

// LocalCase marks a Diagnosis of a problem this server found before anything was sent upstream:
// its cause and fix are the server's own, never the catalog's upstream ones.
const LocalCase = "local"

// Local returns an Error for a problem found locally (a bad argument, a missing file): the
// summary says what is wrong, fix how to put it right, and nothing speaks of Gemini.
func Local(cat Category, summary string, fix ...string) *Error {
	return &Error{Diagnosis: complete(Diagnosis{Category: cat, Case: LocalCase, Summary: Sanitize(summary),
		Cause: "This server found the problem before calling Gemini; nothing was sent and nothing was spent.",
		Fix:   fix, Actor: ActorYou})}
}

// Localf is Local with a formatted summary and no fix steps beyond what the summary says.
func Localf(cat Category, format string, args ...any) *Error {
	return Local(cat, fmt.Sprintf(format, args...))
}

// IsLocal reports whether d describes a problem found before anything was sent upstream.
func (d Diagnosis) IsLocal() bool { return d.Case == LocalCase }

// Newf is New with a formatted summary.
func Newf(cat Category, format string, args ...any) *Error {
	return New(cat, fmt.Sprintf(format, args...))
}

// As reports whether err is or wraps an *Error and returns it.
func As(err error) (*Error, bool) {
	var e *Error
	if stderrors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Package tools defines the MCP tools: one file per tool, each a self-describing value built by
// a constructor, all listed by All. The server registers that list; the README reference and
// the invariant tests range over the same list.
package tools

import (
	"context"
	"log/slog"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// Generator is the part of the Gemini client the tools use.
type Generator interface {
	Generate(ctx context.Context, req gemini.Request) (*gemini.Result, error)
	CheckModel(ctx context.Context, id string) error
	Registry() *gemini.Registry
	Backend() string
	Location() string
	Usage() *gemini.UsageLog
	Breakers() []resilience.BreakerStatus
	// What the live API showed about the registry's models (see gemini/churn.go).
	ModelState(id string) (gemini.ModelState, bool)
	Warnings() []string
	Refresh(ctx context.Context) (gemini.RefreshReport, error)
	HasCredentials() bool
	Routed(m *gemini.Model) (string, bool)
}

// Deps is what the tools need from the rest of the server.
type Deps struct {
	Gemini       Generator
	Images       *session.Images
	Store        session.Store  // conversations; nil: each call stands alone
	Budget       session.Budget // how much history a turn may replay
	AllowedRoots []string       // roots that path arguments must stay inside
	Logger       *slog.Logger
	KeepDrafts   bool   // save thought images next to the final one
	Output       string // default delivery mode
	Preview      PreviewOptions
	Fetch        FetchOptions
	// ProgressEvery is how often a long call reports progress; default 8 s, with a margin under
	// the 10 s after which clients such as Cherry Studio give up on a silent call.
	ProgressEvery time.Duration
	Failures      *Failures // the latest failure per client, for explain_error

	Transport string        // "stdio", "http" or "sse": what the image can travel in
	URLs      *URLSigner    // signs image URLs (output url); nil disables it
	PublicURL string        // how clients reach this server, for image URLs (--public-url)
	ServerURL func() string // the address this server listens on, once it does
	MaxInline int           // largest full image inline, in bytes; default by transport

	Simulated  bool          // --simulate: Gemini is the built-in simulator, so no key is checked
	Jobs       *Jobs         // background generations (async, --async-after, idempotency keys)
	AsyncAfter time.Duration // a call still running after this answers with a job_id; 0: never

	// TrustForwardedHost lets X-Forwarded-Host (validated) name the host in image URLs; only a
	// reverse proxy the operator runs may set it (--trust-forwarded-host).
	TrustForwardedHost bool

	Batches *Batches // batch records and their poller; default in memory, without a poller
}

// Tool is one MCP tool: its definition and its handler.
type Tool struct {
	Tool    mcp.Tool
	Handler server.ToolHandlerFunc
}

// All returns every tool, in the order clients list them.
func All(d *Deps) []Tool {
	d.defaults()
	list := []Tool{
		GenerateImage(d),
		EditImage(d),
		GetGeneration(d),
		ExplainError(d),
		CheckConfig(d),
		ListModels(d),
		ListConversations(d),
		DeleteConversation(d),
		UsageReport(d),
		BatchGenerate(d),
		GetBatch(d),
		CancelBatch(d),
		ListBatches(d),
	}
	for i := range list {
		list[i].Tool = registryEnums(tidySchemas(list[i].Tool), d.Gemini.Registry())
		list[i].Handler = strict(d, list[i].Tool, list[i].Handler)
	}
	describeOnce(list)
	return list
}

func (d *Deps) defaults() {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Output == "" {
		d.Output = OutputPreview
	}
	if d.Budget == (session.Budget{}) {
		d.Budget = session.DefaultBudget
	}
	if d.Jobs == nil {
		d.Jobs, _ = OpenJobs("", 0) // in memory; main passes one kept on disk
	}
	d.Jobs.render = d.renderInline
	d.Jobs.log = d.Logger
	if d.Batches == nil {
		api, _ := d.Gemini.(BatchAPI)
		d.Batches = NewBatches(BatchOptions{API: api, Images: d.Images, Logger: d.Logger})
	}
	if d.Failures == nil {
		d.Failures = &Failures{}
	}
	if d.ProgressEvery <= 0 {
		d.ProgressEvery = DefaultProgressEvery
	}
	d.Preview.defaults()
	d.Fetch.defaults()
}

// DefaultProgressEvery is how often a long call reports progress unless configured.
const DefaultProgressEvery = 8 * time.Second

// annotations sets the title (top level, as the 2025-06-18 spec has it, and in the annotations
// for older clients) and all four hints explicitly: mcp-go otherwise ships destructiveHint:true.
func annotations(title string, readOnly, destructive, idempotent, openWorld bool) mcp.ToolOption {
	withHints := mcp.WithToolAnnotation(mcp.ToolAnnotation{
		Title:           title,
		ReadOnlyHint:    &readOnly,
		DestructiveHint: &destructive,
		IdempotentHint:  &idempotent,
		OpenWorldHint:   &openWorld,
	})
	return func(t *mcp.Tool) {
		t.Title = title
		withHints(t)
	}
}

// Package tools defines the MCP tools: one file per tool, each a self-describing value built by
// a constructor from the few components it uses, all listed by Set.All. The server registers
// that list; the README reference and the invariant tests range over the same list.
//
// The components, each built once by New with its own small dependencies:
//
//   - Loader reads the images a call names: paths inside the allowed roots, URLs under the
//     dial policy, image ids the caller owns (inputs.go, dialpolicy.go).
//   - Delivery saves what Gemini made and answers with it: output modes, previews, signed
//     URLs, image:// resources (output.go, urls.go, resources.go).
//   - Turns runs a generation as one turn of a conversation, in the foreground or as a
//     background job (turn.go, conversations.go, history.go, variants.go); Jobs keeps those
//     jobs (jobs.go) and Batches the batch records (batches.go).
//   - Failures diagnoses what fails and remembers it for explain_error (errors.go,
//     failures.go); every tool answers its failures through it.
//
// Each tool's constructor takes the components it uses, so its signature says what it
// touches. What the tools read from Gemini is split the same way: Generation for the calls
// that make images, Status for what check_config, list_models and usage_report report.
package tools

import (
	"context"
	"log/slog"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// Generation is the part of the Gemini client that makes images.
type Generation interface {
	Generate(ctx context.Context, req gemini.Request) (*gemini.Result, error)
	Registry() *gemini.Registry
}

// Status is the part of the Gemini client the tools report on: the backend, the models and
// what the live API showed about them, usage and breakers. None of it spends image quota.
type Status interface {
	Registry() *gemini.Registry
	Backend() string
	Location() string
	HasCredentials() bool
	CheckModel(ctx context.Context, id string) error
	// What the live API showed about the registry's models (see gemini/churn.go).
	ModelState(id string) (gemini.ModelState, bool)
	Warnings() []string
	Refresh(ctx context.Context) (gemini.RefreshReport, error)
	Routed(m *gemini.Model) (string, bool)
	Usage() *gemini.UsageLog
	Breakers() []gemini.BreakerStatus
}

// Gemini is the whole client as the server passes it in: both parts.
type Gemini interface {
	Generation
	Status
}

var _ Gemini = (*gemini.Client)(nil)

// Wiring is what New builds the tools from: the shared pieces (Gemini, the stores) and each
// component's options. New reads it once and never changes it; a client preset is resolved
// into it beforehand (ResolvePreset).
type Wiring struct {
	Gemini  Gemini
	Images  *session.Images
	Store   session.Store // conversations; nil: each call stands alone
	Logger  *slog.Logger
	Jobs    *Jobs    // background generations; nil: kept in memory
	Batches *Batches // batch records and their poller; nil: in memory, without a poller
	// Shared is the records replicas share (--store redis://), where the latest failure per
	// principal is kept for explain_error; nil keeps it to this process. Jobs and Batches are
	// built on it by the caller (OpenSharedJobs, BatchOptions.Store).
	Shared session.Records
	// Simulated is --simulate: Gemini is the built-in simulator, so no key is checked.
	Simulated bool

	Inputs   InputOptions
	Delivery DeliveryOptions
	Turns    TurnOptions
}

// Set is the server's tools and the components behind them.
type Set struct {
	status    Status
	failures  *Failures
	loader    *Loader
	out       *Delivery
	turns     *Turns
	jobs      *Jobs
	batches   *Batches
	store     session.Store
	images    *session.Images
	simulated bool
}

// New builds the components from o, each with only what it uses.
func New(o Wiring) *Set {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	batches := o.Batches
	if batches == nil {
		api, _ := o.Gemini.(BatchAPI)
		batches = NewBatches(BatchOptions{API: api, Images: o.Images, Logger: logger})
	}
	jobs := o.Jobs
	if jobs == nil {
		jobs, _ = OpenJobs("", 0, logger) // in memory; main passes one kept on disk
	}
	var reg *gemini.Registry
	if o.Gemini != nil {
		reg = o.Gemini.Registry()
	}
	failures := newFailures(reg, logger)
	failures.rec = o.Shared
	owners := &owners{store: o.Store, images: o.Images, batches: batches}
	loader := newLoader(o.Inputs, o.Images, owners)
	out := newDelivery(o.Delivery, o.Images, owners, loader, logger)
	turns := newTurns(o.Turns, o.Gemini, o.Store, logger, loader, out, failures, owners, jobs)
	return &Set{status: o.Gemini, failures: failures, loader: loader, out: out, turns: turns, jobs: jobs,
		batches: batches, store: o.Store, images: o.Images, simulated: o.Simulated}
}

// Tool is one MCP tool: its definition and its handler.
type Tool struct {
	Tool    mcp.Tool
	Handler server.ToolHandlerFunc
}

// All returns every tool, in the order clients list them.
func (s *Set) All() []Tool {
	f := s.failures
	list := []Tool{
		GenerateImage(s.turns),
		EditImage(s.turns),
		GetGeneration(s.jobs, s.out, f),
		ExplainError(s.status, f),
		CheckConfig(s.status, s.images, s.simulated, f),
		ListModels(s.status, f),
		ListConversations(s.store, f),
		DeleteConversation(s.store, f),
		UsageReport(s.status, f),
		BatchGenerate(s.batches, s.loader, f),
		GetBatch(s.batches, s.out, f),
		CancelBatch(s.batches, s.out, f),
		ListBatches(s.batches, f),
	}
	var reg *gemini.Registry
	if s.status != nil {
		reg = s.status.Registry()
	}
	for i := range list {
		list[i].Tool = registryEnums(tidySchemas(list[i].Tool), reg)
		list[i].Handler = strict(f, list[i].Tool, list[i].Handler)
	}
	describeOnce(list)
	return list
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

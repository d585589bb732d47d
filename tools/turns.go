package tools

import (
	"log/slog"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// TurnOptions bound a turn: how much history it replays, what it keeps, how often it reports
// progress and when it becomes a background job.
type TurnOptions struct {
	Budget     session.Budget // how much history a turn may replay; default session.DefaultBudget
	KeepDrafts bool           // save thought images next to the final one
	// ProgressEvery is how often a long call reports progress; default 8 s, with a margin under
	// the 10 s after which clients such as Cherry Studio give up on a silent call.
	ProgressEvery time.Duration
	AsyncAfter    time.Duration // a call still running after this answers with a job_id; 0: never
}

// Turns runs a generation as one turn of a conversation: it reads the inputs (Loader), calls
// Gemini, saves and records the images and answers with them (Delivery), in the foreground or
// as a job (Jobs); what fails is diagnosed by Failures. generate_image and edit_image are thin
// layers over it.
type Turns struct {
	TurnOptions
	*Loader   // reference and starting images
	*Delivery // saving the images and answering with them
	*Failures // diagnosing what fails

	gen    Generation
	store  session.Store // conversations; nil: each call stands alone
	jobs   *Jobs
	log    *slog.Logger
	owners *owners
}

func newTurns(o TurnOptions, gen Generation, store session.Store, log *slog.Logger, in *Loader, out *Delivery,
	f *Failures, owners *owners, jobs *Jobs) *Turns {
	if o.Budget == (session.Budget{}) {
		o.Budget = session.DefaultBudget
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = DefaultProgressEvery
	}
	return &Turns{TurnOptions: o, Loader: in, Delivery: out, Failures: f, gen: gen, store: store, jobs: jobs, log: log,
		owners: owners}
}

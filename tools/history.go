package tools

import (
	"encoding/base64"
	"fmt"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// envelopeBytes covers what a request carries besides its contents: generationConfig, the
// JSON structure of the new user turn, the tools list.
const envelopeBytes = 4 << 10

// userBytes is what the new user turn adds to the request as Gemini measures it: the prompt
// and every image base64-encoded.
func userBytes(r gemini.Request) int64 {
	n := int64(len(r.Prompt)*2 + envelopeBytes) // *2: JSON escaping at worst, for ordinary text
	for _, img := range r.References {
		n += int64(base64.StdEncoding.EncodedLen(len(img.Data))) + 64
	}
	return n
}

// fitHistory chooses the history an edit replays: all of it when the request stays within the
// budget, else trimmed of what the model does not need (session.Budget.Fit), else none, with
// the conversation's latest image as the start of a fresh context. What was left out is said
// in the result's notes.
func (d *Turns) fitHistory(tc *turnContext, r *gemini.Request) error {
	budget := d.Budget
	if budget.MaxBytes <= 0 || budget.MaxBytes > session.DefaultBudget.MaxBytes {
		budget.MaxBytes = session.DefaultBudget.MaxBytes // never past what Gemini accepts
	}
	hist, trimmed, ok := budget.Fit(tc.history, userBytes(*r))
	if ok {
		r.History = hist
		if trimmed != "" {
			tc.notes = append(tc.notes, fmt.Sprintf("to keep the request within its %s history budget, "+
				"this turn's replayed history left out %s; the model still sees its own latest images", mib(budget.MaxBytes), trimmed))
		}
		return nil
	}
	img, _, err := d.latestImage(tc.conv)
	if err != nil {
		return err
	}
	tc.fresh = true
	r.History = nil
	r.References = append([]gemini.Image{img}, r.References...)
	why := fmt.Sprintf("its history is over the %s request budget even when trimmed", mib(budget.MaxBytes))
	if d.Budget.MaxTurns > 0 && len(tc.conv.Turns)+1 > d.Budget.MaxTurns {
		why = fmt.Sprintf("it reached its budget of %d turns", d.Budget.MaxTurns)
	}
	tc.notes = append(tc.notes, fmt.Sprintf("conversation %s cannot replay its history (%s); "+
		"this turn starts a fresh context seeded with its latest image, under a new conversation_id", tc.conv.ID, why))
	return nil
}

// requestSlack covers what the estimate of a request's size may miss (JSON details of the
// SDK's encoding), so that an estimate just under the limit is never a body just over it.
const requestSlack = 64 << 10

// checkRequestSize refuses, before it leaves, a request Gemini would refuse for its size.
func checkRequestSize(r gemini.Request) error {
	n := userBytes(r)
	for _, c := range r.History {
		n += session.ContentBytes(c)
	}
	if n > session.RequestLimit-requestSlack {
		return apierrors.Localf(apierrors.InvalidRequest,
			"The request would be %s as Gemini counts it (images base64-encoded), over its 100 MiB limit; use fewer or smaller reference images.", mib(n))
	}
	return nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

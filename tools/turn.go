package tools

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
)

// turnArgs are the generation options generate_image and edit_image share.
type turnArgs struct {
	Prompt, Model, AspectRatio, ImageSize, ThinkingLevel, Output string
	GoogleSearch, ImageSearch                                    bool
	Images                                                       []string
	N                                                            int    // images to make, 1–4; 0 means 1
	Seed                                                         *int64 // the first image's seed; nil: random
}

// runTurn is one generation of n images: validate the delivery, read the inputs, call Gemini
// n times in parallel (replaying the conversation's history, if any), save the images, record
// the turns, and deliver. Some images failing is still success, with notes; all failing is
// one diagnosed error. seed images (an edit's starting image) go before the reference images.
func (d *Deps) runTurn(ctx context.Context, req mcp.CallToolRequest, tool string, tc *turnContext, seed []gemini.Image, a turnArgs) *mcp.CallToolResult {
	fail := func(model string, err error) *mcp.CallToolResult {
		if tc != nil && tc.branched {
			_ = d.Store.Delete(context.WithoutCancel(ctx), tc.conv.ID) // a failed first turn leaves no branch behind
		}
		if gone := (*gemini.GoneError)(nil); tc != nil && tc.conv != nil && errors.As(err, &gone) {
			// Name the image that starts the new conversation, so it is one step.
			if img, ok := tc.conv.LatestImage(); ok {
				err = gemini.ConversationGone(gone.Model, gone.Successor, img.ID)
			}
		}
		return d.failure(ctx, tool, model, err)
	}
	output, err := d.chooseOutput(req, a.Output)
	if err != nil {
		return fail(a.Model, err)
	}
	refs, err := d.loadImages(ctx, a.Images)
	if err != nil {
		return fail(a.Model, err)
	}
	n, err := checkN(a.N)
	if err != nil {
		return fail(a.Model, err)
	}
	greq := gemini.Request{Model: a.Model, Prompt: a.Prompt, AspectRatio: a.AspectRatio, ImageSize: a.ImageSize,
		References: append(seed, refs...), ThinkingLevel: a.ThinkingLevel, GoogleSearch: a.GoogleSearch,
		ImageSearch: a.ImageSearch, KeepDrafts: d.KeepDrafts}
	if tc != nil && tc.conv != nil {
		// The conversation's model is pinned: its thought signatures are bound to that id.
		greq.Model, greq.UpstreamID = tc.conv.Model, tc.conv.Model
		if !tc.fresh {
			greq.History = tc.history
		}
	}
	prog := newProgress(ctx, req, 3)
	what := "generating with " + modelName(greq)
	if n > 1 {
		what = fmt.Sprintf("generating %d images with %s", n, modelName(greq))
	}
	prog.report(1, what)
	stop := prog.heartbeat(d.ProgressEvery, 1, what)
	// Usage is counted per owner, each of the n requests like any other.
	tries := d.generateAll(gemini.WithUsageOwner(ctx, ownerOf(ctx)), prog, greq, seedsFor(a.Seed, n))
	stop()
	var notes []string
	var firstErr error
	var ok []*gemini.Result
	for i, t := range tries {
		if t.err != nil {
			firstErr = cmp.Or(firstErr, t.err)
			notes = append(notes, d.partialFailure(ctx, tool, modelName(greq), i, n, t.err))
			continue
		}
		ok = append(ok, t.res)
	}
	if len(ok) == 0 { // all failed: diagnosed like a single failure
		return fail(greq.Model, firstErr)
	}
	prog.report(2, "saving")
	outs, results, model, err := d.keepAll(ctx, tc, a.Prompt, ok, output)
	if err != nil {
		return fail(model, err)
	}
	top := outs[0]
	top.Notes = append(top.Notes, notes...)
	for _, o := range outs[1:] {
		top.CostUSD += o.CostUSD
		top.Attempts += o.Attempts
	}
	top.CostUSD = math.Round(top.CostUSD*10000) / 10000
	for _, o := range outs {
		top.Images = append(top.Images, itemOf(o))
	}
	result := results[0]
	if n > 1 {
		result = mergeResults(result, results[1:], setSummary(top, outs, n))
	}
	appendText(result, groundingText(top.Grounding))
	return result
}

// keepAll saves, records and delivers each image: the first continues tc (or starts the
// conversation), the others get conversations of their own. Each preview gets its share of
// the budget. On failure it returns the model to blame.
func (d *Deps) keepAll(ctx context.Context, tc *turnContext, prompt string, ok []*gemini.Result, output delivery) ([]*ImageOutput, []*mcp.CallToolResult, string, error) {
	dls := make([]delivery, len(ok))
	for i, res := range ok {
		dls[i] = output
		dls[i].share = len(ok)
		d.startPreview(&dls[i], res.Image.Data)
	}
	var outs []*ImageOutput
	var results []*mcp.CallToolResult
	for i, res := range ok {
		out, err := d.save(res, prompt)
		if err != nil {
			return nil, nil, res.Model, err
		}
		if res.Seed != nil {
			out.Seed = int64(*res.Seed)
		}
		out.Grounding = res.Grounding
		if i == 0 {
			if tc != nil && tc.fresh {
				out.Notes = append(out.Notes, fmt.Sprintf("conversation %s reached its history budget (%d turns); "+
					"this turn starts a fresh context seeded with its latest image, under a new conversation_id", tc.conv.ID, len(tc.conv.Turns)))
			}
			if out.ConversationID, out.Turn, err = d.record(ctx, tc, res, out, prompt); err != nil {
				return nil, nil, res.Model, err
			}
			if tc != nil && tc.branched {
				out.BranchOf = tc.conv.BranchOf
			}
		} else if out.ConversationID, out.Turn, out.BranchOf, err = d.recordVariant(ctx, tc, res, out, prompt); err != nil {
			return nil, nil, res.Model, err
		}
		result, err := d.deliver(ctx, res, out, dls[i])
		if err != nil {
			return nil, nil, res.Model, err
		}
		outs, results = append(outs, out), append(results, result)
	}
	return outs, results, "", nil
}

func modelName(r gemini.Request) string {
	if r.UpstreamID != "" {
		return r.UpstreamID
	}
	if r.Model != "" {
		return r.Model
	}
	return "the default model"
}

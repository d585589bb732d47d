package tools

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
)

// turnArgs are the arguments generate_image and edit_image share: the generation options,
// passed down to gemini unchanged (Seed is the first image's; nil: random), and what the tool
// adds to them.
type turnArgs struct {
	gemini.Options
	Prompt, Output string
	Images         []string
	tool           string // set by runTurn
	N              int    // images to make, 1–4; 0 means 1
}

// runTurn is one generation of n images: validate the delivery, read the inputs, call Gemini
// n times in parallel (replaying the conversation's history, if any), save the images, record
// the turns, and deliver. Some images failing is still success, with notes; all failing is
// one diagnosed error. seed images (an edit's starting image) go before the reference images.
// Progress stops when gate closes (see turnRun).
func (d *Turns) runTurn(ctx context.Context, req mcp.CallToolRequest, tool string, tc *turnContext, seed []gemini.Image, a turnArgs, gate *progressGate) *mcp.CallToolResult {
	defer quiet.busy()()
	fail := func(model string, err error) *mcp.CallToolResult {
		if tc != nil && tc.branched {
			_ = d.store.Delete(context.WithoutCancel(ctx), tc.conv.ID) // a failed first turn leaves no branch behind
		}
		if gone := (*gemini.GoneError)(nil); tc != nil && tc.conv != nil && errors.As(err, &gone) {
			// Name the image that starts the new conversation, so it is one step.
			if img, ok := tc.conv.LatestImage(); ok {
				err = gemini.ConversationGone(gone.Model, gone.Successor, img.ID)
			}
		}
		return d.failure(ctx, tool, model, err)
	}
	a.tool = tool
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
	greq := gemini.Request{Options: a.Options, Prompt: a.Prompt, References: append(seed, refs...), KeepDrafts: d.KeepDrafts,
		Owner: ownerOf(ctx)} // usage is counted per owner, each of the n requests like any other
	if tc != nil && tc.conv != nil {
		// The conversation's model is pinned: its thought signatures are bound to that id.
		greq.Model, greq.UpstreamID = tc.conv.Model, tc.conv.Model
		if err := d.fitHistory(tc, &greq); err != nil {
			return fail(greq.Model, err)
		}
	}
	if err := checkRequestSize(greq); err != nil {
		return fail(greq.Model, err)
	}
	prog := newProgress(ctx, req, 3, gate)
	what := "generating with " + modelName(greq)
	if n > 1 {
		what = fmt.Sprintf("generating %d images with %s", n, modelName(greq))
	}
	prog.report(1, what)
	stop := prog.heartbeat(d.ProgressEvery, 1, what)
	tries := d.generateAll(ctx, prog, greq, seedsFor(a.Seed, n))
	stop()
	if tc != nil {
		tc.history = nil // sent; a 4K history is tens of megabytes
	}
	greq.History = nil
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
	return d.keep(ctx, prog, tc, ok, notes, n, a, output)
}

// keepBound is how long saving, recording and delivering a paid image may take once nobody
// may cancel it.
const keepBound = 2 * time.Minute

// keep saves, records and delivers the images Gemini has made. They are paid for, so from
// here on the caller's cancellation (a client cancel, stdin closing, shutdown) no longer
// reaches the work: it runs under a context detached from the call's, with its own bound, and
// the turns are recorded even when nobody is left to receive the answer. No failure of ours
// after the first save (recording, preview, delivery) turns the result into an error that
// loses the ids. The first image continues tc (or starts the conversation); the others get
// conversations of their own, each preview its share of the budget.
func (d *Turns) keep(ctx context.Context, prog *progress, tc *turnContext, ok []*gemini.Result, notes []string, n int, a turnArgs, output outputChoice) *mcp.CallToolResult {
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keepBound)
	defer cancel()
	prog.report(2, "saving")
	// Save every image first and start its preview from the file, so the previews run while
	// the turns are recorded; a first image the disk refused ends the call below.
	dls := make([]outputChoice, len(ok))
	saved, saveErrs := make([]*ImageOutput, len(ok)), make([]error, len(ok))
	for i, res := range ok {
		dls[i] = output
		dls[i].share = len(ok)
		if saved[i], saveErrs[i] = d.save(res, a.Prompt); saveErrs[i] == nil {
			d.startPreview(&dls[i], saved[i].Path)
		} else if i == 0 {
			break
		}
	}
	var outs []*ImageOutput
	var results []*mcp.CallToolResult
	for i, res := range ok {
		out, err := saved[i], saveErrs[i]
		if err != nil && i == 0 {
			// The one loss we cannot avoid: the disk refused the image. Say so plainly.
			if tc != nil && tc.branched {
				_ = d.store.Delete(kctx, tc.conv.ID)
			}
			return d.failure(kctx, a.tool, res.Model, fmt.Errorf("saving the image Gemini made: %w", err))
		}
		if err != nil {
			notes = append(notes, fmt.Sprintf("image %d of %d could not be saved (%s)", i+1, n, apierrors.Sanitize(err.Error())))
			continue
		}
		if res.Seed != nil {
			out.Seed = int64(*res.Seed)
		}
		out.Grounding = res.Grounding
		if i == 0 {
			outs, results = append(outs, out), append(results, nil) // recorded and delivered last, below
			continue
		}
		if out.ConversationID, out.Turn, out.BranchOf, err = d.recordVariant(kctx, tc, res, out, a.Prompt); err != nil {
			d.log.ErrorContext(kctx, "recording a variant failed; the image is saved", "image_id", out.ImageID, "error", apierrors.Sanitize(err.Error()))
			notes = append(notes, fmt.Sprintf("image %d of %d could not be recorded in a conversation (%s); it is saved, and edit_image with image=%s continues from it",
				i+1, n, apierrors.Sanitize(err.Error()), out.ImageID))
		}
		if dls[i].mode != OutputFull {
			res.ReleaseImages() // saved and recorded: from here on only the file is needed
		}
		outs, results = append(outs, out), append(results, d.deliver(kctx, ok[i], out, dls[i]))
	}
	// The first image is recorded after its variants, so that its conversation, the one the
	// result's top level names, is also this session's latest: an edit_image without a
	// conversation_id continues it, not the last variant.
	top := outs[0]
	d.recordFirst(kctx, tc, ok[0], top, a.Prompt)
	if dls[0].mode != OutputFull {
		ok[0].ReleaseImages()
	}
	results[0] = d.deliver(kctx, ok[0], top, dls[0])
	top.Notes = append(top.Notes, notes...)
	for _, o := range outs[1:] {
		top.CostUSD += o.CostUSD
		top.Attempts += o.Attempts
	}
	top.CostUSD = math.Round(top.CostUSD*10000) / 10000
	if i := slices.Index(top.Notes, gemini.GroundingNote(1)); i >= 0 && len(outs) > 1 {
		top.Notes[i] = gemini.GroundingNote(len(outs)) // the cost above sums every image's grounding
	}
	for _, o := range outs {
		top.Images = append(top.Images, itemOf(o))
	}
	if ctx.Err() != nil {
		d.log.InfoContext(kctx, "the caller left before the answer; the images are saved and recorded",
			"image_id", top.ImageID, "conversation_id", top.ConversationID, "path", top.Path)
	}
	result := results[0]
	if n > 1 {
		result = mergeResults(result, results[1:], setSummary(top, outs, n))
	} else if len(notes) > 0 {
		appendText(result, "\nNote: "+strings.Join(notes, ".\nNote: ")+".")
	}
	appendText(result, groundingText(top.Grounding))
	for _, note := range top.Notes {
		clientLog(ctx, mcp.LoggingLevelNotice, note)
	}
	return result
}

// recordFirst records the first image's turn: in the conversation it continues, or a new one.
// A failure to record leaves the image saved and says how to go on from it.
func (d *Turns) recordFirst(kctx context.Context, tc *turnContext, res *gemini.Result, out *ImageOutput, prompt string) {
	if tc != nil {
		out.Notes = append(out.Notes, tc.notes...)
	}
	var err error
	out.ConversationID, out.Turn, err = d.record(kctx, tc, res, out, prompt)
	if err != nil {
		d.log.ErrorContext(kctx, "recording a turn failed; the image is saved", "image_id", out.ImageID, "error", apierrors.Sanitize(err.Error()))
		if tc != nil && tc.conv != nil && !tc.fresh {
			out.ConversationID = tc.conv.ID // unchanged: the next edit continues from its previous turn
		}
		out.Notes = append(out.Notes, fmt.Sprintf("this turn could not be recorded in its conversation (%s); "+
			"the image is saved, and edit_image with image=%s continues from it", apierrors.Sanitize(err.Error()), out.ImageID))
	}
	if tc != nil && tc.branched {
		out.BranchOf = tc.conv.BranchOf
	}
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

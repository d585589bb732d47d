package tools

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
)

// turnArgs are the generation options generate_image and edit_image share.
type turnArgs struct {
	Prompt, Model, AspectRatio, ImageSize, ThinkingLevel, Output string
	GoogleSearch                                                 bool
	Images                                                       []string
	tool                                                         string // set by runTurn
}

// runTurn is one generation: validate the delivery, read the inputs, call Gemini (replaying
// the conversation's history, if any), save the image, record the turn, and deliver. seed
// images (an edit's starting image) go before the reference images.
func (d *Deps) runTurn(ctx context.Context, req mcp.CallToolRequest, tool string, tc *turnContext, seed []gemini.Image, a turnArgs) *mcp.CallToolResult {
	defer quiet.busy()()
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
	a.tool = tool
	output, err := d.chooseOutput(req, a.Output)
	if err != nil {
		return fail(a.Model, err)
	}
	refs, err := d.loadImages(ctx, a.Images)
	if err != nil {
		return fail(a.Model, err)
	}
	greq := gemini.Request{Model: a.Model, Prompt: a.Prompt, AspectRatio: a.AspectRatio, ImageSize: a.ImageSize,
		References: append(seed, refs...), ThinkingLevel: a.ThinkingLevel, GoogleSearch: a.GoogleSearch, KeepDrafts: d.KeepDrafts}
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
	prog := newProgress(ctx, req, 3)
	prog.report(1, "generating with "+modelName(greq))
	stop := prog.heartbeat(d.ProgressEvery, 1, "generating with "+modelName(greq))
	gctx := gemini.WithUsageOwner(gemini.WithProgress(ctx, func(msg string) {
		prog.report(1, msg)
		clientLog(ctx, mcp.LoggingLevelInfo, msg) // retries, waits, fallbacks
	}), ownerOf(ctx))
	res, err := d.Gemini.Generate(gctx, greq)
	stop()
	if err != nil {
		return fail(greq.Model, err)
	}
	if tc != nil {
		tc.history = nil // sent; a 4K history is tens of megabytes
	}
	return d.keep(ctx, prog, tc, res, a, output)
}

// keepBound is how long saving, recording and delivering a paid image may take once nobody
// may cancel it.
const keepBound = 2 * time.Minute

// keep saves, records and delivers an image Gemini has made. The image is paid for, so from
// here on the caller's cancellation (a client cancel, stdin closing, shutdown) no longer
// reaches the work: it runs under a context detached from the call's, with its own bound, and
// the turn is recorded even when nobody is left to receive the answer. No failure of ours after
// the save (recording, preview, delivery) turns the result into an error that loses the ids.
func (d *Deps) keep(ctx context.Context, prog *progress, tc *turnContext, res *gemini.Result, a turnArgs, output delivery) *mcp.CallToolResult {
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keepBound)
	defer cancel()
	prog.report(2, "saving")
	out, err := d.save(res, a.Prompt)
	if err != nil {
		// The one loss we cannot avoid: the disk refused the image. Say so plainly.
		if tc != nil && tc.branched {
			_ = d.Store.Delete(kctx, tc.conv.ID)
		}
		return d.failure(kctx, a.tool, res.Model, fmt.Errorf("saving the image Gemini made: %w", err))
	}
	d.startPreview(&output, out.Path)
	if tc != nil {
		out.Notes = append(out.Notes, tc.notes...)
	}
	out.ConversationID, out.Turn, err = d.record(kctx, tc, res, out, a.Prompt)
	if err != nil {
		d.Logger.ErrorContext(kctx, "recording a turn failed; the image is saved", "image_id", out.ImageID, "error", apierrors.Sanitize(err.Error()))
		if tc != nil && tc.conv != nil && !tc.fresh {
			out.ConversationID = tc.conv.ID // unchanged: the next edit continues from its previous turn
		}
		out.Notes = append(out.Notes, fmt.Sprintf("this turn could not be recorded in its conversation (%s); "+
			"the image is saved, and edit_image with image=%s continues from it", apierrors.Sanitize(err.Error()), out.ImageID))
	}
	if output.mode != OutputFull {
		res.ReleaseImages() // saved and recorded: from here on only the file is needed
	}
	if tc != nil && tc.branched {
		out.BranchOf = tc.conv.BranchOf
	}
	if ctx.Err() != nil {
		d.Logger.InfoContext(kctx, "the caller left before the answer; the image is saved and recorded",
			"image_id", out.ImageID, "conversation_id", out.ConversationID, "path", out.Path)
	}
	result := d.deliver(kctx, res, out, output)
	for _, n := range out.Notes {
		clientLog(ctx, mcp.LoggingLevelNotice, n)
	}
	return result
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

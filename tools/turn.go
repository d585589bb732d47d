package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
)

// turnArgs are the generation options generate_image and edit_image share.
type turnArgs struct {
	Prompt, Model, AspectRatio, ImageSize, ThinkingLevel, Output string
	GoogleSearch                                                 bool
	Images                                                       []string
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
		if !tc.fresh {
			greq.History = tc.history
		}
	}
	prog := newProgress(ctx, req, 3)
	prog.report(1, "generating with "+modelName(greq))
	stop := prog.heartbeat(d.ProgressEvery, 1, "generating with "+modelName(greq))
	gctx := gemini.WithUsageOwner(gemini.WithProgress(ctx, func(msg string) { prog.report(1, msg) }), ownerOf(ctx))
	res, err := d.Gemini.Generate(gctx, greq)
	stop()
	if err != nil {
		return fail(greq.Model, err)
	}
	if tc != nil {
		tc.history = nil // sent; a 4K history is tens of megabytes
	}
	prog.report(2, "saving")
	out, err := d.save(res, a.Prompt)
	if err != nil {
		return fail(res.Model, err)
	}
	d.startPreview(&output, out.Path)
	if tc != nil && tc.fresh {
		out.Notes = append(out.Notes, fmt.Sprintf("conversation %s reached its history budget (%d turns); "+
			"this turn starts a fresh context seeded with its latest image, under a new conversation_id", tc.conv.ID, len(tc.conv.Turns)))
	}
	if out.ConversationID, out.Turn, err = d.record(ctx, tc, res, out, a.Prompt); err != nil {
		return fail(res.Model, err)
	}
	if output.mode != OutputFull {
		res.ReleaseImages() // saved and recorded: from here on only the file is needed
	}
	if tc != nil && tc.branched {
		out.BranchOf = tc.conv.BranchOf
	}
	result, err := d.deliver(ctx, res, out, output)
	if err != nil {
		return fail(res.Model, err)
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

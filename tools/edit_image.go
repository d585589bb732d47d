package tools

import (
	"context"
	"errors"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// EditImageInput is the edit_image argument object.
type EditImageInput struct {
	Prompt         string   `json:"prompt" jsonschema_description:"The change, e.g. 'make the sky stormy'."`
	ConversationID string   `json:"conversation_id,omitempty" jsonschema_description:"Default: this session's latest."`
	Image          string   `json:"image,omitempty" jsonschema_description:"Start a conversation from this image (as images)."`
	FromImageID    string   `json:"from_image_id,omitempty" jsonschema_description:"Branch: a new conversation with the history up to this image."`
	Images         []string `json:"images,omitempty" jsonschema_description:"As in generate_image."`
	Model          string   `json:"model,omitempty" jsonschema_description:"For a new conversation only."`
	AspectRatio    string   `json:"aspect_ratio,omitempty" jsonschema_description:"Default: the conversation's."`
	ImageSize      string   `json:"image_size,omitempty" jsonschema_description:"Default: the conversation's."`
	ThinkingLevel  string   `json:"thinking_level,omitempty"`
	GoogleSearch   bool     `json:"google_search,omitempty"`
	ImageSearch    bool     `json:"image_search,omitempty"`
	N              int      `json:"n,omitempty" jsonschema_description:"Variants, 1-4; all but the first branch."`
	Seed           *int64   `json:"seed,omitempty"`
	Output         string   `json:"output,omitempty" jsonschema:"enum=preview,enum=resource,enum=url,enum=path,enum=full"`
	Async          bool     `json:"async,omitempty"`
	IdempotencyKey string   `json:"idempotency_key,omitempty"`
}

// EditImage is the edit_image tool: multi-turn editing whose history, thought signatures
// included, stays on the server.
func EditImage(turns *Turns) Tool {
	tool := mcp.NewTool("edit_image",
		mcp.WithDescription("Edit in conversation: continue one (conversation_id), start from an image (image) or branch "+
			"(from_image_id). The server keeps the history; pass ids."),
		mcp.WithInputSchema[EditImageInput](),
		mcp.WithOutputSchema[ImageOutput](),
		annotations("Edit image", false, false, false, true),
	)
	return Tool{Tool: tool, Handler: typed(turns.Failures, "edit_image", turns.editImage)}
}

func (d *Turns) editImage(ctx context.Context, req mcp.CallToolRequest, in EditImageInput) *mcp.CallToolResult {
	return d.asyncTurn(ctx, "edit_image", in, in.IdempotencyKey, in.Async, expectedSeconds(in.Model, in.ImageSize),
		func(ctx context.Context, gate *progressGate) *mcp.CallToolResult {
			return d.editTurn(ctx, req, in, gate)
		})
}

func (d *Turns) editTurn(ctx context.Context, req mcp.CallToolRequest, in EditImageInput, gate *progressGate) *mcp.CallToolResult {
	args := turnArgs{Prompt: in.Prompt, Output: in.Output, Images: in.Images, N: in.N, Options: gemini.Options{Model: in.Model,
		AspectRatio: in.AspectRatio, ImageSize: in.ImageSize, ThinkingLevel: in.ThinkingLevel, GoogleSearch: in.GoogleSearch,
		ImageSearch: in.ImageSearch, Seed: in.Seed}}
	if in.Image != "" {
		if in.ConversationID != "" || in.FromImageID != "" {
			return d.failure(ctx, "edit_image", in.Model, apierrors.Local(apierrors.InvalidRequest,
				"Pass image to start a new conversation, or conversation_id / from_image_id to continue one, not both."))
		}
		seed, err := d.loadImage(ctx, in.Image)
		if err != nil {
			return d.failure(ctx, "edit_image", in.Model, err)
		}
		return d.runTurn(ctx, req, "edit_image", nil, []gemini.Image{seed}, args, gate)
	}
	tc, err := d.continuation(ctx, in)
	if err != nil {
		return d.failure(ctx, "edit_image", in.Model, err)
	}
	defer tc.release()
	if err := d.checkPinned(tc.conv, in.Model); err != nil {
		return d.failure(ctx, "edit_image", tc.conv.Model, err)
	}
	if args.AspectRatio == "" {
		args.AspectRatio = tc.conv.AspectRatio
	}
	if args.ImageSize == "" {
		args.ImageSize = tc.conv.ImageSize
	}
	return d.runTurn(ctx, req, "edit_image", tc, nil, args, gate)
}

// continuation finds and locks the conversation an edit continues.
func (d *Turns) continuation(ctx context.Context, in EditImageInput) (*turnContext, error) {
	if d.store == nil {
		return nil, apierrors.Local(apierrors.InvalidRequest, "Conversations are not available: no conversation store is configured.")
	}
	switch {
	case in.FromImageID != "":
		img, err := d.owners.ownImage(ctx, in.FromImageID)
		if err != nil {
			return nil, apierrors.Localf(apierrors.InvalidRequest,
				"No conversation image has the id %s; use an image_id from an earlier generate_image or edit_image result.", in.FromImageID)
		}
		if in.ConversationID != "" && in.ConversationID != img.Conversation {
			return nil, apierrors.Localf(apierrors.InvalidRequest,
				"Image %s belongs to conversation %s, not %s; pass only from_image_id.", in.FromImageID, img.Conversation, in.ConversationID)
		}
		branch, err := d.store.Branch(ctx, img.Conversation, in.FromImageID)
		if err != nil {
			return nil, convError(img.Conversation, err)
		}
		tc, err := d.openConversation(ctx, branch.ID)
		if err != nil {
			_ = d.store.Delete(context.WithoutCancel(ctx), branch.ID)
			return nil, err
		}
		tc.branched = true
		return tc, nil
	case in.ConversationID != "":
		return d.openConversation(ctx, in.ConversationID)
	}
	sess := clientSession(ctx)
	if sess == "" {
		return nil, apierrors.Local(apierrors.InvalidRequest,
			"This client has no MCP session, so there is no \"latest conversation\" to continue; pass conversation_id from an earlier result, or image to start from an image.")
	}
	latest, err := d.store.LatestForOwner(ctx, ownerOf(ctx), sess)
	if errors.Is(err, session.ErrNotFound) {
		return nil, apierrors.Local(apierrors.InvalidRequest,
			"There is no conversation to continue in this session; pass conversation_id from an earlier result, or image to start from an image.")
	}
	if err != nil {
		return nil, err
	}
	return d.openConversation(ctx, latest.ID)
}

// checkPinned refuses another model for a conversation: thought signatures are bound to the
// model that made them, so switching mid-conversation fails upstream.
func (d *Turns) checkPinned(conv *session.Conversation, model string) error {
	if model == "" {
		return nil
	}
	reg := d.gen.Registry()
	want, err := reg.Lookup(model)
	if err != nil {
		return err
	}
	have, err := reg.Lookup(conv.Model)
	if err == nil && have.Model == want.Model {
		return nil
	}
	latest := "its latest image_id"
	if img, ok := conv.LatestImage(); ok {
		latest = img.ID
	}
	return apierrors.Localf(apierrors.UnsupportedParameter,
		"Conversation %s is pinned to %s because Gemini binds its thought signatures to the model that made them; "+
			"to use %s, start a new conversation with edit_image, image=%s and model=%s.", conv.ID, conv.Model, want.Model.ID, latest, model)
}

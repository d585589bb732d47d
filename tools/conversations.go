package tools

import (
	"context"
	"errors"
	"fmt"
	"os"

	"google.golang.org/genai"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// turnContext is what an edit continues: a stored conversation (locked for the whole edit)
// and its history, or nothing for a new conversation.
type turnContext struct {
	conv    *session.Conversation
	history []*genai.Content
	unlock  func()
	// fresh is set when the history went past its budget: the turn starts a new conversation
	// seeded with the latest image, continuing conv.
	fresh    bool
	branched bool     // conv was created by Branch for this call; removed if the turn fails
	notes    []string // what the history budget changed, for the result's notes
}

func (tc *turnContext) release() {
	if tc.unlock != nil {
		tc.unlock()
	}
}

// openConversation locks a conversation and reads its history.
func (d *Turns) openConversation(ctx context.Context, id string) (*turnContext, error) {
	if d.store == nil {
		return nil, apierrors.Local(apierrors.InvalidRequest, "Conversations are not available: no conversation store is configured.")
	}
	unlock, err := d.store.Lock(ctx, id)
	if err != nil {
		return nil, convError(id, err)
	}
	conv, err := ownConversation(ctx, d.store, id)
	if err != nil {
		unlock()
		return nil, convError(id, err)
	}
	history, err := d.store.History(ctx, id)
	if err != nil {
		unlock()
		return nil, convError(id, err)
	}
	return &turnContext{conv: &conv, history: history, unlock: unlock}, nil
}

func convError(id string, err error) error {
	switch {
	case errors.Is(err, session.ErrNotFound):
		return apierrors.Localf(apierrors.InvalidRequest,
			"No conversation has the id %s (it may have expired or been deleted); start a new one with generate_image, or with edit_image and an image.", id)
	case errors.Is(err, session.ErrDamaged):
		return apierrors.Localf(apierrors.InvalidRequest,
			"Conversation %s is damaged on disk and cannot be continued; start a new conversation from its latest image (edit_image with image set to that image_id).", id)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("reading conversation %s: %w", id, err)
}

// record stores a successful turn: appended to the conversation it continued, or as the first
// turn of a new one. It returns the conversation id and the turn number (1-based).
func (d *Turns) record(ctx context.Context, tc *turnContext, res *gemini.Result, out *ImageOutput, prompt string) (string, int, error) {
	if d.store == nil {
		return session.NewID("c"), 1, nil
	}
	turn := session.Turn{Prompt: prompt, AspectRatio: res.AspectRatio, ImageSize: res.ImageSize,
		User: res.UserContent, Model: res.Content, Seed: seedOf(res),
		Images: []session.Image{{ID: out.ImageID, Path: out.Path, MIMEType: out.MIMEType, Width: out.Width, Height: out.Height}}}
	id := ""
	if tc != nil && tc.conv != nil && !tc.fresh {
		id = tc.conv.ID
	} else {
		c := session.Conversation{Model: res.Model, Owner: ownerOf(ctx), Session: clientSession(ctx), AspectRatio: res.AspectRatio, ImageSize: res.ImageSize}
		if tc != nil && tc.conv != nil {
			c.BranchOf = tc.conv.ID
			if img, ok := tc.conv.LatestImage(); ok {
				c.BranchImage = img.ID
			}
		}
		created, err := d.store.Create(ctx, c)
		if err != nil {
			return "", 0, fmt.Errorf("creating conversation: %w", err)
		}
		id = created.ID
	}
	conv, err := d.store.AppendTurn(ctx, id, turn)
	if err != nil {
		return "", 0, fmt.Errorf("recording the turn: %w", err)
	}
	return id, len(conv.Turns), nil
}

// latestImage reads the bytes of a conversation's latest image, to seed a fresh context.
func (d *Turns) latestImage(conv *session.Conversation) (gemini.Image, string, error) {
	img, ok := conv.LatestImage()
	if !ok {
		return gemini.Image{}, "", apierrors.Localf(apierrors.InvalidRequest, "Conversation %s has no image yet.", conv.ID)
	}
	data, err := os.ReadFile(img.Path)
	if err != nil {
		return gemini.Image{}, "", apierrors.Localf(apierrors.InvalidRequest,
			"The latest image of conversation %s (%s) is no longer on disk; start again from another image.", conv.ID, img.ID)
	}
	return gemini.Image{Data: data, MIMEType: img.MIMEType}, img.ID, nil
}

func seedOf(res *gemini.Result) *int64 {
	if res.Seed == nil {
		return nil
	}
	s := int64(*res.Seed)
	return &s
}

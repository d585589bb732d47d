package tools

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mark3labs/mcp-go/server"

	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// ownerOf is the principal a call acts for (see session.Principal): it owns everything the
// call stores, and only its own things can be read, listed, continued, branched or deleted.
// Every ownership check in tools goes through this one accessor.
func ownerOf(ctx context.Context) string {
	return session.Principal(ctx)
}

// clientSession is the caller's MCP session id, used only within a principal for "this
// session's latest"; "" for stateless clients, which get no session-based defaults.
func clientSession(ctx context.Context) string {
	if cs := server.ClientSessionFromContext(ctx); cs != nil {
		return cs.SessionID()
	}
	return ""
}

// errNotYours stands for another principal's thing: callers answer it exactly as they answer
// an unknown id, so an id reveals nothing about what others stored.
var errNotYours = fmt.Errorf("owned by another principal: %w", session.ErrNotFound)

// ownConversation returns a conversation's metadata if the caller owns it; another owner's
// conversation is session.ErrNotFound.
func ownConversation(ctx context.Context, store session.Store, id string) (session.Conversation, error) {
	conv, err := store.Get(ctx, id)
	if err != nil {
		return session.Conversation{}, err
	}
	if conv.Owner != ownerOf(ctx) {
		return session.Conversation{}, errNotYours
	}
	return conv, nil
}

// owners answers who owns an image: the conversation store records it, and batch records for
// images made by a batch. Every read of an image by id or by path asks it first.
type owners struct {
	store   session.Store // nil: the server has one user
	images  *session.Images
	batches *Batches
}

// ownImage returns the record of an image the caller owns (through the conversation that
// produced it); another owner's image is session.ErrImageNotFound. Without a store nothing
// records owners: the server has one user.
func (o *owners) ownImage(ctx context.Context, id string) (session.Image, error) {
	if o.store == nil {
		if o.images == nil {
			return session.Image{}, session.ErrImageNotFound
		}
		path, err := o.images.Find(id)
		if err != nil {
			return session.Image{}, fmt.Errorf("%w: %w", session.ErrImageNotFound, err)
		}
		return session.Image{ID: id, Path: path}, nil
	}
	owner, img, err := o.imageOwner(ctx, id)
	if err != nil {
		return session.Image{}, err
	}
	if owner != ownerOf(ctx) {
		return session.Image{}, fmt.Errorf("%s: %w", id, session.ErrImageNotFound)
	}
	return img, nil
}

// foreignImageFile reports whether path is a saved image (or draft) of another principal in
// the output directory: a path names an image as surely as its id does.
func (o *owners) foreignImageFile(ctx context.Context, path string) bool {
	if o.images == nil || o.store == nil {
		return false
	}
	dir, err := filepath.EvalSymlinks(o.images.Dir)
	if err != nil || filepath.Dir(path) != dir {
		return false
	}
	name := filepath.Base(path)
	i := strings.Index(name, "_img_")
	if i < 0 || len(name) < i+1+20 {
		return false
	}
	id := name[i+1 : i+1+20]
	if !session.ValidID("img", id) {
		return false
	}
	owner, _, err := o.imageOwner(ctx, id)
	return err == nil && owner != ownerOf(ctx)
}

// batchImage finds an image saved by a batch (batch images belong to no conversation): its
// batch's owner and its path.
func (o *owners) batchImage(id string) (owner, path string, ok bool) {
	if o.batches == nil {
		return "", "", false
	}
	list, err := o.batches.store.ListBatches()
	if err != nil {
		return "", "", false
	}
	for _, bt := range list {
		for _, it := range bt.Items {
			if it.ImageID == id && it.Path != "" {
				return bt.Owner, it.Path, true
			}
		}
	}
	return "", "", false
}

// imageOwner returns the principal owning an image and its record.
func (o *owners) imageOwner(ctx context.Context, id string) (string, session.Image, error) {
	if o.store == nil {
		return session.LocalUser, session.Image{}, session.ErrImageNotFound
	}
	img, err := o.store.FindImage(ctx, id)
	if errors.Is(err, session.ErrImageNotFound) {
		if owner, path, ok := o.batchImage(id); ok {
			return owner, session.Image{ID: id, Path: path}, nil
		}
	}
	if err != nil {
		return "", session.Image{}, err
	}
	conv, err := o.store.Get(ctx, img.Conversation)
	if errors.Is(err, session.ErrNotFound) {
		return "", session.Image{}, fmt.Errorf("%s: %w", id, session.ErrImageNotFound)
	}
	if err != nil {
		return "", session.Image{}, err
	}
	if img.Path == "" && o.images != nil {
		img.Path, _ = o.images.Find(id)
	}
	return conv.Owner, img, nil
}

package session

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
)

// LatestForOwner returns the most recently updated conversation of one client session of the
// owner. A stateless client (session "") has no latest conversation.
func (s *FileStore) LatestForOwner(ctx context.Context, owner, session string) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	if session == "" {
		return Conversation{}, fmt.Errorf("a stateless client has no latest conversation: %w", ErrNotFound)
	}
	list, err := s.List(ctx, Query{Owner: owner, Session: session, Limit: 1})
	if err != nil {
		return Conversation{}, err
	}
	if len(list) == 0 {
		return Conversation{}, fmt.Errorf("no conversation for client session %q: %w", session, ErrNotFound)
	}
	return s.Get(ctx, list[0].ID)
}

// List returns summaries from the in-memory index, newest first.
func (s *FileStore) List(ctx context.Context, q Query) ([]Summary, error) {
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var out []Summary
	for _, sum := range s.index {
		if sum.Owner == q.Owner && (q.AllSessions || sum.Session == q.Session) {
			out = append(out, sum)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Summary) int {
		return cmp.Or(b.Updated.Compare(a.Updated), b.Created.Compare(a.Created), cmp.Compare(b.ID, a.ID))
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// FindImage returns an image record by id, from the conversation that produced it.
func (s *FileStore) FindImage(ctx context.Context, imageID string) (Image, error) {
	if err := ctx.Err(); err != nil {
		return Image{}, err
	}
	if !ValidID("img", imageID) {
		return Image{}, fmt.Errorf("%q is not an image id: %w", imageID, ErrImageNotFound)
	}
	data, err := os.ReadFile(s.imagePath(imageID))
	if errors.Is(err, fs.ErrNotExist) {
		return Image{}, fmt.Errorf("%s: %w", imageID, ErrImageNotFound)
	}
	if err != nil {
		return Image{}, fmt.Errorf("looking up image %s: %w", imageID, err)
	}
	var ref imageRef
	if err := json.Unmarshal(data, &ref); err != nil {
		return Image{}, fmt.Errorf("looking up image %s: lookup file is damaged: %w", imageID, err)
	}
	c, err := s.Get(ctx, ref.Conversation)
	if errors.Is(err, ErrNotFound) {
		// The turn that wrote the lookup never committed, or its conversation is gone.
		return Image{}, fmt.Errorf("%s: %w", imageID, ErrImageNotFound)
	}
	if err != nil {
		return Image{}, fmt.Errorf("looking up image %s: %w", imageID, err)
	}
	img, ok := c.Image(imageID)
	if !ok || img.Conversation != c.ID {
		return Image{}, fmt.Errorf("%s: %w", imageID, ErrImageNotFound)
	}
	return img, nil
}

package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// LatestForOwner returns the most recently updated conversation of one client session of the
// owner. A stateless client (session "") has no latest conversation.
func (s *FileStore) LatestForOwner(ctx context.Context, owner, session string) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	return latestForOwner(ctx, s, owner, session)
}

// List returns summaries from the in-memory index, newest first.
func (s *FileStore) List(ctx context.Context, q Query) ([]Summary, error) {
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var out []Summary
	for _, sum := range s.index {
		if q.matches(sum) {
			out = append(out, sum)
		}
	}
	s.mu.Unlock()
	return q.newestFirst(out), nil
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
	return imageIn(ctx, s, ref.Conversation, imageID)
}

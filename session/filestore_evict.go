package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Lock waits until the caller is the only editor of conversation id, or ctx ends.
func (s *FileStore) Lock(ctx context.Context, id string) (func(), error) {
	return s.edits.lock(ctx, id)
}

// Delete removes a conversation, its image lookups, and the blobs no other conversation uses.
// A damaged conversation can be deleted too.
func (s *FileStore) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkConversationID(id); err != nil {
		return err
	}
	if err := s.waitReady(ctx); err != nil {
		return err
	}
	s.gc.Lock()
	defer s.gc.Unlock()
	if _, err := os.Stat(s.conversationPath(id)); errors.Is(err, fs.ErrNotExist) {
		s.forget(id)
		return fmt.Errorf("deleting %s: %w", id, ErrNotFound)
	}
	if err := s.remove(id); err != nil {
		return err
	}
	_, err := s.sweep(ctx, time.Time{})
	return err
}

// EvictOlderThan removes the conversations last updated before t, then every blob no remaining
// conversation refers to. Damaged conversations are left for an operator to look at.
func (s *FileStore) EvictOlderThan(ctx context.Context, t time.Time) (Eviction, error) {
	if err := s.waitReady(ctx); err != nil {
		return Eviction{}, err
	}
	s.gc.Lock()
	defer s.gc.Unlock()
	return s.sweep(ctx, t)
}

// EvictExpired is EvictOlderThan(now - TTL).
func (s *FileStore) EvictExpired(ctx context.Context) (Eviction, error) {
	return s.EvictOlderThan(ctx, s.now().Add(-s.ttl))
}

// sweep removes conversations updated before t, marks the blobs of the rest and deletes the
// unmarked ones. The caller holds s.gc exclusively, so no turn is between its blobs and its
// record.
func (s *FileStore) sweep(ctx context.Context, t time.Time) (Eviction, error) {
	var ev Eviction
	live := map[string]struct{}{}
	err := s.eachConversation(func(id string, r *record, err error) error {
		if err != nil {
			return nil // damaged: its blobs are unknown, and its history unreadable anyway
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.head.Updated.Before(t) {
			if err := s.remove(id); err != nil {
				return err
			}
			ev.Conversations++
			return nil
		}
		for _, b := range r.head.Blobs {
			live[b] = struct{}{}
		}
		return nil
	})
	if err != nil {
		return ev, fmt.Errorf("evicting conversations: %w", err)
	}
	ev.Blobs, ev.BlobBytes, err = s.sweepBlobs(live)
	return ev, err
}

// remove deletes a conversation file and the image lookups that point at it.
func (s *FileStore) remove(id string) error {
	unlock, _ := s.files.lock(context.Background(), id)
	defer unlock()
	path := s.conversationPath(id)
	r, readErr := readRecord(path, id, false)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting %s: %w", id, err)
	}
	s.forget(id)
	if readErr != nil {
		return nil // a damaged record's image lookups fail on their own once it is gone
	}
	for _, t := range r.head.Turns {
		for _, img := range t.Images {
			if img.Conversation == id {
				s.removeImageRef(img.ID, id)
			}
		}
	}
	return nil
}

func (s *FileStore) removeImageRef(imageID, conversation string) {
	path := s.imagePath(imageID)
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var ref imageRef
	if json.Unmarshal(data, &ref) == nil && ref.Conversation == conversation {
		_ = os.Remove(path)
	}
}

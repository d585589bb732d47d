package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"google.golang.org/genai"
)

// Create stores a new conversation with no turns.
func (s *FileStore) Create(ctx context.Context, c Conversation) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	c, err := newConversation(c, s.now())
	if err != nil {
		return Conversation{}, err
	}
	if err := s.writeRecord(&record{head: header{Conversation: c}}); err != nil {
		return Conversation{}, fmt.Errorf("creating conversation: %w", err)
	}
	s.remember(c)
	return c, nil
}

// Get returns a conversation's metadata without contents.
func (s *FileStore) Get(ctx context.Context, id string) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	if err := checkConversationID(id); err != nil {
		return Conversation{}, err
	}
	r, err := readRecord(s.conversationPath(id), id, false)
	if err != nil {
		return Conversation{}, err
	}
	return r.head.Conversation, nil
}

// History returns every turn's contents, user then model, with image bytes read back from
// their blobs.
func (s *FileStore) History(ctx context.Context, id string) ([]*genai.Content, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkConversationID(id); err != nil {
		return nil, err
	}
	r, err := readRecord(s.conversationPath(id), id, true)
	if err != nil {
		return nil, err
	}
	turns, err := decodeTurns(id, r.body)
	if err != nil {
		return nil, err
	}
	cache := map[string][]byte{}
	return contents(id, turns, func(ref string) ([]byte, error) {
		data, ok := cache[ref]
		if !ok {
			var err error
			if data, err = s.readBlob(ref); err != nil {
				return nil, err
			}
			cache[ref] = data
		}
		return data, nil
	})
}

// AppendTurn adds a completed turn: blobs first, then image lookups, then the conversation
// file, whose atomic replacement commits the turn.
func (s *FileStore) AppendTurn(ctx context.Context, id string, t Turn) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	raw, blobs, err := checkedTurn(id, t)
	if err != nil {
		return Conversation{}, err
	}

	s.gc.RLock()
	defer s.gc.RUnlock()
	unlock, _ := s.files.lock(context.Background(), id)
	defer unlock()

	r, err := readRecord(s.conversationPath(id), id, true)
	if err != nil {
		return Conversation{}, err
	}
	names := slices.Sorted(maps.Keys(blobs))
	for _, name := range names {
		if err := s.writeBlob(name, blobs[name]); err != nil {
			return Conversation{}, fmt.Errorf("appending to %s: %w", id, err)
		}
	}
	turn := len(r.head.Turns)
	t.Bytes = ContentBytes(t.User) + ContentBytes(t.Model)
	t.User, t.Model, t.Created = nil, nil, s.now()
	t.Images = slices.Clone(t.Images)
	for i := range t.Images {
		t.Images[i].Conversation, t.Images[i].Turn = id, turn
		if err := s.writeImageRef(t.Images[i]); err != nil {
			return Conversation{}, fmt.Errorf("appending to %s: %w", id, err)
		}
	}
	c := &r.head.Conversation
	c.addTurn(t)
	r.head.Blobs = sortedUnique(r.head.Blobs, names)
	r.body = append(r.body, raw)
	if err := s.writeRecord(r); err != nil {
		return Conversation{}, fmt.Errorf("appending to %s: %w", id, err)
	}
	s.remember(*c)
	return *c, nil
}

func checkTurn(t Turn) error {
	if t.User == nil || t.User.Role != genai.RoleUser {
		return errors.New(`the turn needs user content with role "user"`)
	}
	if t.Model == nil || t.Model.Role != genai.RoleModel {
		return errors.New(`the turn needs model content with role "model"`)
	}
	for _, img := range t.Images {
		if !ValidID("img", img.ID) {
			return fmt.Errorf("%q is not an image id", img.ID)
		}
	}
	return nil
}

// Branch starts a conversation from the history of from, cut after the turn that produced
// imageID. The branch refers to the same blobs; nothing is copied but the record.
func (s *FileStore) Branch(ctx context.Context, from, imageID string) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	if err := checkConversationID(from); err != nil {
		return Conversation{}, err
	}
	s.gc.RLock() // the blobs stay while the branch record is written
	defer s.gc.RUnlock()
	unlock, _ := s.files.lock(context.Background(), from)
	src, err := readRecord(s.conversationPath(from), from, true)
	unlock()
	if err != nil {
		return Conversation{}, err
	}
	r, err := branchRecord(src, from, imageID, s.now())
	if err != nil {
		return Conversation{}, err
	}
	if err := s.writeRecord(r); err != nil {
		return Conversation{}, fmt.Errorf("branching %s: %w", from, err)
	}
	s.remember(r.head.Conversation)
	return r.head.Conversation, nil
}

func (s *FileStore) writeRecord(r *record) error {
	data, err := encodeRecord(r)
	if err != nil {
		return err
	}
	return s.writeFile(s.conversationPath(r.head.ID), data)
}

// imageRef is the content of an image lookup file.
type imageRef struct {
	Conversation string `json:"conversation"`
	Turn         int    `json:"turn"`
}

func (s *FileStore) writeImageRef(img Image) error {
	data, _ := json.Marshal(imageRef{Conversation: img.Conversation, Turn: img.Turn})
	if err := s.writeFile(s.imagePath(img.ID), data); err != nil {
		return fmt.Errorf("recording image %s: %w", img.ID, err)
	}
	return nil
}

// turnOf returns the index of the turn that has the image, or -1.
func turnOf(turns []Turn, imageID string) int {
	for i, t := range turns {
		for _, img := range t.Images {
			if img.ID == imageID {
				return i
			}
		}
	}
	return -1
}

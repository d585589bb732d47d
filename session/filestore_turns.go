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
	if c.Model == "" {
		return Conversation{}, errors.New("creating conversation: no model")
	}
	if len(c.Turns) > 0 {
		return Conversation{}, errors.New("creating conversation: turns are added with AppendTurn")
	}
	now := s.now()
	c.ID, c.Created, c.Updated = NewID("c"), now, now
	if c.Owner == "" {
		c.Owner = LocalUser
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
	out := make([]*genai.Content, 0, 2*len(r.body))
	cache := map[string][]byte{}
	for i, raw := range r.body {
		var st storedTurn
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, fmt.Errorf("conversation %s turn %d: %w: %w", id, i, ErrDamaged, err)
		}
		user, err := s.decodeContent(st.User, st.UserBlobs, cache)
		if err != nil {
			return nil, fmt.Errorf("conversation %s turn %d user content: %w: %w", id, i, ErrDamaged, err)
		}
		model, err := s.decodeContent(st.Model, st.ModelBlobs, cache)
		if err != nil {
			return nil, fmt.Errorf("conversation %s turn %d model content: %w: %w", id, i, ErrDamaged, err)
		}
		out = append(out, user, model)
	}
	return out, nil
}

func (s *FileStore) decodeContent(raw json.RawMessage, refs []string, cache map[string][]byte) (*genai.Content, error) {
	var c genai.Content
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	if refs == nil {
		return &c, nil
	}
	if len(refs) != len(c.Parts) {
		return nil, fmt.Errorf("%d blob references for %d parts", len(refs), len(c.Parts))
	}
	for i, ref := range refs {
		if ref == "" {
			continue
		}
		p := c.Parts[i]
		if p == nil || p.InlineData == nil {
			return nil, fmt.Errorf("part %d has a blob reference but no inline data", i)
		}
		data, ok := cache[ref]
		if !ok {
			var err error
			if data, err = s.readBlob(ref); err != nil {
				return nil, fmt.Errorf("part %d: %w", i, err)
			}
			cache[ref] = data
		}
		p.InlineData.Data = data
	}
	return &c, nil
}

// AppendTurn adds a completed turn: blobs first, then image lookups, then the conversation
// file, whose atomic replacement commits the turn.
func (s *FileStore) AppendTurn(ctx context.Context, id string, t Turn) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	if err := checkConversationID(id); err != nil {
		return Conversation{}, err
	}
	if err := checkTurn(t); err != nil {
		return Conversation{}, fmt.Errorf("appending to %s: %w", id, err)
	}
	raw, blobs, err := encodeTurn(t)
	if err != nil {
		return Conversation{}, fmt.Errorf("appending to %s: %w", id, err)
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
	c.Turns = append(c.Turns, t)
	c.Updated = t.Created
	if t.AspectRatio != "" {
		c.AspectRatio = t.AspectRatio
	}
	if t.ImageSize != "" {
		c.ImageSize = t.ImageSize
	}
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
	cut := turnOf(src.head.Turns, imageID) + 1
	if cut == 0 {
		return Conversation{}, fmt.Errorf("branching %s from %s: %w", from, imageID, ErrImageNotFound)
	}
	now := s.now()
	b := src.head.Conversation
	b.ID, b.BranchOf, b.BranchImage, b.Created, b.Updated = NewID("c"), from, imageID, now, now
	b.Turns = slices.Clone(b.Turns[:cut])
	for _, t := range b.Turns {
		if t.AspectRatio != "" {
			b.AspectRatio = t.AspectRatio
		}
		if t.ImageSize != "" {
			b.ImageSize = t.ImageSize
		}
	}
	r := &record{head: header{Conversation: b}, body: src.body[:cut]}
	for i, raw := range r.body {
		refs, err := turnBlobs(raw)
		if err != nil {
			return Conversation{}, fmt.Errorf("branching %s: turn %d: %w: %w", from, i, ErrDamaged, err)
		}
		r.head.Blobs = sortedUnique(r.head.Blobs, refs)
	}
	if err := s.writeRecord(r); err != nil {
		return Conversation{}, fmt.Errorf("branching %s: %w", from, err)
	}
	s.remember(b)
	return b, nil
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

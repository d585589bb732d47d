package session

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/genai"
)

// What the file-backed and the Redis-backed stores (conversations, batch records) decide alike,
// apart from how each reads and writes: one copy, so the two cannot drift apart.

// newConversation checks a conversation to create and gives it its id, times and owner.
func newConversation(c Conversation, now time.Time) (Conversation, error) {
	if c.Model == "" {
		return Conversation{}, errors.New("creating conversation: no model")
	}
	if len(c.Turns) > 0 {
		return Conversation{}, errors.New("creating conversation: turns are added with AppendTurn")
	}
	c.ID, c.Created, c.Updated = NewID("c"), now, now
	if c.Owner == "" {
		c.Owner = LocalUser
	}
	return c, nil
}

// branchRecord builds the record of a branch of src cut after the turn that produced imageID:
// the same turns and blobs up to there, the settings the last of them left, a new id.
func branchRecord(src *record, from, imageID string, now time.Time) (*record, error) {
	cut := turnOf(src.head.Turns, imageID) + 1
	if cut == 0 {
		return nil, fmt.Errorf("branching %s from %s: %w", from, imageID, ErrImageNotFound)
	}
	b := src.head.Conversation
	b.ID, b.BranchOf, b.BranchImage, b.Created, b.Updated = NewID("c"), from, imageID, now, now
	b.Turns = slices.Clone(b.Turns[:cut])
	for _, t := range b.Turns {
		b.applySettings(t)
	}
	r := &record{head: header{Conversation: b}, body: src.body[:cut]}
	for i, raw := range r.body {
		refs, err := turnBlobs(raw)
		if err != nil {
			return nil, fmt.Errorf("branching %s: turn %d: %w: %w", from, i, ErrDamaged, err)
		}
		r.head.Blobs = sortedUnique(r.head.Blobs, refs)
	}
	return r, nil
}

// addTurn appends a committed turn to c's metadata.
func (c *Conversation) addTurn(t Turn) {
	c.Turns = append(c.Turns, t)
	c.Updated = t.Created
	c.applySettings(t)
}

// applySettings keeps the aspect ratio and size a turn asked for, so the next turn reuses them.
func (c *Conversation) applySettings(t Turn) {
	if t.AspectRatio != "" {
		c.AspectRatio = t.AspectRatio
	}
	if t.ImageSize != "" {
		c.ImageSize = t.ImageSize
	}
}

// decodeTurns decodes the stored turns of conversation id.
func decodeTurns(id string, body []json.RawMessage) ([]storedTurn, error) {
	turns := make([]storedTurn, len(body))
	for i, raw := range body {
		if err := json.Unmarshal(raw, &turns[i]); err != nil {
			return nil, fmt.Errorf("conversation %s turn %d: %w: %w", id, i, ErrDamaged, err)
		}
	}
	return turns, nil
}

// contents returns the turns' contents, user then model, with the bytes blob returns for each
// blob reference put back into the inline parts.
func contents(id string, turns []storedTurn, blob func(ref string) ([]byte, error)) ([]*genai.Content, error) {
	out := make([]*genai.Content, 0, 2*len(turns))
	for i, st := range turns {
		user, err := fillContent(st.User, st.UserBlobs, blob)
		if err != nil {
			return nil, fmt.Errorf("conversation %s turn %d user content: %w: %w", id, i, ErrDamaged, err)
		}
		model, err := fillContent(st.Model, st.ModelBlobs, blob)
		if err != nil {
			return nil, fmt.Errorf("conversation %s turn %d model content: %w: %w", id, i, ErrDamaged, err)
		}
		out = append(out, user, model)
	}
	return out, nil
}

// fillContent decodes a stored content and puts the blobs back into its inline parts.
func fillContent(raw json.RawMessage, refs []string, blob func(ref string) ([]byte, error)) (*genai.Content, error) {
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
		data, err := blob(ref)
		if err != nil {
			return nil, fmt.Errorf("part %d: %w", i, err)
		}
		p.InlineData.Data = data
	}
	return &c, nil
}

// latestForOwner returns the newest conversation of one client session of owner in st.
func latestForOwner(ctx context.Context, st Store, owner, session string) (Conversation, error) {
	if session == "" {
		return Conversation{}, fmt.Errorf("a stateless client has no latest conversation: %w", ErrNotFound)
	}
	list, err := st.List(ctx, Query{Owner: owner, Session: session, Limit: 1})
	if err != nil {
		return Conversation{}, err
	}
	if len(list) == 0 {
		return Conversation{}, fmt.Errorf("no conversation for client session %q: %w", session, ErrNotFound)
	}
	return st.Get(ctx, list[0].ID)
}

// matches reports whether the query selects a conversation.
func (q Query) matches(sum Summary) bool {
	return sum.Owner == q.Owner && (q.AllSessions || sum.Session == q.Session)
}

// newestFirst sorts the selected summaries, newest first, and keeps at most Limit.
func (q Query) newestFirst(out []Summary) []Summary {
	slices.SortFunc(out, func(a, b Summary) int {
		return cmp.Or(b.Updated.Compare(a.Updated), b.Created.Compare(a.Created), cmp.Compare(b.ID, a.ID))
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

// imageIn returns the record of imageID from conversation conv, which an image lookup named.
func imageIn(ctx context.Context, st Store, conv, imageID string) (Image, error) {
	c, err := st.Get(ctx, conv)
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

// checkedTurn checks a turn to append to conversation id and encodes it: the stored turn and
// the blobs it refers to, by name.
func checkedTurn(id string, t Turn) (json.RawMessage, map[string][]byte, error) {
	if err := checkConversationID(id); err != nil {
		return nil, nil, err
	}
	if err := checkTurn(t); err != nil {
		return nil, nil, fmt.Errorf("appending to %s: %w", id, err)
	}
	raw, blobs, err := encodeTurn(t)
	if err != nil {
		return nil, nil, fmt.Errorf("appending to %s: %w", id, err)
	}
	return raw, blobs, nil
}

// encodeBatch checks a batch to store and encodes its record.
func encodeBatch(b *Batch) ([]byte, error) {
	if !validBatchID(b.ID) {
		return nil, fmt.Errorf("storing batch: invalid id %q", b.ID)
	}
	data, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encoding batch %s: %w", b.ID, err)
	}
	return data, nil
}

// decodeBatch decodes the stored record of batch id.
func decodeBatch(id string, data []byte) (*Batch, error) {
	var b Batch
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("reading batch %s: %w", id, err)
	}
	return &b, nil
}

// newestBatches reads the batches ids names, newest first, skipping those get cannot read.
func newestBatches(ids []string, get func(id string) (*Batch, error)) []*Batch {
	out := make([]*Batch, 0, len(ids))
	for _, id := range ids {
		if b, err := get(id); err == nil {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b *Batch) int { return b.Created.Compare(a.Created) })
	return out
}

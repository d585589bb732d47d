package session

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"google.golang.org/genai"
)

// Conversation is a multi-turn exchange with one pinned model. Store.Get returns it with turn
// metadata only; Store.History returns the contents.
type Conversation struct {
	ID    string `json:"id"`
	Model string `json:"model"`
	// Owner is the authenticated principal that started the conversation (LocalUser for
	// stdio and unauthenticated loopback HTTP); only it may read, continue, branch or delete
	// the conversation. Records from before owners were principals have none and belong to
	// LocalUser.
	Owner string `json:"principal,omitempty"`
	// Session is the MCP client session that started it, for "this session's latest"; ""
	// for stateless clients, which get no session-based defaults.
	Session string `json:"session,omitempty"`
	// BranchOf and BranchImage name the conversation and image this one was branched from.
	BranchOf    string `json:"branch_of,omitempty"`
	BranchImage string `json:"branch_image,omitempty"`
	// AspectRatio and ImageSize are the defaults carried from turn to turn.
	AspectRatio string    `json:"aspect_ratio,omitempty"`
	ImageSize   string    `json:"image_size,omitempty"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
	Turns       []Turn    `json:"turns,omitempty"`
}

// Turn is one request and its answer. User and Model are the contents exactly as exchanged;
// they are set when a turn is appended and nil in what Store.Get returns.
type Turn struct {
	Prompt string `json:"prompt,omitempty"`
	// AspectRatio and ImageSize are the settings this turn used; non-empty values become the
	// conversation's defaults.
	AspectRatio string `json:"aspect_ratio,omitempty"`
	ImageSize   string `json:"image_size,omitempty"`
	// Seed is the seed the turn was generated with (GenerateContentConfig.Seed), to make it again.
	Seed *int64 `json:"seed,omitempty"`
	// Images are the final images the turn produced (drafts are not recorded).
	Images  []Image   `json:"images,omitempty"`
	Created time.Time `json:"created"`
	// Bytes is the turn's share of a request that replays it (see ContentBytes); set by the
	// store.
	Bytes int64          `json:"bytes"`
	User  *genai.Content `json:"-"`
	Model *genai.Content `json:"-"`
}

// Image records a final image of a conversation. The bytes are in the file at Path (and in a
// blob of the store); Conversation and Turn are set by the store.
type Image struct {
	ID           string `json:"id"`
	Conversation string `json:"conversation"`
	Turn         int    `json:"turn"`
	Path         string `json:"path,omitempty"`
	MIMEType     string `json:"mime_type,omitempty"`
	Width        int    `json:"width,omitempty"`
	Height       int    `json:"height,omitempty"`
}

// Summary is what List returns for each conversation.
type Summary struct {
	ID          string    `json:"id"`
	Model       string    `json:"model"`
	Owner       string    `json:"principal,omitempty"`
	Session     string    `json:"session,omitempty"`
	BranchOf    string    `json:"branch_of,omitempty"`
	Turns       int       `json:"turns"`
	LatestImage string    `json:"latest_image,omitempty"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

// Query selects conversations for List: those of Owner, further narrowed to one client
// Session unless AllSessions is set; newest first, at most Limit (0: no limit). There is no
// query across owners: no caller has a view of another principal's conversations.
type Query struct {
	Owner       string
	Session     string
	AllSessions bool
	Limit       int
}

var (
	// ErrNotFound is returned for a conversation id that names no stored conversation.
	ErrNotFound = errors.New("no conversation has this id")
	// ErrDamaged is returned for a conversation whose record or blobs cannot be read back.
	ErrDamaged = errors.New("conversation record is damaged")
)

// LatestImage returns the most recent final image of the conversation.
func (c Conversation) LatestImage() (Image, bool) {
	for i := len(c.Turns) - 1; i >= 0; i-- {
		if imgs := c.Turns[i].Images; len(imgs) > 0 {
			return imgs[len(imgs)-1], true
		}
	}
	return Image{}, false
}

// Image returns the record of the image with this id, if the conversation has it.
func (c Conversation) Image(id string) (Image, bool) {
	for _, t := range c.Turns {
		for _, img := range t.Images {
			if img.ID == id {
				return img, true
			}
		}
	}
	return Image{}, false
}

// HistoryBytes is the size the stored history adds to a request that replays it.
func (c Conversation) HistoryBytes() int64 {
	var n int64
	for _, t := range c.Turns {
		n += t.Bytes
	}
	return n
}

func (c Conversation) summary() Summary {
	s := Summary{ID: c.ID, Model: c.Model, Owner: c.Owner, Session: c.Session, BranchOf: c.BranchOf,
		Turns: len(c.Turns), Created: c.Created, Updated: c.Updated}
	if img, ok := c.LatestImage(); ok {
		s.LatestImage = img.ID
	}
	return s
}

// ContentBytes estimates the bytes c adds to a request body: its JSON without inline data
// plus the base64 length of every inline blob.
func ContentBytes(c *genai.Content) int64 {
	if c == nil {
		return 0
	}
	stripped, blobs := stripInline(c)
	b, _ := json.Marshal(stripped)
	n := int64(len(b))
	for _, data := range blobs {
		n += int64(base64.StdEncoding.EncodedLen(len(data)))
	}
	return n
}

package session

import (
	"context"
	"time"

	"google.golang.org/genai"
)

// DefaultTTL is how long a conversation is kept after its last turn.
const DefaultTTL = 7 * 24 * time.Hour

// Store keeps conversations. Implementations are safe for concurrent use.
//
// A caller that edits a conversation holds Lock for the whole edit (read the history, call the
// model, append the turn), so concurrent edits of one conversation run one after another while
// other conversations go on. AppendTurn is atomic on its own as well: without Lock, concurrent
// appends all land, in the order they commit.
type Store interface {
	// Create stores a new conversation with no turns. ID, Created and Updated are set by the
	// store; the fields the caller sets are Model (required), Owner (LocalUser when empty),
	// Session, AspectRatio, ImageSize,
	// and BranchOf/BranchImage when it continues another conversation in a fresh context.
	Create(ctx context.Context, c Conversation) (Conversation, error)
	// Get returns a conversation's metadata and turn metadata, without contents or bytes.
	Get(ctx context.Context, id string) (Conversation, error)
	// History returns the contents of every turn, user then model, exactly as appended,
	// image bytes and thought signatures included. Parts that carried identical bytes may
	// share one slice: treat the result as read-only.
	History(ctx context.Context, id string) ([]*genai.Content, error)
	// AppendTurn adds a completed turn: User and Model are required; image records get their
	// conversation and turn index from the store. It returns the updated metadata.
	AppendTurn(ctx context.Context, id string, t Turn) (Conversation, error)
	// Branch starts a new conversation whose history is that of from cut after the turn that
	// produced imageID. The branch keeps the model and owner of from.
	Branch(ctx context.Context, from, imageID string) (Conversation, error)
	// LatestForOwner returns the most recently updated conversation of one client session of
	// owner; ErrNotFound for a stateless client (session "").
	LatestForOwner(ctx context.Context, owner, session string) (Conversation, error)
	// List returns summaries, newest first.
	List(ctx context.Context, q Query) ([]Summary, error)
	// Delete removes a conversation and the blobs nothing else refers to.
	Delete(ctx context.Context, id string) error
	// EvictOlderThan removes conversations last updated before t and the blobs nothing else
	// refers to.
	EvictOlderThan(ctx context.Context, t time.Time) (Eviction, error)
	// Lock waits until the caller is the only editor of conversation id, or ctx ends, and
	// returns the function that ends the edit.
	Lock(ctx context.Context, id string) (unlock func(), err error)
	// FindImage returns the record of an image by id, from any conversation.
	FindImage(ctx context.Context, imageID string) (Image, error)
	// Close releases the store.
	Close() error
}

// Eviction reports what a Delete or EvictOlderThan removed.
type Eviction struct {
	Conversations int
	Blobs         int
	BlobBytes     int64
}

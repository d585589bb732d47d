package session

import (
	stderrors "errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Batch is one batch_generate call: its requests, the Gemini batch jobs behind it (one per
// model) and what became of each request. It is kept until it is collected and then for as
// long as its images are, so that a batch submitted before a restart is followed after it.
type Batch struct {
	ID             string      `json:"id"`
	Owner          string      `json:"owner"` // who may see it: the owner of jobs and conversations
	IdempotencyKey string      `json:"idempotency_key,omitempty"`
	Request        string      `json:"request,omitempty"` // digest of the requests, so a reused key with others is refused
	Created        time.Time   `json:"created"`
	Updated        time.Time   `json:"updated"`
	NextPoll       time.Time   `json:"next_poll"`
	PollErrors     int         `json:"poll_errors,omitempty"` // consecutive failed polls, for backoff
	EstimatedUSD   float64     `json:"estimated_usd"`
	Jobs           []BatchJob  `json:"jobs"`
	Items          []BatchItem `json:"items"`
}

// BatchJob is one Gemini batch job (one model) of a Batch.
type BatchJob struct {
	Name      string `json:"name"`            // "batches/…"; empty until submitted
	Input     string `json:"input,omitempty"` // the JSONL input file ("files/…")
	Model     string `json:"model"`
	State     string `json:"state"` // the SDK's JOB_STATE_*
	Collected bool   `json:"collected"`
	Error     string `json:"error,omitempty"`
}

// BatchItem is one request of a Batch and, once collected, its image or its failure.
type BatchItem struct {
	Key           string `json:"key,omitempty"` // the caller's own name for it
	Job           int    `json:"job"`           // index into Jobs
	Prompt        string `json:"prompt"`
	Model         string `json:"model"`
	AspectRatio   string `json:"aspect_ratio,omitempty"`
	ImageSize     string `json:"image_size,omitempty"`
	ThinkingLevel string `json:"thinking_level,omitempty"`
	Seed          *int32 `json:"seed,omitempty"`

	Status   string  `json:"status"` // pending, succeeded, failed
	ImageID  string  `json:"image_id,omitempty"`
	Path     string  `json:"path,omitempty"`
	MIMEType string  `json:"mime_type,omitempty"`
	Width    int     `json:"width,omitempty"`
	Height   int     `json:"height,omitempty"`
	Bytes    int     `json:"bytes,omitempty"`
	CostUSD  float64 `json:"cost_usd,omitempty"`
	Category string  `json:"category,omitempty"`
	Error    string  `json:"error,omitempty"`
}

// Batch item statuses.
const (
	ItemPending   = "pending"
	ItemSucceeded = "succeeded"
	ItemFailed    = "failed"
)

// ErrNoBatch is returned for a batch id that is not stored.
var ErrNoBatch = stderrors.New("no such batch")

// BatchStore keeps batch records. BatchDir keeps them on disk; a shared store for replicas
// implements the same three methods.
type BatchStore interface {
	PutBatch(b *Batch) error
	GetBatch(id string) (*Batch, error)
	ListBatches() ([]*Batch, error)
}

// BatchDir is a BatchStore of one JSON file per batch, written atomically. With an empty
// directory it keeps the records in memory. Every read returns a fresh copy.
type BatchDir struct {
	dir string
	mu  sync.Mutex
	mem map[string][]byte
}

var _ BatchStore = (*BatchDir)(nil)

// OpenBatchDir opens (creating) the directory of batch records; "" keeps them in memory.
func OpenBatchDir(dir string) (*BatchDir, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating the batch directory: %w", err)
		}
	}
	return &BatchDir{dir: dir, mem: map[string][]byte{}}, nil
}

// PutBatch stores b, replacing any earlier version.
func (s *BatchDir) PutBatch(b *Batch) error {
	data, err := encodeBatch(b)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		s.mem[b.ID] = data
		return nil
	}
	if err := WriteFileAtomic(filepath.Join(s.dir, b.ID+".json"), data, 0o600); err != nil {
		return fmt.Errorf("storing batch %s: %w", b.ID, err)
	}
	return nil
}

// GetBatch returns a copy of the batch, or ErrNoBatch.
func (s *BatchDir) GetBatch(id string) (*Batch, error) {
	if !validBatchID(id) {
		return nil, ErrNoBatch
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.mem[id]
	if s.dir != "" {
		var err error
		data, err = os.ReadFile(filepath.Join(s.dir, id+".json"))
		if os.IsNotExist(err) {
			return nil, ErrNoBatch
		}
		if err != nil {
			return nil, fmt.Errorf("reading batch %s: %w", id, err)
		}
	} else if !ok {
		return nil, ErrNoBatch
	}
	return decodeBatch(id, data)
}

// ListBatches returns every stored batch, newest first; unreadable records are skipped.
func (s *BatchDir) ListBatches() ([]*Batch, error) {
	var ids []string
	s.mu.Lock()
	if s.dir == "" {
		for id := range s.mem {
			ids = append(ids, id)
		}
	} else {
		entries, err := os.ReadDir(s.dir)
		if err != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("listing batches: %w", err)
		}
		for _, e := range entries {
			if id, ok := strings.CutSuffix(e.Name(), ".json"); ok {
				ids = append(ids, id)
			}
		}
	}
	s.mu.Unlock()
	return newestBatches(ids, s.GetBatch), nil
}

// validBatchID keeps ids to the shape NewID makes, so an id can never name a path.
func validBatchID(id string) bool { return ValidID("batch", id) }

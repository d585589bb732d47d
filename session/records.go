package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Records keeps the server's small records other than conversations that replicas share when
// the store is Redis (RedisStore.Records): jobs, idempotency keys, the signed-URL secret, the
// latest failure per principal, usage records and lifecycle state. With the file store each of
// those keeps its own files where Layout says, as it did before replicas. A record is a JSON document named by a kind ("jobs", "state", …) and a key
// (a job id, "lifecycle", …); each kind is used in one of three ways:
//
//   - whole documents: Put, PutIfAbsent (an idempotency key, or get-or-create of a secret:
//     the first writer's value wins and every caller gets it), Get, Delete, Keys;
//   - logs: Append and Log (usage records), one document per entry, in order;
//   - maps: SetField and Fields (lifecycle state), one field written at a time, so replicas
//     updating different fields do not overwrite each other.
//
// Every write is atomic: a crash leaves the record before or after it. EvictOlderThan removes
// the records of a kind last written before a time, whichever way they are used.
type Records interface {
	Put(ctx context.Context, kind, key string, value []byte) error
	PutIfAbsent(ctx context.Context, kind, key string, value []byte) (stored []byte, created bool, err error)
	Get(ctx context.Context, kind, key string) ([]byte, error)
	Delete(ctx context.Context, kind, key string) error
	Keys(ctx context.Context, kind string) ([]string, error)
	Append(ctx context.Context, kind, key string, value []byte) error
	Log(ctx context.Context, kind, key string) ([][]byte, error)
	SetField(ctx context.Context, kind, key, field string, value []byte) error
	Fields(ctx context.Context, kind, key string) (map[string][]byte, error)
	EvictOlderThan(ctx context.Context, kind string, t time.Time) (int, error)
}

// ErrNoRecord is returned for a record that is not stored.
var ErrNoRecord = errors.New("no such record")

// checkRecord refuses names that could leave the kind's directory or key space, and values
// that are not JSON.
func checkRecord(kind, key string, value []byte) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	if !validRecordKey(key) {
		return fmt.Errorf("record key %q must be letters, digits, '.', '_' or '-', at most 128, not starting with '.' or '-'", key)
	}
	if value != nil && !json.Valid(value) {
		return fmt.Errorf("record %s/%s: the value is not JSON", kind, key)
	}
	return nil
}

func checkKind(kind string) error {
	if !validKind(kind) {
		return fmt.Errorf("record kind %q must be a lower-case word (letters, digits, '-')", kind)
	}
	return nil
}

func validKind(kind string) bool {
	if kind == "" || len(kind) > 32 {
		return false
	}
	for _, r := range kind {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return kind[0] >= 'a' && kind[0] <= 'z'
}

func validRecordKey(key string) bool {
	if key == "" || len(key) > 128 || key[0] == '.' || key[0] == '-' || strings.Contains(key, "..") || strings.HasSuffix(key, ".tmp") {
		return false
	}
	for _, r := range key {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '.' && r != '_' && r != '-' {
			return false
		}
	}
	return true
}

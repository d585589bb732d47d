package session

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/nanobanana-mcp/nanobanana-mcp/internal/redistest"
)

// storeKinds is the table every Store test runs over: each entry makes a fresh backing store
// (a directory, a Redis database) and returns the function that opens a client of it. Each
// call opens another client of the same backing store, as a restarted process or another
// replica would.
var storeKinds = []struct {
	name    string
	backing func(t testing.TB) func(*fakeClock) Store
}{
	{"file", func(t testing.TB) func(*fakeClock) Store {
		dir := t.TempDir()
		return func(c *fakeClock) Store { return openStore(t, dir, c) }
	}},
	{"redis", func(t testing.TB) func(*fakeClock) Store {
		url := redistest.URL(t)
		return func(c *fakeClock) Store { return openRedis(t, url, RedisOptions{Now: c.Now}) }
	}},
}

// forEachStore runs test once per store kind.
func forEachStore(t *testing.T, test func(t *testing.T, open func(*fakeClock) Store)) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) { test(t, k.backing(t)) })
	}
}

func openRedis(t testing.TB, url string, opts RedisOptions) *RedisStore {
	t.Helper()
	s, err := OpenRedis(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rawRedis is a plain client of the store's database, to look at or damage what it wrote.
func rawRedis(t testing.TB, s *RedisStore) *redis.Client {
	t.Helper()
	c := redis.NewClient(s.rdb.Options())
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// blobCount is how many image blobs the store holds.
func blobCount(t testing.TB, s Store) int {
	t.Helper()
	switch s := s.(type) {
	case *FileStore:
		return countFiles(t, s.dir+"/"+blobsDir)
	case *RedisStore:
		keys, err := rawRedis(t, s).Keys(ctx, s.blobKey("*")).Result()
		if err != nil {
			t.Fatal(err)
		}
		return len(keys)
	}
	t.Fatalf("unknown store %T", s)
	return 0
}

// hasBlob reports whether the store holds the blob of data.
func hasBlob(t testing.TB, s Store, data []byte) bool {
	t.Helper()
	switch s := s.(type) {
	case *FileStore:
		_, err := s.readBlob(blobName(data))
		return err == nil
	case *RedisStore:
		n, err := rawRedis(t, s).Exists(ctx, s.blobKey(blobName(data))).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	t.Fatalf("unknown store %T", s)
	return false
}

// storedRecord is everything the store keeps for a conversation apart from blobs.
func storedRecord(t testing.TB, s Store, id string) []byte {
	t.Helper()
	switch s := s.(type) {
	case *FileStore:
		return readFile(t, s.conversationPath(id))
	case *RedisStore:
		c := rawRedis(t, s)
		var out []byte
		for _, v := range c.HGetAll(ctx, s.convKey(id)).Val() {
			out = append(out, v...)
		}
		for _, v := range c.LRange(ctx, s.turnsKey(id), 0, -1).Val() {
			out = append(out, v...)
		}
		if len(out) == 0 {
			t.Fatalf("no record of %s in Redis", id)
		}
		return out
	}
	t.Fatalf("unknown store %T", s)
	return nil
}

// localLocks is the store's in-process lock table (both stores queue a process's editors
// there first).
func localLocks(s Store) *keyedLocks {
	switch s := s.(type) {
	case *FileStore:
		return &s.edits
	case *RedisStore:
		return &s.local
	}
	return nil
}

// Package session keeps what outlives one tool call: ids, saved images, and conversations with
// their exact Gemini history.
//
// # Conversations
//
// A [Conversation] pins a model and holds its turns. Each [Turn] keeps the user content and the
// model content exactly as exchanged, so a later request can replay the model's thought
// signatures byte for byte; [Store.History] rebuilds that []*genai.Content. Image bytes never
// live in memory or in a conversation record: every inlineData part is written once to a
// content-addressed blob (its SHA-256) and the record keeps the reference. History reads the
// blobs back, checks their hashes and fills the parts in.
//
// # Storage
//
// [FileStore], the default [Store], is plain files with atomic renames under one directory:
//
//	FORMAT                        store format marker
//	conversations/<id>.json       one file per conversation: a header line, then a body line
//	blobs/<aa>/<sha256>           image bytes, content-addressed, immutable
//	images/<image id>.json        image id → conversation and turn (a lookup hint)
//	jobs/, state/                 the server's other state (see [Layout])
//
// The FORMAT marker is written first, atomically, when the store is created, so servers
// starting at once on a fresh data directory all open it; a non-empty directory without the
// marker is refused: the server writes, and deletes, only inside what it created.
//
// # Replicas: RedisStore
//
// [RedisStore] is the Store several server replicas share (OpenRedis with a redis:// or
// rediss:// URL). It keeps the same records in one Redis database, under a key prefix
// ("nanobanana:" by default):
//
//	c:<id>        hash: the conversation header (the file's first line) and its List summary
//	t:<id>        list: the stored turns (the file's body line), one element per turn
//	i:<image id>  image id → conversation (the lookup hint of images/)
//	b:<sha256>    image bytes, content-addressed, as in blobs/
//	r:<sha256>    set: the conversations that use a blob
//	all, o:<owner>[:<session>]   sorted sets by last update, behind List and EvictOlderThan
//	lock:<id>     a conversation's edit lock: a token with a lease
//	k:<kind>:<key>, kx:<kind>     the other records ([Records], batch records)
//
// Where image bytes live: the history blobs a replayed turn needs are in Redis, so any replica
// can rebuild any conversation's history, thought signatures and all. Every key of a
// conversation carries the store's TTL, renewed by each turn, and the blobs and image lookups
// it uses are renewed with it, so a conversation and everything it needs expire together and
// nothing needs sweeping; Delete and EvictOlderThan remove a blob once the last conversation
// using it is gone. One image is capped (RedisOptions.MaxBlobBytes, 32 MiB by default) with a
// clear error, because Redis keeps every byte in RAM. The images saved for the user stay files
// in --output-dir: replicas share that directory as a volume, and resource reads and signed
// URLs serve from it on any replica.
//
// Concurrency: Lock is a Redis lock per conversation (SET NX PX with a random token, renewed
// every third of its lease while held, released only by its holder through a check-and-delete
// script), so editors on different replicas run one after another; a replica that dies
// holding it stops renewing and the lock frees itself when the lease runs out
// (RedisOptions.LockLease: --job-lease, 30 s by default).
// AppendTurn is optimistic on its own: one Lua script commits a turn only if the conversation
// still has the number of turns the writer read, and otherwise the writer reads again and
// retries, so the later writer never overwrites an earlier turn. Each commit is one script,
// hence atomic: a replica killed mid-call leaves the conversation as it was before the turn or
// after it, and at most the blobs of the turn in flight, which expire. A commit carries an id
// so that a retry after a lost reply does not append the turn twice.
//
// The scripts compute key names from the prefix, so the store needs one Redis (with replicas
// or Sentinel for failover if wanted), not Redis Cluster.
//
// # Owners
//
// Every conversation has an owner, the authenticated principal ([Principal], LocalUser for
// stdio), and the MCP client session that started it. Queries are always within one owner;
// tools treat another owner's conversation or image exactly like an unknown one.
//
// Why files rather than bbolt or SQLite:
//
//   - Several server processes share one data directory in practice (Claude Desktop and Claude
//     Code each start their own stdio server). bbolt holds an exclusive lock on its file, so the
//     second process would fail to start; pure-Go SQLite handles that but adds a large
//     dependency and a second copy of every image unless blobs stay files anyway.
//   - The blobs are files whichever store holds the records, and a conversation record is
//     small (text and signatures), so a record per file with write-to-temp, fsync, rename is a
//     complete transaction: a crash leaves the old file or the new one, never a mixture.
//   - Damage stays local: a bad file is one conversation's error, the rest keep working, and
//     the files can be read and repaired with ordinary tools.
//
// A turn is appended in order: blobs first, then the image lookup files, then the
// conversation file, whose rename is the commit point. A crash before it loses only the turn in
// flight and leaves unreferenced blobs that the next sweep removes.
//
// Memory stays flat in the number of stored conversations: the header line of each file (ids,
// owner, timestamps, turn metadata) is small, and only a summary per conversation is kept in
// RAM to answer [Store.List] and [Store.LatestForOwner] without reading every file. Histories
// and image bytes are read from disk when a request is built.
//
// Several processes may share a directory (one stdio server per client window). Writes stay
// atomic across them, a blob is swept only when unreferenced and older than a grace period (so
// another process's turn in flight keeps its blobs), and Get, History, AppendTurn and FindImage
// read the files, so they see every process's conversations. The in-RAM summary behind List
// and LatestForOwner covers this process's writes and what was on disk at Open. Per-conversation
// locks are in-process: two processes editing one conversation at the same moment would each
// leave a valid file, the later one winning.
package session

package gemini

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"
)

// SharedRecords is the part of a store several replicas share (session.Records, on Redis)
// that the client keeps its usage records and model lifecycle in, so usage_report and the
// lifecycle warnings are the same on every replica.
type SharedRecords interface {
	Append(ctx context.Context, kind, key string, value []byte) error
	Log(ctx context.Context, kind, key string) ([][]byte, error)
	SetField(ctx context.Context, kind, key, field string, value []byte) error
	Fields(ctx context.Context, kind, key string) (map[string][]byte, error)
	EvictOlderThan(ctx context.Context, kind string, t time.Time) (int, error)
}

// sharedTimeout bounds one read or write of a shared record.
const sharedTimeout = 2 * time.Second

// usageKind is the record kind of the shared usage log: one log per UTC day.
const usageKind = "usage"

// usageKeep is how long shared usage records are kept: a report counts this month's grounded
// calls, and a month has at most 31 days.
const usageKeep = 32 * 24 * time.Hour

// NewSharedUsageLog keeps every call in rec, one log per UTC day, so a report counts every
// replica's calls. A record that cannot be written is logged and lost: a report is an
// account, never a reason to fail a generation.
func NewSharedUsageLog(rec SharedRecords, logger *slog.Logger) *UsageLog {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	u := NewUsageLog(0)
	u.shared, u.log = rec, logger
	return u
}

func usageDay(t time.Time) string { return t.UTC().Format("2006-01-02") }

// share appends r to the shared log of its day.
func (u *UsageLog) share(r CallRecord) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	data, err := json.Marshal(r)
	if err == nil {
		err = u.shared.Append(ctx, usageKind, usageDay(r.At), data)
	}
	if err != nil {
		u.log.Warn("storing a usage record in the shared store", "error", err)
	}
	u.mu.Lock()
	due := r.At.Sub(u.evicted) > time.Hour
	if due {
		u.evicted = r.At
	}
	u.mu.Unlock()
	if due {
		_, _ = u.shared.EvictOlderThan(ctx, usageKind, r.At.Add(-usageKeep))
	}
}

// sharedRecords reads the shared logs of every day from since's (or the month's start,
// whichever is earlier: a report counts grounded calls this month) to today.
func (u *UsageLog) sharedRecords(since time.Time) []CallRecord {
	ctx, cancel := context.WithTimeout(context.Background(), 2*sharedTimeout)
	defer cancel()
	now := time.Now().UTC()
	from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	if s := since.UTC(); s.Before(from) {
		from = s
	}
	if now.Sub(from) > usageKeep {
		from = now.Add(-usageKeep)
	}
	var out []CallRecord
	for day := from.Truncate(24 * time.Hour); !day.After(now); day = day.Add(24 * time.Hour) {
		entries, err := u.shared.Log(ctx, usageKind, usageDay(day))
		if err != nil {
			u.log.Warn("reading usage records from the shared store", "error", err)
			continue
		}
		for _, e := range entries {
			var r CallRecord
			if json.Unmarshal(e, &r) == nil {
				out = append(out, r)
			}
		}
	}
	return out
}

// SharedLifecycle is a Lifecycle in records replicas share: one field per model, so replicas
// marking different models never overwrite each other. Reads come from a copy refreshed at
// most every lifecycleRefresh, because Get runs on every call.
type SharedLifecycle struct {
	rec  SharedRecords
	log  *slog.Logger
	mu   sync.Mutex
	mem  *MemoryLifecycle
	read time.Time
}

const lifecycleRefresh = 30 * time.Second

// NewSharedLifecycle returns the lifecycle kept in rec.
func NewSharedLifecycle(rec SharedRecords, logger *slog.Logger) *SharedLifecycle {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &SharedLifecycle{rec: rec, log: logger, mem: NewMemoryLifecycle()}
}

// refresh reads the shared states when the copy is older than lifecycleRefresh.
func (l *SharedLifecycle) refresh() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.read) < lifecycleRefresh {
		return
	}
	l.read = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	fields, err := l.rec.Fields(ctx, "state", "lifecycle")
	if err != nil {
		l.log.Warn("reading the model lifecycle from the shared store", "error", err)
		return
	}
	for id, raw := range fields {
		var st ModelState
		if json.Unmarshal(raw, &st) == nil {
			_ = l.mem.Mark(id, st)
		}
	}
}

// Get returns the state of id, if any replica recorded one.
func (l *SharedLifecycle) Get(id string) (ModelState, bool) {
	l.refresh()
	return l.mem.Get(id)
}

// All returns a copy of every recorded state.
func (l *SharedLifecycle) All() map[string]ModelState {
	l.refresh()
	return l.mem.All()
}

// Mark records the state of id here and for every replica.
func (l *SharedLifecycle) Mark(id string, st ModelState) error {
	old, seen := l.mem.Get(id)
	_ = l.mem.Mark(id, st)
	if seen && sameState(old, st) && st.Updated.Sub(old.Updated) < time.Hour {
		return nil // a repeat (every call of a retiring model) is not worth a write
	}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	return l.rec.SetField(ctx, "state", "lifecycle", id, data)
}

package gemini_test

import (
	"context"
	"testing"
	"time"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/internal/redistest"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

func sharedRecords(t *testing.T, url string) gemini.SharedRecords {
	t.Helper()
	rs, err := session.OpenRedis(context.Background(), url, session.RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Close() })
	return rs.Records()
}

// Two replicas on one Redis: a model one of them found shut down is known to the other, and
// each replica's usage report counts both replicas' calls, per owner too.
func TestReplicasShareLifecycleAndUsage(t *testing.T) {
	url := redistest.URL(t)
	recA, recB := sharedRecords(t, url), sharedRecords(t, url)

	lifeA, lifeB := gemini.NewSharedLifecycle(recA, nil), gemini.NewSharedLifecycle(recB, nil)
	gone := gemini.ModelState{Status: gemini.StateGone, Source: "404", Updated: time.Now().UTC()}
	if err := lifeA.Mark("gemini-2.5-flash-image", gone); err != nil {
		t.Fatal(err)
	}
	if st, ok := lifeB.Get("gemini-2.5-flash-image"); !ok || st.Status != gemini.StateGone || st.Source != "404" {
		t.Errorf("B's view of a model A found gone: %+v %v", st, ok)
	}

	usageA, usageB := gemini.NewSharedUsageLog(recA, nil), gemini.NewSharedUsageLog(recB, nil)
	now := time.Now()
	usageA.Record(gemini.CallRecord{At: now, Owner: "alice", Model: "gemini-3-pro-image", Attempts: 1, Latency: time.Second})
	usageB.Record(gemini.CallRecord{At: now, Owner: "bob", Model: "gemini-3-pro-image", Attempts: 2, Latency: time.Second})
	for name, u := range map[string]*gemini.UsageLog{"A": usageA, "B": usageB} {
		if rep := u.Report(now.Add(-time.Hour)); rep.Calls != 2 || rep.Attempts != 3 {
			t.Errorf("report on %s: %d calls, %d attempts; want both replicas' 2 and 3", name, rep.Calls, rep.Attempts)
		}
		if rep := u.ReportFor(now.Add(-time.Hour), "alice"); rep.Calls != 1 {
			t.Errorf("alice's report on %s: %d calls, want 1", name, rep.Calls)
		}
	}
}

// NewSharedResilience counts the quota of every replica on the Redis together and opens a
// breaker for all when one replica opens it.
func TestSharedResilienceSharesQuotaAndBreakers(t *testing.T) {
	url := redistest.URL(t)
	rs, err := session.OpenRedis(context.Background(), url, session.RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Close() })
	o := gemini.DefaultResilienceOptions()
	o.RPM, o.BreakerAfter = 1, 1
	a, err := gemini.NewSharedResilience(o, gemini.DefaultRegistry(), rs.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := gemini.NewSharedResilience(o, gemini.DefaultRegistry(), rs.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	release, _, err := a.Limiter.Acquire(context.Background(), "gemini-3-pro-image", 1)
	if err != nil {
		t.Fatal(err)
	}
	release()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, _, err := b.Limiter.Acquire(ctx, "gemini-3-pro-image", 1); err == nil {
		t.Error("B sent a second request within the minute of an RPM of 1 that A already used")
	}
	a.Breaker.Record("gemini-3-pro-image", apierrors.Overloaded)
	if ok, _ := b.Breaker.Allow("gemini-3-pro-image"); ok {
		t.Error("a breaker A opened is closed on B")
	}
}

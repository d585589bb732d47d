package tools_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/internal/redistest"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// replica is one server of several sharing a Redis (--store redis://) and an --output-dir
// volume: its own store connection, jobs, Gemini client and MCP client.
type replica struct {
	*harness
	store *session.RedisStore
	jobs  *tools.Jobs
}

// newReplica builds a replica on the Redis at url, as main wires one; principal "" is the local
// user over stdio, a name a principal over HTTP. configure runs last.
func newReplica(t *testing.T, url, principal, outDir string, sim *geminitest.Server, configure ...func(*tools.Wiring)) *replica {
	t.Helper()
	rs, err := session.OpenRedis(context.Background(), url, session.RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Close() })
	rec := rs.Records()
	gc, err := gemini.NewClient(context.Background(), gemini.Config{APIKey: "test-key", BaseURL: sim.URL(), Resilience: oneShot,
		Usage: gemini.NewSharedUsageLog(rec, nil), Lifecycle: gemini.NewSharedLifecycle(rec, nil)})
	if err != nil {
		t.Fatal(err)
	}
	jobs := tools.OpenSharedJobs(rec, time.Hour, 3*time.Second, nil)
	t.Cleanup(func() { _ = jobs.Close() })
	secret, err := tools.SharedURLSecret(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessAs(t, principal, sim, gc, append([]func(*tools.Wiring){func(w *tools.Wiring) {
		w.Store, w.Jobs, w.Shared = rs, jobs, rec
		w.Images = &session.Images{Dir: outDir}
		w.Inputs.AllowedRoots = []string{outDir}
		w.Batches = tools.NewBatches(tools.BatchOptions{Store: rec, Images: w.Images, Lock: rs.Lock})
		w.Delivery.URLs = tools.NewURLSigner(secret, time.Hour)
	}}, configure...)...)
	return &replica{harness: h, store: rs, jobs: jobs}
}

// Two replicas on one Redis: a conversation started on A is continued on B; an async job
// started on A is fetched on B; the same idempotency key sent to both starts one generation;
// a signed URL minted by A is served by B; usage_report and explain_error see A's calls on B.
func TestReplicasShareWhatOutlivesACall(t *testing.T) {
	url, out := redistest.URL(t), t.TempDir()
	sim := newSim(t)
	a, b := newReplica(t, url, "", out, sim), newReplica(t, url, "", out, sim)

	// A conversation started on A, continued on B with its id.
	var first, second tools.ImageOutput
	structured(t, a.call(t, "generate_image", map[string]any{"prompt": "a red kite", "output": "path"}), &first)
	res := b.call(t, "edit_image", map[string]any{"conversation_id": first.ConversationID, "prompt": "make it blue", "output": "path"})
	structured(t, res, &second)
	if res.IsError || second.ConversationID != first.ConversationID || second.Turn != 2 {
		t.Fatalf("B continuing A's conversation: %+v %s", second, text(res))
	}
	reqs := sim.Requests()
	if contents, _ := reqs[len(reqs)-1].Body["contents"].([]any); len(contents) < 3 {
		t.Errorf("B's edit sent %d contents; want A's turn replayed before it", len(contents))
	}

	// An async job started on A, fetched on B (which polls the store while it runs).
	sim.Enqueue("", geminitest.Slow(700*time.Millisecond))
	var pending, fetched tools.ImageOutput
	structured(t, a.call(t, "generate_image", map[string]any{"prompt": "a slow castle", "async": true, "output": "path"}), &pending)
	res = b.call(t, "get_generation", map[string]any{"job_id": pending.JobID, "wait_seconds": 20})
	structured(t, res, &fetched)
	if res.IsError || fetched.ImageID == "" || fetched.Path == "" {
		t.Fatalf("B fetching A's job %s: %s", pending.JobID, text(res))
	}

	// The same idempotency key on both replicas at once: one generation, one image.
	before := len(sim.Requests())
	args := map[string]any{"prompt": "a kite once", "idempotency_key": "req-7", "output": "path"}
	var wg sync.WaitGroup
	outs := make([]tools.ImageOutput, 2)
	for i, r := range []*replica{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := r.call(t, "generate_image", args)
			structured(t, res, &outs[i])
			if outs[i].JobID != "" { // the other replica's job, still running: wait for it
				structured(t, r.call(t, "get_generation", map[string]any{"job_id": outs[i].JobID, "wait_seconds": 20}), &outs[i])
			}
		}()
	}
	wg.Wait()
	if n := len(sim.Requests()) - before; n != 1 || outs[0].ImageID == "" || outs[0].ImageID != outs[1].ImageID {
		t.Errorf("one key on two replicas: %d upstream calls, images %q and %q; want one call, one image", n, outs[0].ImageID, outs[1].ImageID)
	}

	// A signed URL minted on A is served by B.
	link, _ := a.harness.opts.Delivery.URLs.URL("http://replica-a", session.LocalUser, first.ImageID, ".png")
	rec := httptest.NewRecorder()
	b.set.ImageHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, strings.TrimPrefix(link, "http://replica-a"), nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "image/") {
		t.Errorf("B serving A's signed URL: %d %s", rec.Code, rec.Body.String())
	}

	// An image made on A is read on B as a resource, from the shared --output-dir.
	var read mcp.ReadResourceRequest
	read.Params.URI = "image://" + first.ImageID
	if got, err := b.client.ReadResource(context.Background(), read); err != nil || len(got.Contents) != 1 {
		t.Errorf("B reading A's image as a resource: %v", err)
	}

	// usage_report on B counts A's calls; explain_error on B explains A's latest failure.
	var usageA, usageB gemini.UsageReport
	structured(t, a.call(t, "usage_report", map[string]any{}), &usageA)
	structured(t, b.call(t, "usage_report", map[string]any{}), &usageB)
	if usageB.Calls < 4 || usageA.Calls != usageB.Calls {
		t.Errorf("usage on A %d calls, on B %d; want the same count of every replica's calls (at least 4)", usageA.Calls, usageB.Calls)
	}
	sim.Enqueue("", geminitest.InvalidKey())
	if res := a.call(t, "generate_image", map[string]any{"prompt": "fails", "output": "path"}); !res.IsError {
		t.Fatalf("the invalid key fault did not fail the call: %s", text(res))
	}
	var explained tools.ExplainErrorOutput
	structured(t, b.call(t, "explain_error", map[string]any{}), &explained)
	if explained.Source != "last_failure" || explained.Tool != "generate_image" || explained.Category != "auth" {
		t.Errorf("explain_error on B after A's failure: %+v", explained)
	}
}

// A replica that stops (here: its jobs stop renewing their leases, as a killed process's do)
// leaves a running job that another replica reports as interrupted once the lease has run out,
// with the words a restart uses; until then it is reported running.
func TestJobOfAStoppedReplicaIsReportedInterrupted(t *testing.T) {
	url, out := redistest.URL(t), t.TempDir()
	sim := newSim(t)
	gate := make(chan struct{})
	t.Cleanup(func() { close(gate) })
	a := newReplica(t, url, "", out, sim, func(w *tools.Wiring) { w.Gemini = &gated{Gemini: w.Gemini, release: gate} })
	b := newReplica(t, url, "", out, sim)
	clock := &jobClock{t: time.Now()}
	b.jobs.SetClock(clock.Now)

	id := startJob(t, a.harness, map[string]any{"prompt": "never finishes", "output": "path"})
	res := b.call(t, "get_generation", map[string]any{"job_id": id})
	var still tools.ImageOutput
	structured(t, res, &still)
	if res.IsError || still.Status != tools.JobRunning {
		t.Fatalf("a job A is running, read on B: %+v %s", still, text(res))
	}
	_ = a.jobs.Close() // A "dies": nobody renews the lease
	clock.Advance(4 * time.Second)
	res = b.call(t, "get_generation", map[string]any{"job_id": id})
	if !res.IsError || !strings.Contains(text(res), "restarted while this job was generating") {
		t.Errorf("A's job after its lease ran out, on B: %s", text(res))
	}
}

// Two principals on two replicas: each reaches its own conversations and jobs from either
// replica, never the other's.
func TestPrincipalsStayIsolatedAcrossReplicas(t *testing.T) {
	url, out := redistest.URL(t), t.TempDir()
	sim := newSim(t)
	aliceA, aliceB := newReplica(t, url, "alice", out, sim), newReplica(t, url, "alice", out, sim)
	bobB := newReplica(t, url, "bob", out, sim)

	var made tools.ImageOutput
	structured(t, aliceA.call(t, "generate_image", map[string]any{"prompt": "alice's owl", "output": "path"}), &made)
	job := startJob(t, aliceA.harness, map[string]any{"prompt": "alice's job", "output": "path"})

	if res := aliceB.call(t, "get_generation", map[string]any{"job_id": job, "wait_seconds": 20}); res.IsError {
		t.Errorf("alice's job on the other replica: %s", text(res))
	}
	if res := aliceB.call(t, "edit_image", map[string]any{"conversation_id": made.ConversationID, "prompt": "bigger", "output": "path"}); res.IsError {
		t.Errorf("alice's conversation on the other replica: %s", text(res))
	}
	if res := bobB.call(t, "get_generation", map[string]any{"job_id": job}); !res.IsError || !strings.Contains(text(res), "No job has the id") {
		t.Errorf("bob reached alice's job: %s", text(res))
	}
	if res := bobB.call(t, "edit_image", map[string]any{"conversation_id": made.ConversationID, "prompt": "mine now", "output": "path"}); !res.IsError {
		t.Errorf("bob continued alice's conversation: %s", text(res))
	}
}

// newSim starts a simulator for the replicas of one test, closed when the test ends.
func newSim(t *testing.T) *geminitest.Server {
	t.Helper()
	sim, err := geminitest.New(geminitest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

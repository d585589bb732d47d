package gemini

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
)

// churnedClient is a client against an upstream where Nano Banana 2 and Nano Banana are shut
// down (404, absent from models.list), with the default fallback chain and a lifecycle file.
func churnedClient(t *testing.T, life Lifecycle) (*Client, *geminitest.Server) {
	t.Helper()
	sim, err := geminitest.New(geminitest.Config{Faults: "gemini-3.1-flash-image:gone,gemini-2.5-flash-image:gone"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	c, err := NewClient(context.Background(), Config{APIKey: "k", BaseURL: sim.URL(), Lifecycle: life, ListPageSize: 2,
		Resilience: Resilience{Fallbacks: DefaultFallbacks, MaxAttempts: 4}})
	if err != nil {
		t.Fatal(err)
	}
	return c, sim
}

// Which model serves a call, from which it fell back, and what the upstream saw. On the
// churned upstream Nano Banana 2 and Nano Banana are shut down; once the lifecycle is known,
// nano-banana-2 costs one upstream call, to its successor, and a fallback chain skips the
// models known to be gone.
func TestRouting(t *testing.T) {
	for _, tc := range []struct {
		name       string
		churned    bool     // churnedClient, else the plain simulator
		refresh    bool     // read models.list first
		fallbacks  []string // replace the client's chain
		overloaded string   // one 503 queued for this model
		opts       Options
		wantModel  string
		wantFrom   string
		wantCalls  []string // generateContent calls, in order
		wantNote   string
	}{
		{name: "DefaultModelServesWhereOldModelsAreGone", churned: true,
			wantModel: "gemini-nano-banana-2.1", wantCalls: []string{"gemini-nano-banana-2.1"}},
		{name: "AliasOfShutDownModelGoesToSuccessorInOneCall", churned: true, refresh: true,
			opts:      Options{Model: "nano-banana-2", ThinkingLevel: "minimal"},
			wantModel: "gemini-nano-banana-2.1", wantFrom: "gemini-3.1-flash-image", wantCalls: []string{"gemini-nano-banana-2.1"},
			wantNote: "gemini-3.1-flash-image was shut down by Google; used its successor gemini-nano-banana-2.1"},
		{name: "AliasUsesLivingModel", refresh: true, opts: Options{Model: "nano-banana-2"},
			wantModel: "gemini-3.1-flash-image", wantCalls: []string{"gemini-3.1-flash-image"}},
		{name: "FallbackSkipsDeadModels", churned: true, refresh: true, overloaded: "gemini-nano-banana-2.1",
			fallbacks: []string{"nano-banana-pro", "nano-banana-2.1", "nano-banana-2", "nano-banana", "nano-banana-2-lite"},
			wantModel: "gemini-3.1-flash-lite-image", wantFrom: "gemini-nano-banana-2.1",
			wantCalls: []string{"gemini-nano-banana-2.1", "gemini-3.1-flash-lite-image"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c *Client
			var sim *geminitest.Server
			if tc.churned {
				c, sim = churnedClient(t, nil)
			} else {
				c, sim = newTestClient(t, Config{})
			}
			if tc.fallbacks != nil {
				c.res.Fallbacks = tc.fallbacks
			}
			if tc.refresh {
				if _, err := c.Refresh(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if tc.overloaded != "" {
				sim.Enqueue(tc.overloaded, geminitest.Overloaded())
			}
			res, err := c.Generate(context.Background(), Request{Prompt: "p", Options: tc.opts})
			if err != nil {
				t.Fatal(err)
			}
			if res.Model != tc.wantModel || res.FallbackFrom != tc.wantFrom {
				t.Errorf("served by %s from %q; want %s from %q", res.Model, res.FallbackFrom, tc.wantModel, tc.wantFrom)
			}
			if calls := sim.GenerateModels(); !slices.Equal(calls, tc.wantCalls) {
				t.Errorf("upstream calls %v; want %v, nothing to the dead models", calls, tc.wantCalls)
			}
			if !strings.Contains(strings.Join(res.Notes, "\n"), tc.wantNote) {
				t.Errorf("notes %q; want %q", res.Notes, tc.wantNote)
			}
		})
	}
}

func TestRefreshFollowsPagesAndMarksAbsentModels(t *testing.T) {
	c, sim := churnedClient(t, nil)
	rep, err := c.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rep.Unavailable, ",") != "gemini-3.1-flash-image,gemini-2.5-flash-image" || len(rep.Available) != 3 {
		t.Errorf("report %+v", rep)
	}
	lists := 0
	for _, r := range sim.Requests() {
		if r.Action == "list" {
			lists++
		}
	}
	if lists < 3 {
		t.Errorf("%d models.list pages read; with page size 2 the simulator's models take at least 3", lists)
	}
	if st, _ := c.ModelState("gemini-3.1-flash-image"); st.Status != StateUnavailable {
		t.Errorf("NB2 state %+v", st)
	}
	w := strings.Join(c.Warnings(), "\n")
	if !strings.Contains(w, "gemini-3.1-flash-image was shut down by Google; calls go to its successor gemini-nano-banana-2.1") ||
		!strings.Contains(w, "gemini-2.5-flash-image is not available to this API key") {
		t.Errorf("warnings %q", w)
	}
}

// Before anything is known: at most one 404, then the successor, and the 404 is remembered
// in the lifecycle file so that a restarted server goes straight to the successor.
func TestFirst404IsRememberedAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lifecycle.json")
	life, err := OpenLifecycle(path)
	if err != nil {
		t.Fatal(err)
	}
	c, sim := churnedClient(t, life)
	res, err := c.Generate(context.Background(), Request{Prompt: "p", Options: Options{Model: "nano-banana-2"}})
	if err != nil {
		t.Fatal(err)
	}
	if calls := sim.GenerateModels(); strings.Join(calls, ",") != "gemini-3.1-flash-image,gemini-nano-banana-2.1" {
		t.Errorf("calls %v; want one 404 then the successor", calls)
	}
	if res.Model != "gemini-nano-banana-2.1" || res.FallbackFrom != "gemini-3.1-flash-image" ||
		!strings.Contains(strings.Join(res.Notes, "\n"), "shut down by Google; used its successor gemini-nano-banana-2.1") {
		t.Errorf("served by %s from %q, notes %q", res.Model, res.FallbackFrom, res.Notes)
	}

	again, err := OpenLifecycle(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := again.Get("gemini-3.1-flash-image"); !ok || st.Status != StateGone || st.Source != "404" {
		t.Fatalf("persisted state %+v %v", st, ok)
	}
	c2, sim2 := churnedClient(t, again)
	if _, err := c2.Generate(context.Background(), Request{Prompt: "p", Options: Options{Model: "nano-banana-2"}}); err != nil {
		t.Fatal(err)
	}
	if calls := sim2.GenerateModels(); strings.Join(calls, ",") != "gemini-nano-banana-2.1" {
		t.Errorf("after restart: calls %v; want only the successor", calls)
	}
}

func TestThinkingLevels(t *testing.T) {
	c, sim := newTestClient(t, Config{})
	if _, err := c.Generate(context.Background(), Request{Prompt: "p", Options: Options{ThinkingLevel: "medium"}}); err != nil {
		t.Fatal(err)
	}
	reqs := sim.Requests()
	cfg, _ := reqs[len(reqs)-1].Body["generationConfig"].(map[string]any)
	tc, _ := cfg["thinkingConfig"].(map[string]any)
	if tc["thinkingLevel"] != "MEDIUM" {
		t.Errorf("thinkingConfig %v; want MEDIUM", tc)
	}
	n := len(sim.Requests())
	_, err := c.Generate(context.Background(), Request{Prompt: "p", Options: Options{Model: "nano-banana-pro", ThinkingLevel: "medium"}})
	d := apierrors.Classify(err)
	if d.Category != apierrors.UnsupportedParameter || !strings.Contains(d.Summary, "gemini-nano-banana-2.1") {
		t.Errorf("Pro with a level: %+v", d)
	}
	if len(sim.Requests()) != n {
		t.Error("the refused request reached the upstream")
	}
}

func TestRetirementSurfacesInNotesAndWarnings(t *testing.T) {
	sim, err := geminitest.New(geminitest.Config{Faults: "gemini-3-pro-image:retiring=2027-01-15"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	c, err := NewClient(context.Background(), Config{APIKey: "k", BaseURL: sim.URL()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Generate(context.Background(), Request{Prompt: "p", Options: Options{Model: "nano-banana-pro"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "gemini-3-pro-image is being retired by Google on 2027-01-15") {
		t.Errorf("notes %q", res.Notes)
	}
	st, _ := c.ModelState("gemini-3-pro-image")
	if st.Status != StateRetiring || !st.RetirementTime.Equal(time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("state %+v", st)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "2027-01-15") {
		t.Errorf("warnings %q", w)
	}
	// A later models.list keeps the retirement date.
	if _, err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.ModelState("gemini-3-pro-image"); st.Status != StateRetiring {
		t.Errorf("after refresh: %+v", st)
	}
}

func TestConversationOnShutDownModelCannotContinue(t *testing.T) {
	c, sim := churnedClient(t, nil)
	if _, err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := c.Generate(context.Background(), Request{Prompt: "p", UpstreamID: "gemini-3.1-flash-image", Options: Options{Model: "gemini-3.1-flash-image"}})
	var gone *GoneError
	if !errors.As(err, &gone) || gone.Successor != "gemini-nano-banana-2.1" {
		t.Fatalf("err %v", err)
	}
	d := apierrors.Classify(err)
	if d.Category != apierrors.ModelNotFound || !strings.Contains(d.Summary, "shut down") || !strings.Contains(d.Summary, "edit_image") {
		t.Errorf("%+v", d)
	}
	if len(sim.GenerateModels()) != 0 {
		t.Error("a call was wasted on the shut-down model")
	}
}

func TestUnlistedModelIsAdoptedWithConservativeDefaults(t *testing.T) {
	r := DefaultRegistry()
	if err := r.SetDefault("gemini-some-new-id"); err != nil {
		t.Fatal(err)
	}
	p, err := r.Validate(Request{Prompt: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Model.ID != "gemini-some-new-id" || p.ImageSize != "1K" || len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "not in the model registry") {
		t.Errorf("plan %+v", p)
	}
	if err := r.SetDefault("dall-e-3"); err == nil {
		t.Error("a name that is no Gemini id was adopted")
	}
}

// A 404 outweighs a models.list that still shows the model (lists lag behind shutdowns), and
// expires after a week, so that a 404 from a misconfigured relay does not hide a model forever.
func TestGoneRecordOutweighsListingAndExpires(t *testing.T) {
	sim, err := geminitest.New(geminitest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	c, err := NewClient(context.Background(), Config{APIKey: "k", BaseURL: sim.URL(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	sim.Enqueue("gemini-3.1-flash-image", geminitest.NotFound())
	if _, err := c.Generate(context.Background(), Request{Prompt: "p", Options: Options{Model: "nano-banana-2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	sim.Reset()
	res, err := c.Generate(context.Background(), Request{Prompt: "p", Options: Options{Model: "nano-banana-2"}})
	if err != nil || res.Model != "gemini-nano-banana-2.1" || len(sim.GenerateModels()) != 1 {
		t.Fatalf("after the 404 and a listing: %v %v calls %v", res, err, sim.GenerateModels())
	}
	now = now.Add(8 * 24 * time.Hour)
	res, err = c.Generate(context.Background(), Request{Prompt: "p", Options: Options{Model: "nano-banana-2"}})
	if err != nil || res.Model != "gemini-3.1-flash-image" {
		t.Errorf("a week later the model is tried again: %v %v", res, err)
	}
}

func TestFileLifecycleWritesAtomicallyAndSkipsRepeats(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "lifecycle.json")
	l, err := OpenLifecycle(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	if err := l.Mark("m", ModelState{Status: StateGone, Source: "404", Updated: at}); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("file %v %v", info, err)
	}
	if err := l.Mark("m", ModelState{Status: StateGone, Source: "404", Updated: at.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if st, _ := l.Get("m"); !st.Updated.Equal(at.Add(time.Minute)) {
		t.Errorf("memory not updated: %+v", st)
	}
	again, err := OpenLifecycle(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := again.Get("m"); !st.Updated.Equal(at) {
		t.Errorf("a repeat within the hour rewrote the file: %+v", st)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLifecycle(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a damaged file: %v", err)
	}
}

func TestRetirementIsLoggedOnceADay(t *testing.T) {
	sim, err := geminitest.New(geminitest.Config{Faults: "gemini-3-pro-image:retiring=2027-01-15"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	var logs strings.Builder
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	c, err := NewClient(context.Background(), Config{APIKey: "k", BaseURL: sim.URL(), Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []time.Duration{0, time.Hour, 20 * time.Hour, 5 * time.Hour} {
		now = now.Add(step)
		if _, err := c.Generate(context.Background(), Request{Prompt: "p", Options: Options{Model: "nano-banana-pro"}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "model retirement announced"); n != 2 {
		t.Errorf("%d retirement warnings over a day and a few hours; want 2:\n%s", n, logs.String())
	}
}

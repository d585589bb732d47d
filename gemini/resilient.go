package gemini

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/resilience"
)

// Resilience configures the one retry layer: local rate limits, the breaker, the fallback
// chain and the bounds of a call.
type Resilience struct {
	Fallbacks       []string      // model names tried in order after the requested one
	FallbackOnQuota bool          // a spent quota of the requested model moves to the next one
	MaxAttempts     int           // upstream calls per tool call, all models together; default 4
	CallTimeout     time.Duration // everything one call may take, waits included; default 10 min
	Limiter         *resilience.Limiter
	Breaker         *resilience.Breaker
	Clock           resilience.Clock
}

// DefaultFallbacks is Pro → Nano Banana 2.1 → Nano Banana 2 Lite: models Google serves to
// new keys (Nano Banana 2 is deprecated, Nano Banana restricted to earlier users).
var DefaultFallbacks = []string{"nano-banana-pro", "nano-banana-2.1", "nano-banana-2-lite"}

// generate runs a validated plan through the executor: breaker, limiter, call, classify,
// retry or fall back. A conversation (history, or a pinned upstream id) never falls back.
func (c *Client) generate(ctx context.Context, plan *Plan) (*Result, error) {
	pinned := plan.Pinned || len(plan.History) > 0
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.res.CallTimeout)
		defer cancel()
	}
	plans := map[string]*Plan{plan.UpstreamID: plan}
	// A pinned plan never falls back; the executor still sees the chain, to say in the error
	// which model a new conversation could use.
	var fallbacks []resilience.Candidate
	chain := c.fallbacksFor(plan.Model)
	succ := c.liveSuccessor(plan.Model)
	if succ != nil {
		// Until the primary's fate is known, a 404 from it goes straight to its successor.
		chain = append([]string{succ.ID}, chain...)
	}
	for _, name := range chain {
		fp, ok := c.adapt(plan, name)
		if ok && !c.usable(fp.UpstreamID) {
			continue // known to be shut down or out of this key's reach: never a wasted call
		}
		if ok && !slices.ContainsFunc(fallbacks, func(f resilience.Candidate) bool { return f.ID == fp.UpstreamID }) {
			plans[fp.UpstreamID] = fp
			fallbacks = append(fallbacks, resilience.Candidate{ID: fp.UpstreamID, Family: fp.Model.Family})
		}
	}
	report := plan.Progress
	if report == nil {
		report = func(string) {}
	}
	rp := resilience.Plan{
		Model:           resilience.Candidate{ID: plan.UpstreamID, Family: plan.Model.Family},
		Fallbacks:       fallbacks,
		Pinned:          pinned,
		FallbackOnQuota: c.res.FallbackOnQuota,
		MaxAttempts:     c.res.MaxAttempts,
		AttemptTimeout:  c.deadline(plan.ImageSize),
		MinCallTime:     10 * time.Second,
		OnEvent: func(ev resilience.Event) {
			if ev.Kind == resilience.EventFallback && c.rec != nil {
				c.rec.Fallback(ev.From, ev.Model)
			}
			if ev.Message != "" {
				report(ev.Message)
			}
		},
	}
	start := c.now()
	result, out, err := resilience.Do(ctx, c.exec, rp, func(ctx context.Context, m resilience.Candidate) (*Result, error) {
		p := plans[m.ID]
		if p == nil {
			return nil, fmt.Errorf("no plan for %s", m.ID) // cannot happen: the chain comes from plans
		}
		return c.send(ctx, p)
	})
	rec := CallRecord{At: start, Owner: plan.Owner, Model: out.Model, FallbackFrom: out.FallbackFrom, Attempts: out.Attempts,
		Waited: out.Waited, Queued: out.Queued, Latency: c.now().Sub(start), Tries: out.Tries}
	if err != nil {
		if out.Diagnosis != nil {
			rec.Category = out.Diagnosis.Category // classified once, where the executor met it
		}
		c.record(rec)
		if pinned && !c.usable(plan.UpstreamID) {
			return nil, conversationGone(plan.UpstreamID, succ)
		}
		return nil, err
	}
	result.Attempts, result.Elapsed = out.Attempts, rec.Latency
	if out.FallbackFrom != "" {
		result.FallbackFrom = out.FallbackFrom
		if st, ok := c.ModelState(out.FallbackFrom); ok && !st.Usable() && succ != nil && result.Model == succ.ID {
			result.Notes = append(result.Notes, c.usedSuccessor(plan.Model, st, succ))
		} else {
			result.Notes = append(result.Notes, fmt.Sprintf("%s was unavailable, so %s served this call", out.FallbackFrom, result.Model))
		}
	}
	if plan.From != "" {
		result.FallbackFrom = plan.From
	}
	rec.Usage, rec.CostUSD, rec.Grounded = result.Usage, result.CostUSD, plans[out.Model] != nil && plans[out.Model].GoogleSearch
	c.record(rec)
	return result, nil
}

// fallbacksFor is the part of the chain after m (the chain is in order of preference, so a
// model never falls back to one listed before it); a model not in the chain gets all of it.
func (c *Client) fallbacksFor(m *Model) []string {
	for i, name := range c.res.Fallbacks {
		if res, err := c.reg.Lookup(name); err == nil && res.Model == m {
			return c.res.Fallbacks[i+1:]
		}
	}
	return c.res.Fallbacks
}

// adapt re-plans a request for a fallback model: a parameter the fallback lacks is changed to
// the nearest it has, with a note, never silently. A fallback that cannot take the request at
// all (too many reference images) is skipped.
func (c *Client) adapt(p *Plan, name string) (*Plan, bool) {
	res, err := c.reg.Lookup(name)
	if err != nil || res.Model == p.Model {
		return nil, false
	}
	m := res.Model
	if len(p.References) > m.MaxReferenceImages {
		return nil, false
	}
	fp := *p
	fp.Model, fp.UpstreamID, fp.Notes = m, m.ID, slices.Clone(p.Notes)
	note := func(format string, args ...any) {
		fp.Notes = append(fp.Notes, fmt.Sprintf("on fallback %s: ", m.ID)+fmt.Sprintf(format, args...))
	}
	if fp.AspectRatio != "" && !slices.Contains(m.AspectRatios, fp.AspectRatio) {
		near := nearestRatio(fp.AspectRatio, m.AspectRatios)
		note("aspect ratio %s is not supported, %s was used", fp.AspectRatio, near)
		fp.AspectRatio = near
	}
	if !slices.Contains(m.Sizes, fp.ImageSize) {
		near := nearestSize(fp.ImageSize, m.Sizes)
		note("size %s is not supported, %s was used", fp.ImageSize, near)
		fp.ImageSize = near
	}
	if fp.ThinkingLevel != "" && !slices.Contains(m.ThinkingLevels, fp.ThinkingLevel) {
		note("thinking level %s is not supported and was dropped", fp.ThinkingLevel)
		fp.ThinkingLevel = ""
	}
	// A call that asked for search is grounded or fails: a fallback that cannot search would
	// answer without the facts the user asked to be looked up.
	if fp.ImageSearch && !m.Searches("image") || fp.GoogleSearch && !m.Searches("web") {
		return nil, false
	}
	return &fp, true
}

func ratioValue(r string) float64 {
	w, h, ok := strings.Cut(r, ":")
	if !ok {
		return 1
	}
	a, _ := strconv.ParseFloat(w, 64)
	b, _ := strconv.ParseFloat(h, 64)
	if b == 0 {
		return 1
	}
	return a / b
}

func nearestRatio(want string, have []string) string {
	best, bestD := have[0], math.Inf(1)
	for _, r := range have {
		if d := math.Abs(math.Log(ratioValue(r) / ratioValue(want))); d < bestD {
			best, bestD = r, d
		}
	}
	return best
}

var sizeOrder = map[string]int{"512": 0, "1K": 1, "2K": 2, "4K": 3}

// nearestSize picks the largest size not above the one asked for, else the smallest.
func nearestSize(want string, have []string) string {
	best := ""
	for _, s := range have {
		if sizeOrder[s] <= sizeOrder[want] && (best == "" || sizeOrder[s] > sizeOrder[best]) {
			best = s
		}
	}
	if best == "" {
		best = have[0]
	}
	return best
}

package gemini

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/genai"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// Google retires an image model id every few months. The registry says what was announced;
// this file keeps up with what the live API does: models.list at start-up and in
// check_config, 404s and modelStatus on every call, all kept in the Lifecycle.

// ModelState returns what is known at run time about a model id.
func (c *Client) ModelState(id string) (ModelState, bool) {
	if c.life == nil {
		return ModelState{}, false
	}
	return c.life.Get(id)
}

// goneRecheck is how long a 404 keeps calls away from a model. Past it the model is tried
// again (one call), in case the 404 came from a misconfigured relay rather than Google.
const goneRecheck = 7 * 24 * time.Hour

// blocked returns the state of id when calls must not go to it: known to be unavailable,
// or shut down (a 404) within goneRecheck.
func (c *Client) blocked(id string) (ModelState, bool) {
	st, ok := c.ModelState(id)
	if !ok || st.Usable() || (st.Status == StateGone && c.now().Sub(st.Updated) > goneRecheck) {
		return st, false
	}
	return st, true
}

// usable reports whether calls may go to id.
func (c *Client) usable(id string) bool {
	_, blocked := c.blocked(id)
	return !blocked
}

func (c *Client) mark(id string, st ModelState) {
	if c.life == nil {
		return
	}
	st.Updated = c.now()
	if err := c.life.Mark(id, st); err != nil {
		c.log.Warn("could not record a model's lifecycle", "model", id, "err", err)
	}
}

// markNotFound records a 404 from generateContent: Google no longer serves the model.
func (c *Client) markNotFound(id string) {
	if st, ok := c.ModelState(id); ok && c.recentlyGone(st) {
		return
	}
	c.log.Warn("model answered 404; calls go to its successor from now on", "model", id)
	c.mark(id, ModelState{Status: StateGone, Source: "404"})
}

// markStatus records a response's modelStatus and returns the note for the result, if any.
func (c *Client) markStatus(id string, ms *genai.ModelStatus) string {
	if ms == nil || (ms.RetirementTime.IsZero() && ms.ModelStage != genai.ModelStageRetired && ms.ModelStage != genai.ModelStageDeprecated) {
		if st, ok := c.ModelState(id); !ok || st.Status != StateAvailable {
			c.mark(id, ModelState{Status: StateAvailable, Source: "response"})
		}
		return ""
	}
	st := ModelState{Status: StateRetiring, RetirementTime: ms.RetirementTime.UTC(), Message: ms.Message, Source: "modelStatus"}
	c.mark(id, st)
	note := retirementNote(id, st)
	c.warnDaily(id, note)
	return note
}

func retirementNote(id string, st ModelState) string {
	note := id + " is being retired by Google"
	if !st.RetirementTime.IsZero() {
		note += " on " + st.RetirementTime.Format("2006-01-02")
	}
	if st.Message != "" {
		note += " (" + strings.TrimSuffix(st.Message, ".") + ")"
	}
	return note
}

// warnDaily logs a retirement warning at most once a day per model.
func (c *Client) warnDaily(id, note string) {
	c.warnMu.Lock()
	last, seen := c.warned[id]
	now := c.now()
	if seen && now.Sub(last) < 24*time.Hour {
		c.warnMu.Unlock()
		return
	}
	c.warned[id] = now
	c.warnMu.Unlock()
	c.log.Warn("model retirement announced", "model", id, "note", note)
}

// Warnings returns one line per registry model that is retiring, unavailable or shut down,
// for list_models and check_config.
func (c *Client) Warnings() []string {
	var out []string
	for _, m := range c.reg.Models() {
		st, ok := c.ModelState(m.ID)
		if !ok {
			continue
		}
		switch st.Status {
		case StateRetiring:
			out = append(out, retirementNote(m.ID, st))
		case StateGone, StateUnavailable:
			out = append(out, c.unavailableText(m, st))
		}
	}
	return out
}

// unavailableText says why calls to m go elsewhere.
func (c *Client) unavailableText(m *Model, st ModelState) string {
	var why string
	switch {
	case st.Status == StateGone || m.Status == "deprecated":
		why = m.ID + " was shut down by Google"
	case m.Status == "restricted":
		why = m.ID + " is not available to this API key (Google serves it only to projects that already used it)"
	default:
		why = m.ID + " is not available to this API key (" + st.Source + ")"
	}
	if next, ok := c.reg.Successor(m); ok {
		why += "; calls go to its successor " + next.ID
	}
	return why
}

// route sends a plan for a model known to be unavailable to its successor (following the
// chain of successors), before any call: one upstream call instead of a wasted 404. A
// conversation cannot move: its thought signatures belong to its model.
func (c *Client) route(p *Plan) (*Plan, error) {
	st, blocked := c.blocked(p.UpstreamID)
	if !blocked {
		return p, nil
	}
	next := c.liveSuccessor(p.Model)
	if p.Pinned || len(p.History) > 0 {
		return nil, conversationGone(p.UpstreamID, next)
	}
	if next == nil {
		return p, nil // nothing better is known: let the upstream answer for itself
	}
	fp, ok := c.adapt(p, next.ID)
	if !ok && (p.ImageSearch && !next.Searches("image") || p.GoogleSearch && !next.Searches("web")) {
		return nil, paramError(next, "%s; its successor %s cannot ground in the Google Search this call asked for; drop google_search and image_search.",
			c.unavailableText(p.Model, st), next.ID)
	}
	if !ok {
		return nil, paramError(next, "%s; its successor %s cannot take this request (%d reference images, at most %d); send fewer images.",
			c.unavailableText(p.Model, st), next.ID, len(p.References), next.MaxReferenceImages)
	}
	fp.From = p.Model.ID
	fp.Notes = append(fp.Notes, c.usedSuccessor(p.Model, st, next))
	return fp, nil
}

func (c *Client) usedSuccessor(m *Model, st ModelState, next *Model) string {
	why := c.unavailableText(m, st)
	if i := strings.Index(why, "; calls go to"); i >= 0 {
		why = why[:i]
	}
	return why + "; used its successor " + next.ID
}

// liveSuccessor is the first successor of m not known to be unavailable.
func (c *Client) liveSuccessor(m *Model) *Model {
	seen := map[*Model]bool{m: true}
	for next, ok := c.reg.Successor(m); ok && !seen[next]; next, ok = c.reg.Successor(next) {
		if c.usable(next.ID) {
			return next
		}
		seen[next] = true
	}
	return nil
}

// GoneError is the failure of a conversation whose model Google has shut down. The tools
// name the conversation's latest image in the message (ConversationGone).
type GoneError struct {
	Model     string // the conversation's model
	Successor string // where a new conversation can go; "" when none is known
	err       *apierrors.Error
}

func (e *GoneError) Error() string { return e.err.Error() }

// Unwrap returns the explained error, for apierrors.Classify.
func (e *GoneError) Unwrap() error { return e.err }

func conversationGone(model string, next *Model) *GoneError {
	succ := ""
	if next != nil {
		succ = next.ID
	}
	return &GoneError{Model: model, Successor: succ, err: ConversationGone(model, succ, "")}
}

// ConversationGone explains that a conversation cannot continue because its model was shut
// down, naming the image to start again from when it is known.
func ConversationGone(model, successor, imageID string) *apierrors.Error {
	start := "start a new conversation with edit_image and image set to this conversation's latest image_id"
	if imageID != "" {
		start = "start a new conversation in one step with edit_image and image=" + imageID
	}
	if successor != "" {
		start += " (it will use " + successor + ")"
	}
	e := apierrors.Newf(apierrors.ModelNotFound, "This conversation was made with %s, which Google has shut down; its thought "+
		"signatures only work with that model, so it cannot continue: %s.", model, start)
	e.Diagnosis.Model = model
	e.Diagnosis.Actor = apierrors.ActorYou
	return e
}

// RefreshReport is what one look at the live model list found.
type RefreshReport struct {
	Method      string   // "models.list" or "models.get"
	Available   []string // registry ids this key can use
	Unavailable []string // registry ids it cannot
	Unknown     []string // registry ids the API could not say anything clear about
}

// Refresh asks the API which registry models this key can use and records it: models.list
// (every page) on the Gemini API; models.get per model on Vertex AI, whose publisher list
// does not answer that question. Only a clear "not found" marks a model unavailable.
func (c *Client) Refresh(ctx context.Context) (RefreshReport, error) {
	if c.sdk == nil {
		return RefreshReport{}, c.errNoCredentials()
	}
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if c.backend == "vertex-ai" {
		return c.refreshByGet(ctx), nil
	}
	listed := map[string]bool{}
	cfg := &genai.ListModelsConfig{PageSize: int32(c.listPageSize)}
	page, err := c.sdk.Models.List(ctx, cfg)
	for pages := 0; ; pages++ {
		if err != nil {
			return RefreshReport{}, fmt.Errorf("listing models: %w", err)
		}
		for _, m := range page.Items {
			listed[strings.TrimPrefix(m.Name, "models/")] = true
		}
		if page.NextPageToken == "" || pages > 100 {
			break
		}
		page, err = page.Next(ctx)
		if errors.Is(err, genai.ErrPageDone) {
			break
		}
	}
	rep := RefreshReport{Method: "models.list"}
	for _, m := range c.reg.Models() {
		if listed[m.ID] {
			rep.Available = append(rep.Available, m.ID)
			// A recent 404 outweighs a listing: the list can lag behind a shutdown.
			if st, ok := c.ModelState(m.ID); !ok || (st.Status != StateRetiring && !c.recentlyGone(st)) {
				c.mark(m.ID, ModelState{Status: StateAvailable, Source: "models.list"})
			}
			continue
		}
		rep.Unavailable = append(rep.Unavailable, m.ID)
		if st, ok := c.ModelState(m.ID); !ok || st.Status != StateGone {
			c.mark(m.ID, ModelState{Status: StateUnavailable, Source: "absent from models.list"})
		}
	}
	return rep, nil
}

func (c *Client) recentlyGone(st ModelState) bool {
	return st.Status == StateGone && c.now().Sub(st.Updated) <= goneRecheck
}

func (c *Client) refreshByGet(ctx context.Context) RefreshReport {
	rep := RefreshReport{Method: "models.get"}
	for _, m := range c.reg.Models() {
		_, err := c.sdk.Models.Get(ctx, m.ID, nil)
		switch {
		case err == nil:
			rep.Available = append(rep.Available, m.ID)
			if st, ok := c.ModelState(m.ID); !ok || (st.Status != StateRetiring && !c.recentlyGone(st)) {
				c.mark(m.ID, ModelState{Status: StateAvailable, Source: "models.get"})
			}
		case isNotFound(err):
			rep.Unavailable = append(rep.Unavailable, m.ID)
			if st, ok := c.ModelState(m.ID); !ok || st.Status != StateGone {
				c.mark(m.ID, ModelState{Status: StateUnavailable, Source: "models.get answered 404"})
			}
		default:
			rep.Unknown = append(rep.Unknown, m.ID) // a network error or 403 says nothing about the model
		}
	}
	return rep
}

// RefreshInBackground runs Refresh once without delaying anything, logging what it found.
func (c *Client) RefreshInBackground(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if c.sdk == nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		rep, err := c.Refresh(ctx)
		if err != nil {
			c.log.Warn("could not learn which models this key can use; the registry is used as is",
				"err", apierrors.Sanitize(err.Error()))
			return
		}
		if len(rep.Unavailable) > 0 {
			c.log.Warn("some registry models are not available to this key; calls to them go to their successors",
				"method", rep.Method, "unavailable", rep.Unavailable, "available", rep.Available)
		} else {
			c.log.Info("models checked", "method", rep.Method, "available", rep.Available)
		}
	}()
	return done
}

type churnState struct {
	life         Lifecycle
	listPageSize int
	refreshMu    sync.Mutex
	warnMu       sync.Mutex
	warned       map[string]time.Time
}

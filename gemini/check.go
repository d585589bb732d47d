package gemini

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// Location returns the Vertex AI location in use ("" on the Gemini API).
func (c *Client) Location() string { return c.location }

// HasCredentials reports whether a key (or Vertex credentials) is configured at all.
func (c *Client) HasCredentials() bool { return c.sdk != nil }

// CheckModel asks the API about a model (models.get) without generating anything: it proves
// the key is accepted and the model is reachable from this backend and region.
func (c *Client) CheckModel(ctx context.Context, id string) error {
	if c.sdk == nil {
		return c.errNoCredentials()
	}
	if err := c.checkLocation(id); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := c.sdk.Models.Get(ctx, id, nil); err != nil {
		return fmt.Errorf("looking up %s: %w", id, err)
	}
	return nil
}

// Routed reports whether calls to the registry model m go to its live successor because m is
// known to be shut down or unavailable, with the sentence that says so; check_config shows it
// instead of asking the API about a model it already knows is gone.
func (c *Client) Routed(m *Model) (string, bool) {
	st, blocked := c.blocked(m.ID)
	if !blocked || c.liveSuccessor(m) == nil {
		return "", false
	}
	return c.unavailableText(m, st), true
}

// checkLocation catches the most common Vertex mistake locally: a model served from some
// locations only (the Gemini 3 image models and their successors: global), as the registry's
// vertex_locations says.
func (c *Client) checkLocation(id string) error {
	if c.backend != "vertex-ai" || c.location == "" {
		return nil
	}
	res, err := c.reg.Lookup(id)
	if err != nil || len(res.Model.VertexLocations) == 0 || slices.Contains(res.Model.VertexLocations, c.location) {
		return nil
	}
	e := apierrors.Newf(apierrors.LocationUnsupported,
		"Vertex AI location %s does not serve %s; set GOOGLE_CLOUD_LOCATION=%s.", c.location, id, res.Model.VertexLocations[0])
	e.Diagnosis.Model = id
	return e
}

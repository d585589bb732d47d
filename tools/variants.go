package tools

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
)

// MaxImagesPerCall bounds n. Gemini 3 image models refuse candidateCount > 1, so n images are n
// upstream requests, each counted by the limiter and the daily quota.
const MaxImagesPerCall = 4

// SetOutput is what ImageOutput says about seeds, grounding and the n images of a call.
type SetOutput struct {
	Seed      int64             `json:"seed" jsonschema_description:"The seed sent (best effort)."`
	Grounding *gemini.Grounding `json:"grounding,omitempty" jsonschema_description:"Google Search sources."`
	Images    []ImageItem       `json:"images,omitempty" jsonschema_description:"All images; the top level is the first."`
}

// ImageItem is one image of a call in structuredContent.images, in order. It is kept small:
// tools/list carries its schema three times.
type ImageItem struct {
	ImageID        string `json:"image_id"`
	ConversationID string `json:"conversation_id"`
	Path           string `json:"path"`
	Width          int    `json:"width"`
	Height         int    `json:"height"`
	Model          string `json:"model"`
	Seed           int64  `json:"seed"`
	Turn           int    `json:"turn"`
	BranchOf       string `json:"branch_of,omitempty"`
	URL            string `json:"url,omitempty"`
}

func itemOf(o *ImageOutput) ImageItem {
	return ImageItem{ImageID: o.ImageID, ConversationID: o.ConversationID, Path: o.Path, Width: o.Width, Height: o.Height,
		Model: o.Model, Seed: o.Seed, Turn: o.Turn, BranchOf: o.BranchOf, URL: o.URL}
}

// checkN refuses an n outside 1–4 before anything is sent; 0 means 1.
func checkN(n int) (int, error) {
	switch {
	case n == 0:
		return 1, nil
	case n < 1 || n > MaxImagesPerCall:
		return 0, apierrors.Localf(apierrors.InvalidRequest,
			"n is %d; ask for 1 to %d images per call (each is its own request and costs as much as one).", n, MaxImagesPerCall)
	}
	return n, nil
}

// seedsFor gives each of n images its seed: the caller's seed for the first and the next
// numbers for the others (the same seed twice would ask for the same picture twice), or a
// random start when the caller gave none, so that every image can be made again.
func seedsFor(seed *int64, n int) []int64 {
	base := rand.Int64N(math.MaxInt32 - MaxImagesPerCall)
	if seed != nil {
		base = *seed
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = base + int64(i)
		if seed != nil && *seed >= math.MinInt32 && *seed <= math.MaxInt32 {
			out[i] = int64(int32(out[i])) // stay in Gemini's int32 range, wrapping as int32 does
		}
	}
	return out
}

// attempt is the outcome of one of a call's n generations.
type attempt struct {
	res *gemini.Result
	err error
}

// generateAll runs one request per seed in parallel. The limiter paces them like any other
// requests (a burst up to the quota goes at once, the rest wait their turn), and progress says
// how many are done.
func (d *Turns) generateAll(ctx context.Context, prog *progress, greq gemini.Request, seeds []int64) []attempt {
	n := len(seeds)
	out := make([]attempt, n)
	if n == 1 {
		r := greq
		r.Seed = &seeds[0]
		r.Progress = func(msg string) {
			prog.report(1, msg)
			clientLog(ctx, mcp.LoggingLevelInfo, msg) // retries, waits, fallbacks
		}
		res, err := d.gen.Generate(ctx, r)
		out[0] = attempt{res, err}
		return out
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i := range seeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				// A panic here would end the process: it fails this image like any error.
				if p := recover(); p != nil {
					d.log.ErrorContext(ctx, "a generation panicked", "panic", fmt.Sprint(p))
					mu.Lock()
					out[i] = attempt{err: fmt.Errorf("generation panicked: %v", p)}
					mu.Unlock()
				}
			}()
			r := greq
			r.Seed = &seeds[i]
			r.Progress = func(msg string) {
				msg = fmt.Sprintf("image %d of %d: %s", i+1, n, msg)
				prog.report(1, msg)
				clientLog(ctx, mcp.LoggingLevelInfo, msg)
			}
			res, err := d.gen.Generate(ctx, r)
			mu.Lock()
			out[i] = attempt{res, err}
			done++
			msg := fmt.Sprintf("%d of %d done", done, n)
			step := 1 + float64(done)/float64(n)*0.9
			mu.Unlock()
			prog.report(step, msg)
		}()
	}
	wg.Wait()
	return out
}

// recordVariant records image i > 0 of an edit: a branch from the same turn as the first, so
// each variant can be edited on while the first continues the conversation.
func (d *Turns) recordVariant(ctx context.Context, tc *turnContext, res *gemini.Result, out *ImageOutput, prompt string) (string, int, string, error) {
	if d.store == nil || tc == nil || tc.conv == nil || tc.fresh {
		id, turn, err := d.record(ctx, tc, res, out, prompt) // a new conversation of its own
		return id, turn, "", err
	}
	from, img := tc.conv.ID, ""
	if latest, ok := tc.conv.LatestImage(); ok {
		img = latest.ID
	}
	if tc.branched { // tc.conv is this call's own branch: the variants branch where it did
		from, img = tc.conv.BranchOf, tc.conv.BranchImage
	}
	if img == "" {
		id, turn, err := d.record(ctx, nil, res, out, prompt)
		return id, turn, "", err
	}
	branch, err := d.store.Branch(ctx, from, img)
	if err != nil {
		return "", 0, "", fmt.Errorf("branching a variant from %s: %w", from, err)
	}
	id, turn, err := d.record(ctx, &turnContext{conv: &branch}, res, out, prompt)
	return id, turn, from, err
}

// partialFailure explains one failed image of a set in a sentence with its category, and
// keeps it for explain_error like any failure.
func (d *Turns) partialFailure(ctx context.Context, tool, model string, i, n int, err error) string {
	dg := apierrors.Classify(err, apierrors.ForModel(model))
	if d.Failures != nil {
		d.Failures.record(ctx, tool, dg)
	}
	d.log.WarnContext(ctx, "one image of a set failed", "tool", tool, "image", i+1, "of", n,
		"category", dg.Category, "error", apierrors.Sanitize(err.Error()))
	return fmt.Sprintf("image %d of %d failed (%s): %s", i+1, n, dg.Category, strings.TrimSuffix(dg.Summary, "."))
}

// mergeResults puts the images after the first into the first's result: their image content
// (preview, link) after its own, and one summary line for the set.
func mergeResults(first *mcp.CallToolResult, others []*mcp.CallToolResult, text string) *mcp.CallToolResult {
	if len(first.Content) > 0 {
		if _, ok := first.Content[0].(mcp.TextContent); ok {
			first.Content[0] = mcp.NewTextContent(text)
		}
	}
	for _, o := range others {
		if len(o.Content) > 1 {
			first.Content = append(first.Content, o.Content[1:]...)
		}
	}
	return first
}

// setSummary is the text of a call with several images: one line per image.
func setSummary(top *ImageOutput, outs []*ImageOutput, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Generated %d of %d images with %s, about $%.3f in all:", len(outs), n, top.Model, top.CostUSD)
	for i, o := range outs {
		fmt.Fprintf(&b, "\n%d. %d×%d saved to %s (image_id %s, conversation_id %s, seed %d)", i+1, o.Width, o.Height, o.Path,
			o.ImageID, o.ConversationID, o.Seed)
		if o.URL != "" {
			fmt.Fprintf(&b, "\n![%s](%s)", o.ImageID, o.URL)
		}
	}
	for _, note := range top.Notes {
		b.WriteString("\nNote: " + note + ".")
	}
	return b.String()
}

// groundingText lists the sources Gemini grounded on, for the user: Google's terms ask that
// grounded results show where they came from.
func groundingText(g *gemini.Grounding) string {
	if g == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("\nGrounded in Google Search")
	if q := append(append([]string{}, g.WebQueries...), g.ImageQueries...); len(q) > 0 {
		fmt.Fprintf(&b, " (searched: %s)", strings.Join(q, "; "))
	}
	b.WriteString(". Sources:")
	for _, s := range g.Sources {
		title := s.Title
		if title == "" {
			title = s.URL
		}
		fmt.Fprintf(&b, "\n- %s: %s", title, s.URL)
	}
	if g.SearchSuggestionsHTML != "" {
		b.WriteString("\nShow the Search Suggestions in structuredContent.grounding.search_suggestions_html to the user.")
	}
	return b.String()
}

// appendText adds to a result's first text.
func appendText(r *mcp.CallToolResult, extra string) {
	if extra == "" || len(r.Content) == 0 {
		return
	}
	if t, ok := r.Content[0].(mcp.TextContent); ok {
		r.Content[0] = mcp.NewTextContent(t.Text + extra)
	}
}

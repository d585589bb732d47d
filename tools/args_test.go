package tools_test

import (
	"strings"
	"testing"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// The camelCase arguments clients and models often send were silently dropped: a billed 1K
// square instead of a 4K 16:9. Now they are refused before anything is spent, naming the
// argument meant, as a local error that says nothing about Gemini.
func TestUnknownArgumentsAreRefusedWithTheRightName(t *testing.T) {
	h := newHarness(t)
	res := h.call(t, "generate_image", map[string]any{"prompt": "a harbour", "aspectRatio": "16:9", "imageSize": "4K"})
	var d apierrors.Diagnosis
	structured(t, res, &d)
	if !res.IsError || d.Category != apierrors.InvalidRequest {
		t.Fatalf("isError %v category %q: %s", res.IsError, d.Category, text(res))
	}
	if !strings.Contains(d.Summary, `unknown argument "aspectRatio"; did you mean "aspect_ratio"?`) {
		t.Errorf("summary %q should name the argument and the right spelling", d.Summary)
	}
	if strings.Contains(text(res), "Gemini rejected") || d.Model != "" || !d.IsLocal() {
		t.Errorf("a local error must not carry Gemini's cause or a model: %+v", d)
	}
	if n := len(h.sim.Requests()); n != 0 {
		t.Errorf("%d upstream requests; an unknown argument must cost nothing", n)
	}
}

// Every tool, including ones added later, refuses an unknown argument: the check is driven by
// the published input schema, not by each handler.
func TestEveryToolRefusesUnknownArguments(t *testing.T) {
	h := newHarness(t)
	for _, tl := range h.set.All() {
		t.Run(tl.Tool.Name, func(t *testing.T) {
			res := h.call(t, tl.Tool.Name, map[string]any{"no_such_argument": true})
			if !res.IsError || !strings.Contains(text(res), `unknown argument "no_such_argument"`) {
				t.Errorf("%s accepted an unknown argument: %s", tl.Tool.Name, text(res))
			}
		})
	}
	if n := len(h.sim.Requests()); n != 0 {
		t.Errorf("%d upstream requests", n)
	}
}

// Type errors speak JSON, not Go ("must be a slice", "must be a int"), and a missing required
// argument is named as such.
func TestArgumentErrorsSayWhatIsWrongInPlainWords(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		tool string
		args map[string]any
		says string
	}{
		{"generate_image", map[string]any{"prompt": "x", "images": "a.png"}, `argument "images" must be a list of strings`},
		{"generate_image", map[string]any{"prompt": "x", "images": []any{1}}, `argument "images[0]" must be a string`},
		{"get_generation", map[string]any{"job_id": "j", "wait_seconds": "ten"}, `argument "wait_seconds" must be a whole number`},
		{"get_generation", map[string]any{"job_id": "j", "wait_seconds": 2.5}, `must be a whole number`},
		{"generate_image", map[string]any{"prompt": "x", "async": "yes"}, `argument "async" must be true or false`},
		{"generate_image", map[string]any{"prompt": "x", "thinking_level": "maximal"}, `"thinking_level" is "maximal", which is not one of minimal`},
		{"delete_conversation", map[string]any{}, "conversation_id is required"},
		{"get_generation", map[string]any{}, "job_id is required"},
		{"generate_image", map[string]any{}, "prompt is required"},
		{"edit_image", map[string]any{"prompt": "x", "conversationId": "c"}, `did you mean "conversation_id"?`},
		{"batch_generate", map[string]any{"requests": []any{map[string]any{"prompt": "x", "aspectRatio": "16:9"}}}, `unknown argument "requests[0].aspectRatio"; did you mean "aspect_ratio"?`},
		{"batch_generate", map[string]any{"requests": []any{map[string]any{"seed": 1}}}, "requests[0].prompt is required"},
	}
	for _, c := range cases {
		res := h.call(t, c.tool, c.args)
		var d apierrors.Diagnosis
		structured(t, res, &d)
		if !res.IsError || d.Category != apierrors.InvalidRequest || !strings.Contains(d.Summary, c.says) {
			t.Errorf("%s %v: category %q summary %q; want one mentioning %q", c.tool, c.args, d.Category, d.Summary, c.says)
		}
		for _, goWord := range []string{"slice", "a int", "float64", "map["} {
			if strings.Contains(text(res), goWord) {
				t.Errorf("%s: the message leaks the Go type (%q): %s", c.tool, goWord, text(res))
			}
		}
		if d.Model != "" {
			t.Errorf("%s: a local argument error reports model %q", c.tool, d.Model)
		}
	}
	if n := len(h.sim.Requests()); n != 0 {
		t.Errorf("%d upstream requests", n)
	}
}

// The normalisations the README promises still happen, and are stated in the notes.
func TestLowercaseSizeIsStillNormalisedWithANote(t *testing.T) {
	h := newHarness(t)
	res := h.call(t, "generate_image", map[string]any{"prompt": "x", "image_size": "2k", "aspect_ratio": ""}) // "" is "not given"
	var out tools.ImageOutput
	structured(t, res, &out)
	if res.IsError || out.ImageSize != "2K" || len(out.Notes) == 0 || !strings.Contains(strings.Join(out.Notes, " "), "normalised") {
		t.Fatalf("2k should become 2K with a note: %s", text(res))
	}
}

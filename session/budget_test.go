package session

import (
	"strings"
	"testing"

	"google.golang.org/genai"
)

// turnPair is one replayed turn: a user prompt with a reference image, and a model answer with
// a thought draft and a signed final image, each part about kb KiB as base64.
func turnPair(kb int) []*genai.Content {
	blob := func() []byte { return make([]byte, kb<<10*3/4) }
	user := genai.NewContentFromParts([]*genai.Part{genai.NewPartFromText("edit"), genai.NewPartFromBytes(blob(), "image/png")}, genai.RoleUser)
	draft := genai.NewPartFromBytes(blob(), "image/png")
	draft.Thought = true
	final := genai.NewPartFromBytes(blob(), "image/png")
	final.ThoughtSignature = []byte("sig")
	model := genai.NewContentFromParts([]*genai.Part{{Text: "thinking", Thought: true}, draft, final}, genai.RoleModel)
	return []*genai.Content{user, model}
}

func TestBudgetFitTrimsWhatTheModelDoesNotNeed(t *testing.T) {
	var hist []*genai.Content
	for range 3 {
		hist = append(hist, turnPair(100)...) // 300 KiB per turn
	}
	cases := []struct {
		max       int64
		contents  int
		trimmed   string
		wantFresh bool
	}{
		{1000 << 10, 6, "", false},                          // everything fits
		{700 << 10, 6, "thought parts", false},              // drafts go first
		{450 << 10, 6, "images of earlier requests", false}, // then older references
		{150 << 10, 2, "the earliest 2 turns", false},       // then whole earliest pairs
		{90 << 10, 0, "", true},                             // not even the last turn: fresh
	}
	for _, c := range cases {
		fit, trimmed, ok := Budget{MaxBytes: c.max}.Fit(hist, 1<<10)
		if ok == c.wantFresh || len(fit) != c.contents || !strings.Contains(trimmed, c.trimmed) {
			t.Errorf("max %d KiB: ok %v, %d contents, trimmed %q; want %d contents trimming %q", c.max>>10, ok, len(fit), trimmed, c.contents, c.trimmed)
		}
		for _, content := range fit {
			for _, p := range content.Parts {
				if content.Role == genai.RoleModel && p.InlineData != nil && !p.Thought && string(p.ThoughtSignature) != "sig" {
					t.Errorf("a signed part lost its signature")
				}
			}
		}
	}
	if len(hist[1].Parts) != 3 || len(hist[0].Parts) != 2 {
		t.Error("Fit modified the stored history")
	}
	if _, _, ok := (Budget{MaxTurns: 3}).Fit(hist, 0); ok {
		t.Error("a fourth turn fits a three-turn budget")
	}
}

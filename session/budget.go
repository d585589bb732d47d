package session

import (
	"fmt"

	"google.golang.org/genai"
)

// RequestLimit is Gemini's limit on an inline request since 2026-01-12: 100 MB of request
// body, images counted base64-encoded (shared/research/api-2026-11.md). The API answers a
// larger request with 400 "Request payload size exceeds the limit: 104857600 bytes.".
const RequestLimit = 100 << 20

// Budget bounds the history a turn replays. Every turn resends the whole history, which grows
// by at least an image per turn; past the budget the history is trimmed of what the model does
// not need, and only when that is not enough does the caller start a fresh conversation seeded
// with the latest image. Zero fields are unlimited.
type Budget struct {
	MaxTurns int
	// MaxBytes bounds the request as Gemini measures it: history plus the next user content,
	// in the bytes ContentBytes counts (inline data as base64).
	MaxBytes int64
}

// DefaultBudget stays under Gemini's 100 MB request limit with a 4 MiB margin for the request's
// JSON envelope and configuration, so that three 4K turns (≈ 25 MB images, ≈ 33 MB as base64)
// still replay their history; an operator behind a smaller proxy lowers it with --history-mb.
var DefaultBudget = Budget{MaxTurns: 20, MaxBytes: RequestLimit - 4<<20}

// Fit returns the history to replay before a user content of nextBytes so that the request
// stays within the budget, and what was left out. It trims, in this order, only what Gemini
// accepts a history without (shared/research/genai-sdk-and-wire.md §3.3; the simulator's
// validator enforces the same rules):
//
//  1. thought parts (thinking text and interim draft images): they carry no signatures and
//     are only present at all because thoughts were requested;
//  2. images in earlier user turns (reference and starting images): user parts carry no
//     signatures, and the model's own images, which it edits, stay;
//  3. whole earliest user+model pairs, never a signed part on its own.
//
// ok is false when even the latest turn alone does not fit, or the turn budget is spent: the
// caller then starts a fresh context. history itself is never modified.
func (b Budget) Fit(history []*genai.Content, nextBytes int64) (fit []*genai.Content, trimmed string, ok bool) {
	if b.MaxTurns > 0 && len(history)/2+1 > b.MaxTurns {
		return nil, "", false
	}
	if b.MaxBytes <= 0 || historyBytes(history)+nextBytes <= b.MaxBytes {
		return history, "", true
	}
	fits := func(h []*genai.Content) bool { return historyBytes(h)+nextBytes <= b.MaxBytes }

	fit = make([]*genai.Content, len(history))
	thoughts := 0
	for i, c := range history {
		fit[i] = c
		if c != nil && c.Role == genai.RoleModel {
			var n int
			fit[i], n = without(c, func(p *genai.Part) bool { return p.Thought })
			thoughts += n
		}
	}
	var done []string
	if thoughts > 0 {
		done = append(done, fmt.Sprintf("%d thought part%s (drafts and thinking)", thoughts, plural(thoughts)))
	}
	if fits(fit) {
		return fit, summarise(done), true
	}
	refs := 0
	for i, c := range fit {
		if c == nil || c.Role != genai.RoleUser || fits(fit) {
			continue
		}
		var n int
		fit[i], n = without(c, func(p *genai.Part) bool { return p.InlineData != nil || p.FileData != nil })
		refs += n
	}
	if refs > 0 {
		done = append(done, fmt.Sprintf("%d image%s of earlier requests", refs, plural(refs)))
	}
	pairs := 0
	for len(fit) > 2 && !fits(fit) {
		fit, pairs = fit[2:], pairs+1
	}
	if pairs > 0 {
		done = append(done, fmt.Sprintf("the earliest %d turn%s", pairs, plural(pairs)))
	}
	if !fits(fit) {
		return nil, "", false
	}
	return fit, summarise(done), true
}

// without returns a copy of c without the parts drop selects, and how many it dropped. A content
// left with no parts keeps an empty text part: the API refuses a content without parts.
func without(c *genai.Content, drop func(*genai.Part) bool) (*genai.Content, int) {
	kept := make([]*genai.Part, 0, len(c.Parts))
	for _, p := range c.Parts {
		if p != nil && !drop(p) {
			kept = append(kept, p)
		}
	}
	n := len(c.Parts) - len(kept)
	if n == 0 {
		return c, 0
	}
	if len(kept) == 0 {
		kept = append(kept, &genai.Part{Text: "(image omitted)"})
	}
	return &genai.Content{Role: c.Role, Parts: kept}, n
}

func historyBytes(h []*genai.Content) int64 {
	var n int64
	for _, c := range h {
		n += ContentBytes(c)
	}
	return n
}

func summarise(done []string) string {
	switch len(done) {
	case 0:
		return ""
	case 1:
		return done[0]
	}
	s := done[0]
	for i, d := range done[1:] {
		if i == len(done)-2 {
			s += " and " + d
		} else {
			s += ", " + d
		}
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

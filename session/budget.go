package session

// Budget bounds the history a turn replays. Every turn resends the whole history, which grows
// by at least an image per turn; past the budget the caller starts a fresh conversation seeded
// with the latest image instead. Zero fields are unlimited.
type Budget struct {
	MaxTurns int
	// MaxBytes bounds the request: history plus the next user content, in the bytes
	// ContentBytes counts (inline data as base64).
	MaxBytes int64
}

// DefaultBudget keeps requests under the Gemini API's 20 MB inline request limit with room for
// the prompt and configuration, and stops long before signatures and images make every turn
// slow.
var DefaultBudget = Budget{MaxTurns: 20, MaxBytes: 16 << 20}

// Exceeded reports whether appending a turn whose user content is nextBytes long (see
// ContentBytes) to c would go past the budget.
func (b Budget) Exceeded(c Conversation, nextBytes int64) bool {
	if b.MaxTurns > 0 && len(c.Turns)+1 > b.MaxTurns {
		return true
	}
	return b.MaxBytes > 0 && c.HistoryBytes()+nextBytes > b.MaxBytes
}

package resilience

import (
	"fmt"
	"strings"
)

// Limits are one model's quotas. Zero means "no local limit" for that dimension.
type Limits struct {
	RPM int `json:"rpm"` // requests per minute
	IPM int `json:"ipm"` // output images per minute
	RPD int `json:"rpd"` // requests per day, reset at midnight America/Los_Angeles
}

// The tier names accepted by Tier and --tier.
const (
	TierFree = "free"
	Tier1    = "1"
	Tier2    = "2"
	Tier3    = "3"
)

// Where the numbers come from.
//
// seed 001 (Nano Banana 2 error guide, "verified from ai.google.dev/gemini-api/docs/rate-limits
// on March 2, 2026") gives the only published image-generation table, for
// gemini-3.1-flash-image(-preview):
//
//	Tier 1 (billing on):   10 RPM, 10 IPM,  1,000 RPD
//	Tier 2 ($250+/30 d):   30 RPM, 30 IPM,  5,000 RPD
//	Tier 3 ($1,000+/30 d): 60 RPM, 60 IPM, 10,000 RPD
//	Free: no image generation ("you will receive a 429 error immediately").
//
// Its sample 429 body carries quota_limit_value "10" for
// GenerateContentRequestsPerMinutePerProjectPerModel, which agrees with Tier 1.
//
// seed 000 (Nano Banana Pro troubleshooting hub) gives no numbers for gemini-3-pro-image; it says
// only that the free tier's image limit is "quite restrictive" and, later, that neither the
// Gemini API nor Vertex AI offers a free tier for image generation (February 2026). Seed 001
// guesses Pro "may have slightly more generous limits" as a non-preview model. Unverified, so
// we choose conservatively: Pro and gemini-2.5-flash-image (for which no seed gives a number)
// get the Nano Banana 2 row of the same tier, and so does any model we do not know.
//
// Free tier: the seeds say image output has no free quota (the upstream answers 429 with limit
// 0, which we classify as no_free_tier and never retry). We do not refuse locally — the table
// may be out of date and the upstream's answer is authoritative — but keep the pace low:
// 2 RPM, 2 IPM, 100 RPD are our own conservative choice, not a published figure.
var tierTable = map[string]map[string]Limits{
	"gemini-3.1-flash-image": {
		TierFree: {RPM: 2, IPM: 2, RPD: 100},     // our choice; seed 001: no free image tier
		Tier1:    {RPM: 10, IPM: 10, RPD: 1000},  // seed 001
		Tier2:    {RPM: 30, IPM: 30, RPD: 5000},  // seed 001
		Tier3:    {RPM: 60, IPM: 60, RPD: 10000}, // seed 001
	},
	"gemini-3-pro-image": {
		TierFree: {RPM: 2, IPM: 2, RPD: 100},     // our choice; seed 000: no free image tier
		Tier1:    {RPM: 10, IPM: 10, RPD: 1000},  // no seed figure: Nano Banana 2's row
		Tier2:    {RPM: 30, IPM: 30, RPD: 5000},  // no seed figure: Nano Banana 2's row
		Tier3:    {RPM: 60, IPM: 60, RPD: 10000}, // no seed figure: Nano Banana 2's row
	},
	"gemini-2.5-flash-image": {
		TierFree: {RPM: 2, IPM: 2, RPD: 100},     // our choice; seed 000: no free image tier
		Tier1:    {RPM: 10, IPM: 10, RPD: 1000},  // no seed figure: Nano Banana 2's row
		Tier2:    {RPM: 30, IPM: 30, RPD: 5000},  // no seed figure: Nano Banana 2's row
		Tier3:    {RPM: 60, IPM: 60, RPD: 10000}, // no seed figure: Nano Banana 2's row
	},
}

// defaultTableModel is whose row a model missing from the table gets.
const defaultTableModel = "gemini-3.1-flash-image"

// Tier returns the preset limits of a tier ("free", "1", "2" or "3"; "tier1" and "tier-1" are
// accepted too) for a model id. A "-preview" suffix is ignored; unknown models get the
// Nano Banana 2 row, the only one the seeds publish.
func Tier(tier, model string) (Limits, error) {
	t := normalizeTier(tier)
	row, ok := tierTable[baseModel(model)]
	if !ok {
		row = tierTable[defaultTableModel]
	}
	l, ok := row[t]
	if !ok {
		return Limits{}, fmt.Errorf("unknown tier %q: use free, 1, 2 or 3", tier)
	}
	return l, nil
}

func normalizeTier(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "tier")
	s = strings.TrimLeft(s, " -_")
	return s
}

func baseModel(id string) string {
	id = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(id), "models/"))
	return strings.TrimSuffix(id, "-preview")
}

package gemini

import (
	"fmt"
	"slices"

	"google.golang.org/genai"
)

// USDPerGroundedCall is Google's list price of a call grounded in Google Search ($14 per
// 1,000) once a month's 5,000 free grounded requests are used; the server cannot know how many
// free ones are left, so estimates include it and say so.
const USDPerGroundedCall = 0.014

// FreeGroundedPerMonth is how many grounded requests a month Google does not bill.
const FreeGroundedPerMonth = 5000

// GroundingNote says what the cost estimate of calls grounded calls includes for grounding:
// a set of n images is n grounded requests, so its note must count them all.
func GroundingNote(calls int) string {
	what := "Google Search grounding"
	if calls > 1 {
		what = fmt.Sprintf("%d calls grounded in Google Search", calls)
	}
	return fmt.Sprintf("the cost includes $%.3f for %s ($%.0f per 1,000 grounded calls; "+
		"the first %d,%03d a month are free, which this server cannot see)", USDPerGroundedCall*float64(calls), what,
		USDPerGroundedCall*1000, FreeGroundedPerMonth/1000, FreeGroundedPerMonth%1000)
}

// Grounding is what Gemini grounded an image on when Google Search was on. Google's terms ask
// that the Search Suggestions (SearchSuggestionsHTML) be shown to users wherever grounded
// results are.
type Grounding struct {
	WebQueries            []string `json:"web_queries"`
	ImageQueries          []string `json:"image_queries"`
	Sources               []Source `json:"sources"`
	SearchSuggestionsHTML string   `json:"search_suggestions_html,omitempty" jsonschema_description:"Google's Search Suggestions: show them to users."`
}

// Source is one page Gemini grounded on.
type Source struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// groundingOf reads a candidate's groundingMetadata; nil when there is none.
func groundingOf(md *genai.GroundingMetadata) *Grounding {
	if md == nil {
		return nil
	}
	g := &Grounding{WebQueries: nonNil(md.WebSearchQueries), ImageQueries: nonNil(md.ImageSearchQueries), Sources: []Source{}}
	for _, c := range md.GroundingChunks {
		var s Source
		switch {
		case c == nil:
			continue
		case c.Web != nil:
			s = Source{Title: c.Web.Title, URL: c.Web.URI}
		case c.Image != nil:
			s = Source{Title: c.Image.Title, URL: c.Image.SourceURI}
		default:
			continue
		}
		if s.URL != "" && !slices.Contains(g.Sources, s) {
			g.Sources = append(g.Sources, s)
		}
	}
	if md.SearchEntryPoint != nil {
		g.SearchSuggestionsHTML = md.SearchEntryPoint.RenderedContent
	}
	if len(g.WebQueries)+len(g.ImageQueries)+len(g.Sources) == 0 && g.SearchSuggestionsHTML == "" {
		return nil
	}
	return g
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

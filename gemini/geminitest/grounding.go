package geminitest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strings"
)

// wireTool is one entry of a request's tools; only Google Search matters to image models.
type wireTool struct {
	GoogleSearch      *wireGoogleSearch `json:"googleSearch"`
	GoogleSearchSnake *wireGoogleSearch `json:"google_search"`
}

type wireGoogleSearch struct {
	SearchTypes      *wireSearchTypes `json:"searchTypes"`
	SearchTypesSnake *wireSearchTypes `json:"search_types"`
}

type wireSearchTypes struct {
	WebSearch        *struct{} `json:"webSearch"`
	ImageSearch      *struct{} `json:"imageSearch"`
	WebSearchSnake   *struct{} `json:"web_search"`
	ImageSearchSnake *struct{} `json:"image_search"`
}

// searchTypes is what a request's Google Search tool asked for.
type searchTypes struct{ web, image bool }

// checkTools reads the Google Search tool and refuses what the model cannot do, as the API
// does, with a 400 INVALID_ARGUMENT message. Search types unset mean web search only.
func checkTools(m *modelSpec, tools []wireTool) (searchTypes, string) {
	var st searchTypes
	for _, t := range tools {
		gs := firstNonNil(t.GoogleSearch, t.GoogleSearchSnake)
		if gs == nil {
			continue
		}
		types := firstNonNil(gs.SearchTypes, gs.SearchTypesSnake)
		if types == nil {
			st.web = true
			continue
		}
		st.web = st.web || types.WebSearch != nil || types.WebSearchSnake != nil
		st.image = st.image || types.ImageSearch != nil || types.ImageSearchSnake != nil
	}
	switch {
	case (st.web || st.image) && len(m.Search) == 0:
		return st, "Search Grounding is not supported."
	case st.image && !slices.Contains(m.Search, "image"):
		return st, "Image Search is not supported for models/" + m.ID + "."
	}
	return st, ""
}

// Grounding response shapes, as the API returns them in candidates[].groundingMetadata.
type wireGrounding struct {
	WebSearchQueries   []string         `json:"webSearchQueries,omitempty"`
	ImageSearchQueries []string         `json:"imageSearchQueries,omitempty"`
	GroundingChunks    []wireChunk      `json:"groundingChunks,omitempty"`
	SearchEntryPoint   *wireSearchEntry `json:"searchEntryPoint,omitempty"`
}

type wireChunk struct {
	Web   *wireChunkWeb   `json:"web,omitempty"`
	Image *wireChunkImage `json:"image,omitempty"`
}

type wireChunkWeb struct {
	URI   string `json:"uri"`
	Title string `json:"title"`
}

type wireChunkImage struct {
	SourceURI string `json:"sourceUri"`
	ImageURI  string `json:"imageUri"`
	Title     string `json:"title"`
	Domain    string `json:"domain"`
}

type wireSearchEntry struct {
	RenderedContent string `json:"renderedContent"`
}

// groundingFor builds the groundingMetadata of a grounded answer: the queries Gemini "ran"
// (from the prompt), web sources behind Google's redirect URLs titled by domain as the Gemini
// API returns them, image sources for image search, and a rendered Search Suggestions chip.
func groundingFor(g *genRequest) *wireGrounding {
	if !g.search.web && !g.search.image {
		return nil
	}
	query := strings.Join(strings.Fields(g.prompt), " ")
	if len(query) > 80 {
		query = query[:80]
	}
	h := sha256.Sum256([]byte(query))
	tag := hex.EncodeToString(h[:6])
	out := &wireGrounding{WebSearchQueries: []string{query}}
	for i, domain := range []string{"en.wikipedia.org", "www.britannica.com"} {
		out.GroundingChunks = append(out.GroundingChunks, wireChunk{Web: &wireChunkWeb{
			URI:   fmt.Sprintf("https://vertexaisearch.cloud.google.com/grounding-api-redirect/%s%d", tag, i),
			Title: domain}})
	}
	if g.search.image {
		out.ImageSearchQueries = []string{query + " photo"}
		out.GroundingChunks = append(out.GroundingChunks, wireChunk{Image: &wireChunkImage{
			SourceURI: "https://commons.wikimedia.org/wiki/File:" + tag + ".jpg",
			ImageURI:  "https://upload.wikimedia.org/" + tag + ".jpg",
			Title:     query + " - Wikimedia Commons", Domain: "commons.wikimedia.org"}})
	}
	out.SearchEntryPoint = &wireSearchEntry{RenderedContent: `<style>.container{display:flex}</style>` +
		`<div class="container"><div class="headline">Google Search Suggestions</div><div class="carousel">` +
		`<a class="chip" href="https://www.google.com/search?q=` + url.QueryEscape(query) + `">` + html.EscapeString(query) + `</a></div></div>`}
	return out
}

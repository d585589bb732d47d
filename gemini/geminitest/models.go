package geminitest

import "sort"

// dims is a width×height pair in pixels.
type dims struct{ W, H int }

// modelSpec describes one image model as the Gemini API exposes it. The
// pixel tables and token counts are the ones published on
// ai.google.dev/gemini-api/docs/image-generation ("Aspect ratios and image
// size"); the 3 Pro table also applies to the GA id gemini-3-pro-image and the
// 3.1 Flash table to the GA id gemini-3.1-flash-image.
type modelSpec struct {
	ID          string
	DisplayName string
	Description string
	Version     string
	InputLimit  int
	OutputLimit int
	// Sizes maps an imageSize value to aspect ratio → pixels.
	Sizes map[string]map[string]dims
	// Tokens maps an imageSize value to output image tokens.
	Tokens map[string]int
	// Thinking models (Gemini 3) return thought text and interim thought images.
	Thinking bool
	// MaxImages is the most reference images one request may carry.
	MaxImages int
	// InputImageTokens is what one input image adds to promptTokenCount.
	InputImageTokens int
	// EnforceSignatures: the Gemini API rejects replayed model parts without a
	// thought signature for Gemini 3 image models; 2.5 Flash Image never did.
	EnforceSignatures bool
	// Search lists the Google Search types the model grounds in: "web", "image".
	Search []string
	// Levels are the thinkingLevel values accepted; a thinking model without any
	// (3 Pro Image) answers 400 to one.
	Levels []string
}

// defaultSize is the imageSize used when the request sets none.
const defaultSize = "1K"

var flash25Dims = map[string]dims{
	"1:1": {1024, 1024}, "2:3": {832, 1248}, "3:2": {1248, 832}, "3:4": {864, 1184},
	"4:3": {1184, 864}, "4:5": {896, 1152}, "5:4": {1152, 896}, "9:16": {768, 1344},
	"16:9": {1344, 768}, "21:9": {1536, 672},
}

// gemini3Dims1K is the 1K row shared by 3 Pro Image and 3.1 Flash Image; 2K
// and 4K are exact multiples of it in the published tables.
var gemini3Dims1K = map[string]dims{
	"1:1": {1024, 1024}, "2:3": {848, 1264}, "3:2": {1264, 848}, "3:4": {896, 1200},
	"4:3": {1200, 896}, "4:5": {928, 1152}, "5:4": {1152, 928}, "9:16": {768, 1376},
	"16:9": {1376, 768}, "21:9": {1584, 672},
}

// extremeDims1K are the ratios only 3.1 Flash Image adds.
var extremeDims1K = map[string]dims{
	"1:4": {512, 2048}, "4:1": {2048, 512}, "1:8": {384, 3072}, "8:1": {3072, 384},
}

func scaled(base map[string]dims, num, den int) map[string]dims {
	out := make(map[string]dims, len(base))
	for r, d := range base {
		out[r] = dims{d.W * num / den, d.H * num / den}
	}
	return out
}

func merged(a, b map[string]dims) map[string]dims {
	out := make(map[string]dims, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func newModels() map[string]*modelSpec {
	pro := map[string]map[string]dims{
		"1K": gemini3Dims1K,
		"2K": scaled(gemini3Dims1K, 2, 1),
		"4K": scaled(gemini3Dims1K, 4, 1),
	}
	flash31Base := merged(gemini3Dims1K, extremeDims1K)
	flash31 := map[string]map[string]dims{
		// The published 512 row is exactly half of 1K (the docs' "21:9 792x168"
		// cell is a typo for 792x336).
		"512": scaled(flash31Base, 1, 2),
		"1K":  flash31Base,
		"2K":  scaled(flash31Base, 2, 1),
		"4K":  scaled(flash31Base, 4, 1),
	}
	flash25 := &modelSpec{
		ID: "gemini-2.5-flash-image", DisplayName: "Nano Banana",
		Description: "Gemini 2.5 Flash Image", Version: "2.0",
		InputLimit: 32768, OutputLimit: 32768,
		Sizes:     map[string]map[string]dims{"1K": flash25Dims},
		Tokens:    map[string]int{"1K": 1290},
		MaxImages: 3, InputImageTokens: 258,
	}
	mkPro := func(id, name string) *modelSpec {
		return &modelSpec{
			ID: id, DisplayName: name, Description: "Gemini 3 Pro Image", Version: "3.0",
			InputLimit: 65536, OutputLimit: 32768, Sizes: pro,
			Tokens:   map[string]int{"1K": 1120, "2K": 1120, "4K": 2000},
			Thinking: true, MaxImages: 14, InputImageTokens: 560, EnforceSignatures: true,
			Search: []string{"web"},
		}
	}
	mkFlash := func(id, name string) *modelSpec {
		return &modelSpec{
			ID: id, DisplayName: name, Description: "Gemini 3.1 Flash Image", Version: "3.1",
			InputLimit: 131072, OutputLimit: 32768, Sizes: flash31,
			Tokens:   map[string]int{"512": 747, "1K": 1120, "2K": 1680, "4K": 2520},
			Thinking: true, MaxImages: 14, InputImageTokens: 560, EnforceSignatures: true,
			Search: []string{"web", "image"},
			Levels: []string{"MINIMAL", "HIGH"},
		}
	}
	// Nano Banana 2.1 drops the 512 row (third-party reports: 512 is refused) and
	// adds MEDIUM; Lite serves 1K only with MINIMAL and HIGH.
	nb21 := mkFlash("gemini-nano-banana-2.1", "Nano Banana 2.1")
	nb21.Description, nb21.Version = "Gemini Nano Banana 2.1", "2.1"
	nb21.Sizes = map[string]map[string]dims{"1K": flash31["1K"], "2K": flash31["2K"], "4K": flash31["4K"]}
	nb21.Levels = []string{"MINIMAL", "MEDIUM", "HIGH"}
	lite := mkFlash("gemini-3.1-flash-lite-image", "Nano Banana 2 Lite")
	lite.Description = "Gemini 3.1 Flash Lite Image"
	lite.Sizes = map[string]map[string]dims{"1K": flash31["1K"]}
	lite.Tokens = map[string]int{"1K": 1120}
	lite.Search = nil // Lite cannot ground in Google Search
	list := []*modelSpec{
		nb21, lite,
		flash25,
		mkPro("gemini-3-pro-image-preview", "Nano Banana Pro Preview"),
		mkPro("gemini-3-pro-image", "Nano Banana Pro"),
		mkPro("nano-banana-pro-preview", "Gemini 3 Pro Image Preview"),
		mkFlash("gemini-3.1-flash-image-preview", "Nano Banana 2 Preview"),
		mkFlash("gemini-3.1-flash-image", "Nano Banana 2"),
	}
	out := make(map[string]*modelSpec, len(list))
	for _, m := range list {
		out[m.ID] = m
	}
	return out
}

// ratios returns the model's aspect ratios in the order the API error text
// lists them (lexical by width then height).
func (m *modelSpec) ratios() []string {
	var rs []string
	for r := range m.Sizes[defaultSize] {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return ratioLess(rs[i], rs[j]) })
	return rs
}

// sizes returns the accepted imageSize values, smallest first.
func (m *modelSpec) sizes() []string {
	order := []string{"512", "1K", "2K", "4K"}
	var out []string
	for _, s := range order {
		if _, ok := m.Sizes[s]; ok {
			out = append(out, s)
		}
	}
	return out
}

func ratioLess(a, b string) bool {
	aw, ah := splitRatio(a)
	bw, bh := splitRatio(b)
	if aw != bw {
		return aw < bw
	}
	return ah < bh
}

func splitRatio(r string) (int, int) {
	var w, h int
	i := 0
	for ; i < len(r) && r[i] != ':'; i++ {
		w = w*10 + int(r[i]-'0')
	}
	for i++; i < len(r); i++ {
		h = h*10 + int(r[i]-'0')
	}
	return w, h
}

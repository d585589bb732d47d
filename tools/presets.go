package tools

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Preset is how images should come back to one kind of client.
type Preset struct {
	Name    string
	Output  string         // default output mode
	HTTP    string         // default output mode over HTTP transports, when different
	Preview PreviewOptions // inline preview budget
	// AsyncAfter answers a call still running after this with a job_id, for clients that
	// abandon calls at a fixed limit whatever progress they get.
	AsyncAfter time.Duration
	Why        string // the reason, for the README
	// Basis says what the reason rests on: a client driven for real, or documentation only.
	Basis string
}

// Presets are the client presets for --client. Each budget comes from what the client is
// known to accept (shared/research/peers-and-user-pain.md, sections A, B and H); Basis says
// which were observed by driving the client and which rest on documentation alone.
var Presets = map[string]Preset{
	"claude-code": {Name: "claude-code", Output: OutputPreview, Preview: PreviewOptions{MaxEdge: 768, MaxBytes: 256 << 10},
		Why:   "Claude Code passes an inline image to its model as an image block (a 768 px JPEG preview arrives whole, about 20 KB; even a 4K full image is passed on, downscaled to 2000 px), so the model sees what it made; it hands the model structuredContent and drops the text block, so notes, path and ids are all in structuredContent.",
		Basis: "observed: Claude Code 2.1.328 driven against a scripted model"},
	"claude-desktop": {Name: "claude-desktop", Output: OutputPreview, Preview: PreviewOptions{MaxEdge: 1024, MaxBytes: 512 << 10},
		AsyncAfter: 45 * time.Second,
		Why:        "Claude Desktop refuses tool results over 1 MiB (a 1024 px JPEG preview under 512 KiB, ≈700 KiB as base64, fits) and abandons a call at about 60 s whatever progress it gets, so a call still running at 45 s answers with a job_id for get_generation.",
		Basis:      "documentation and user reports only (not run here)"},
	"cherry-studio": {Name: "cherry-studio", Output: OutputPreview, HTTP: OutputURL, Preview: PreviewOptions{MaxEdge: 1024, MaxBytes: 512 << 10},
		AsyncAfter: 50 * time.Second,
		Why:        "Cherry Studio shows an inline image to the user but hands the model a placeholder; over HTTP a signed URL with a markdown link reaches both, over stdio a preview plus the path. Without Long Running Mode it stops calls at 60 s, so a call still running at 50 s answers with a job_id.",
		Basis:      "documentation and user reports only (not run here)"},
	"dify": {Name: "dify", Output: OutputURL, HTTP: OutputURL, Preview: PreviewOptions{MaxEdge: 768, MaxBytes: 256 << 10},
		Why:   "Dify workflows pass files by URL and cannot read local paths, so results carry a signed HTTP URL (run the server with --transport http).",
		Basis: "documentation only (not run here)"},
	"generic": {Name: "generic", Output: OutputPreview, Preview: PreviewOptions{MaxEdge: 768, MaxBytes: 256 << 10},
		Why:   "A small inline preview plus the saved path suits most clients and stays far below every known message limit (the TypeScript SDK's stdio client drops messages over 10 MiB).",
		Basis: "observed: the TypeScript SDK and mcp-go clients (interop and tool tests)"},
}

// PresetNames lists the presets, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(Presets))
	for n := range Presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ClientSettings are what a preset decides for a client on one transport.
type ClientSettings struct {
	Output     string // default output mode
	Preview    PreviewOptions
	AsyncAfter time.Duration
}

// ResolvePreset returns the default output, preview budget and async-after for a client on a
// transport; an explicit output mode (non-empty) wins over the preset's.
func ResolvePreset(name, transport, explicitOutput string) (ClientSettings, error) {
	p, ok := Presets[name]
	if !ok {
		return ClientSettings{}, fmt.Errorf("--client %q is not known; use one of %s", name, strings.Join(PresetNames(), ", "))
	}
	cs := ClientSettings{Output: p.Output, Preview: p.Preview, AsyncAfter: p.AsyncAfter}
	if ServesURLs(transport) && p.HTTP != "" {
		cs.Output = p.HTTP
	}
	if cs.Output == OutputURL && !ServesURLs(transport) {
		cs.Output = OutputResource // no HTTP server to serve the link
	}
	if explicitOutput != "" {
		cs.Output = explicitOutput
	}
	return cs, nil
}

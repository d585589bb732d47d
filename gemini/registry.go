package gemini

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
)

//go:embed models.json
var embeddedModels []byte

// Model is what the registry knows about one Gemini image model. The data lives in
// models.json (embedded) and can be replaced with --models-file.
type Model struct {
	ID                 string             `json:"id"`
	Name               string             `json:"name"`
	Aliases            []string           `json:"aliases,omitempty"`
	Replaces           []string           `json:"replaces,omitempty"` // retired or preview ids this model succeeds
	Family             string             `json:"family"`             // "flash" or "pro": tunes recovery times and backoff
	AspectRatios       []string           `json:"aspect_ratios"`
	Sizes              []string           `json:"sizes"`
	DefaultSize        string             `json:"default_size"`
	SendsSize          *bool              `json:"sends_size,omitempty"` // false: the API takes no imageSize for this model
	MaxReferenceImages int                `json:"max_reference_images"`
	Thinking           bool               `json:"thinking"`
	ThinkingLevels     []string           `json:"thinking_levels,omitempty"`
	DefaultThinking    string             `json:"default_thinking_level,omitempty"` // what the API uses when none is sent
	Search             []string           `json:"search"`                           // Google Search grounding: "web", "image"
	VertexLocations    []string           `json:"vertex_locations,omitempty"`       // Vertex AI serves it only there; empty: any
	ImageTokens        map[string]int     `json:"image_tokens"`
	USDPerImage        map[string]float64 `json:"usd_per_image"`
	USDPerMInputTokens float64            `json:"usd_per_million_input_tokens,omitempty"`
	Released           string             `json:"released,omitempty"`
	EarliestShutdown   string             `json:"earliest_shutdown,omitempty"`
	// Status is Google's word for the model: "ga", "preview", "deprecated" (still served,
	// going away) or "restricted" (served only to projects that already used it).
	Status           string `json:"status,omitempty"`
	Deprecated       string `json:"deprecated,omitempty"`        // date Google deprecated it
	ReportedShutdown string `json:"reported_shutdown,omitempty"` // a shutdown date reported, not announced
	// Successor is the model a call goes to once this one is unavailable or shut down.
	Successor string `json:"successor,omitempty"`
	Source    string `json:"source,omitempty"`
	// Unlisted marks a model the operator named that the registry does not know: it runs
	// with conservative defaults.
	Unlisted bool `json:"-"`
}

// Searches reports whether the model can ground images in Google Search of kind "web" or
// "image".
func (m Model) Searches(kind string) bool { return slices.Contains(m.Search, kind) }

// TakesSize reports whether requests to this model carry imageConfig.imageSize.
func (m *Model) TakesSize() bool { return m.SendsSize == nil || *m.SendsSize }

// Registry resolves model names (ids, aliases, retired ids) to models.
type Registry struct {
	defaultName string
	models      []*Model
	byName      map[string]*Model // lower-cased id and alias
	replaced    map[string]*Model // lower-cased retired id -> successor
}

type registryFile struct {
	Default string   `json:"default"`
	Models  []*Model `json:"models"`
}

// DefaultRegistry returns the embedded registry.
func DefaultRegistry() *Registry {
	r, err := ParseRegistry(embeddedModels)
	if err != nil {
		panic("gemini: embedded models.json is invalid: " + err.Error()) // caught by tests
	}
	return r
}

// LoadRegistry reads a models file in the format of the embedded models.json.
func LoadRegistry(path string) (*Registry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading models file: %w", err)
	}
	r, err := ParseRegistry(data)
	if err != nil {
		return nil, fmt.Errorf("models file %s: %w", path, err)
	}
	return r, nil
}

// ParseRegistry parses and checks registry data.
func ParseRegistry(data []byte) (*Registry, error) {
	var f registryFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	if len(f.Models) == 0 {
		return nil, fmt.Errorf("no models listed")
	}
	r := &Registry{defaultName: f.Default, byName: map[string]*Model{}, replaced: map[string]*Model{}}
	for i, m := range f.Models {
		if err := checkModel(m); err != nil {
			return nil, fmt.Errorf("model %d (%q): %w", i+1, m.ID, err)
		}
		for _, n := range append([]string{m.ID}, m.Aliases...) {
			key := strings.ToLower(n)
			if _, dup := r.byName[key]; dup {
				return nil, fmt.Errorf("name %q is listed twice", n)
			}
			r.byName[key] = m
		}
		for _, old := range m.Replaces {
			r.replaced[strings.ToLower(old)] = m
		}
		r.models = append(r.models, m)
	}
	for _, m := range r.models {
		if m.Successor == "" {
			continue
		}
		next, ok := r.byName[strings.ToLower(m.Successor)]
		if !ok || next == m {
			return nil, fmt.Errorf("model %q: successor %q is not another model of the registry", m.ID, m.Successor)
		}
		m.Successor = next.ID
	}
	if r.defaultName == "" {
		r.defaultName = r.models[0].ID
	}
	if _, err := r.Lookup(r.defaultName); err != nil {
		return nil, fmt.Errorf("default model: %w", err)
	}
	return r, nil
}

func checkModel(m *Model) error {
	switch {
	case m.ID == "":
		return fmt.Errorf("id is empty")
	case len(m.AspectRatios) == 0:
		return fmt.Errorf("aspect_ratios is empty")
	case len(m.Sizes) == 0:
		return fmt.Errorf("sizes is empty")
	case !slices.Contains(m.Sizes, m.DefaultSize):
		return fmt.Errorf("default_size %q is not one of sizes %v", m.DefaultSize, m.Sizes)
	case m.Family != "flash" && m.Family != "pro":
		return fmt.Errorf("family must be \"flash\" or \"pro\", not %q", m.Family)
	case m.DefaultThinking != "" && !slices.Contains(m.ThinkingLevels, m.DefaultThinking):
		return fmt.Errorf("default_thinking_level %q is not one of thinking_levels %v", m.DefaultThinking, m.ThinkingLevels)
	}
	for _, s := range m.Search {
		if s != "web" && s != "image" {
			return fmt.Errorf("search lists %q; use \"web\" and \"image\"", s)
		}
	}
	switch m.Status {
	case "", "ga", "preview", "deprecated", "restricted":
	default:
		return fmt.Errorf("status must be ga, preview, deprecated or restricted, not %q", m.Status)
	}
	return nil
}

// Resolution is the outcome of resolving a model name.
type Resolution struct {
	Model *Model
	Note  string // set when the name was a retired or preview id mapped to its successor
}

// Lookup resolves an id, alias or retired id (case-insensitive, with an optional "models/"
// prefix). An unknown name gets an error that lists what is known.
func (r *Registry) Lookup(name string) (Resolution, error) {
	key := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(name), "models/"))
	if m, ok := r.byName[key]; ok {
		return Resolution{Model: m}, nil
	}
	if m, ok := r.replaced[key]; ok {
		return Resolution{Model: m, Note: fmt.Sprintf("%s has been replaced by %s (%s); using %s", name, m.ID, m.Name, m.ID)}, nil
	}
	return Resolution{}, unknownModelError(name, r.Names())
}

// SetDefault makes name the default model. A name the registry does not know but that reads
// like a Gemini model id ("gemini-…") is adopted with conservative defaults (see Adopt):
// Google ships models faster than any registry is updated.
func (r *Registry) SetDefault(name string) error {
	if _, err := r.Lookup(name); err != nil {
		if _, aerr := r.Adopt(name); aerr != nil {
			return err
		}
	}
	r.defaultName = name
	return nil
}

// Adopt adds a model id the registry does not know, with what every current image model
// accepts: the ten standard ratios, 1K, no thinking levels, no search and three reference
// images. Calls to it carry a note saying so. Adopting a known name returns its model.
func (r *Registry) Adopt(id string) (*Model, error) {
	id = strings.TrimPrefix(strings.TrimSpace(id), "models/")
	if res, err := r.Lookup(id); err == nil {
		return res.Model, nil
	}
	if !modelIDPattern.MatchString(id) {
		return nil, fmt.Errorf("%q does not look like a Gemini model id (gemini-…)", id)
	}
	m := &Model{ID: id, Name: id, Family: "flash", Status: "ga", Unlisted: true,
		AspectRatios: []string{"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"},
		Sizes:        []string{"1K"}, DefaultSize: "1K", MaxReferenceImages: 3, Search: []string{},
		ImageTokens: map[string]int{}, USDPerImage: map[string]float64{},
		Source: "not in the registry: adopted from --model with conservative defaults"}
	if strings.Contains(id, "pro") {
		m.Family = "pro"
	}
	r.models = append(r.models, m)
	r.byName[strings.ToLower(id)] = m
	return m, nil
}

var modelIDPattern = regexp.MustCompile(`^gemini-[a-z0-9][a-z0-9.-]*$`)

// Successor returns the model a call to m goes to once m is gone, if the registry names one.
func (r *Registry) Successor(m *Model) (*Model, bool) {
	if m == nil || m.Successor == "" {
		return nil, false
	}
	next, ok := r.byName[strings.ToLower(m.Successor)]
	return next, ok
}

// Default returns the name of the default model.
func (r *Registry) Default() string { return r.defaultName }

// Models returns the models in registry order.
func (r *Registry) Models() []*Model { return slices.Clone(r.models) }

// Names returns every id and alias, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.byName))
	for _, m := range r.models {
		names = append(names, m.ID)
		names = append(names, m.Aliases...)
	}
	sort.Strings(names)
	return names
}

// Replacement returns what to use instead of a retired, preview or deprecated model id, for
// error messages: the model that replaced it, or its registry successor.
func (r *Registry) Replacement(id string) (string, bool) {
	key := strings.ToLower(strings.TrimPrefix(id, "models/"))
	if m, ok := r.replaced[key]; ok {
		return m.ID, true
	}
	if m, ok := r.byName[key]; ok && m.Successor != "" {
		return m.Successor, true
	}
	if m, ok := r.byName[strings.ToLower(r.defaultName)]; ok && !strings.EqualFold(m.ID, key) && !r.known(key) {
		return m.ID, true // an unknown id: the default is the safe suggestion
	}
	return "", false
}

func (r *Registry) known(key string) bool {
	_, ok := r.byName[key]
	return ok
}

// AllAspectRatios returns the union of every model's ratios, in a stable order; used for schemas.
func (r *Registry) AllAspectRatios() []string {
	return union(r.models, func(m *Model) []string { return m.AspectRatios })
}

// AllSizes returns the union of every model's sizes, smallest first; used for schemas.
func (r *Registry) AllSizes() []string {
	out := union(r.models, func(m *Model) []string { return m.Sizes })
	sort.SliceStable(out, func(i, j int) bool { return sizeOrder[out[i]] < sizeOrder[out[j]] })
	return out
}

// AllThinkingLevels returns the union of every model's thinking levels, lightest first; used
// for schemas.
func (r *Registry) AllThinkingLevels() []string {
	out := union(r.models, func(m *Model) []string { return m.ThinkingLevels })
	order := map[string]int{"minimal": 0, "low": 1, "medium": 2, "high": 3}
	sort.SliceStable(out, func(i, j int) bool { return order[out[i]] < order[out[j]] })
	return out
}

func union(models []*Model, f func(*Model) []string) []string {
	var out []string
	for _, m := range models {
		for _, v := range f(m) {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

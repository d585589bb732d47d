package gemini

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
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
	Search             []string           `json:"search,omitempty"` // Google Search types it grounds in: "web", "image"
	ImageTokens        map[string]int     `json:"image_tokens"`
	USDPerImage        map[string]float64 `json:"usd_per_image"`
	USDPerMInputTokens float64            `json:"usd_per_million_input_tokens,omitempty"`
	Released           string             `json:"released,omitempty"`
	EarliestShutdown   string             `json:"earliest_shutdown,omitempty"`
	Source             string             `json:"source,omitempty"`
}

// Searches reports whether the model can ground in Google Search of kind "web" or "image".
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

// SetDefault makes name the default model, after checking that it resolves.
func (r *Registry) SetDefault(name string) error {
	if _, err := r.Lookup(name); err != nil {
		return err
	}
	r.defaultName = name
	return nil
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

// Replacement returns the successor of a retired or preview model id, for error messages.
func (r *Registry) Replacement(id string) (string, bool) {
	if m, ok := r.replaced[strings.ToLower(strings.TrimPrefix(id, "models/"))]; ok {
		return m.ID, true
	}
	return "", false
}

// AllAspectRatios returns the union of every model's ratios, in a stable order; used for schemas.
func (r *Registry) AllAspectRatios() []string {
	return union(r.models, func(m *Model) []string { return m.AspectRatios })
}

// AllSizes returns the union of every model's sizes; used for schemas.
func (r *Registry) AllSizes() []string {
	return union(r.models, func(m *Model) []string { return m.Sizes })
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

package errors

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

type sample struct {
	name, source, shape, model, text string
	category                         Category
	retryable                        bool
}

func loadCorpus(t testing.TB) []sample {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	var out []sample
	for _, fn := range files {
		b, err := os.ReadFile(fn)
		if err != nil {
			t.Fatal(err)
		}
		head, body, ok := strings.Cut(string(b), "\n---\n")
		if !ok {
			t.Fatalf("%s: no --- separator", fn)
		}
		s := sample{name: strings.TrimSuffix(filepath.Base(fn), ".txt"), text: strings.TrimSuffix(body, "\n")}
		for _, line := range strings.Split(head, "\n") {
			k, v, _ := strings.Cut(strings.TrimPrefix(line, "# "), ": ")
			switch k {
			case "source":
				s.source = v
			case "shape":
				s.shape = v
			case "category":
				s.category = Category(v)
			case "retryable":
				s.retryable = v == "true"
			case "model":
				s.model = v
			}
		}
		if s.source == "" || s.category == "" {
			t.Fatalf("%s: header needs source and category", fn)
		}
		out = append(out, s)
	}
	return out
}

// TestCorpus is the golden test: every real error text gets its expected category and
// retryability, a summary and fix steps, and never leaks a key.
func TestCorpus(t *testing.T) {
	samples := loadCorpus(t)
	type tally struct{ ok, all int }
	shapes := map[string]*tally{}
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			d := Explain(s.text, ForModel(s.model))
			ts := shapes[s.shape]
			if ts == nil {
				ts = &tally{}
				shapes[s.shape] = ts
			}
			ts.all++
			if d.Category != s.category || d.Retryable != s.retryable {
				t.Errorf("got %s retryable=%v, want %s retryable=%v\nsummary: %s", d.Category, d.Retryable, s.category, s.retryable, d.Summary)
				return
			}
			ts.ok++
			if d.Summary == "" || len(d.Fix) == 0 || d.Cause == "" || d.Recovery == "" {
				t.Errorf("incomplete diagnosis: %+v", d)
			}
			if strings.Contains(d.Summary, "AIza") || strings.Contains(d.Detail, "AIza") {
				t.Errorf("key leaked: %+v", d)
			}
		})
	}
	names := make([]string, 0, len(shapes))
	for k := range shapes {
		names = append(names, k)
	}
	sort.Strings(names)
	var ok, all int
	for _, k := range names {
		t.Logf("shape %-18s %2d/%2d", k, shapes[k].ok, shapes[k].all)
		ok += shapes[k].ok
		all += shapes[k].all
	}
	t.Logf("corpus: %d/%d right category and retryability", ok, all)
}

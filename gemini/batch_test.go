package gemini

import "testing"

// A batch request's seed comes from the same Options as a single call's and reaches the
// request's generationConfig; without one, none is sent.
func TestBatchRequestCarriesTheSeed(t *testing.T) {
	c := &Client{reg: DefaultRegistry()}
	seed := int64(42)
	for _, tc := range []struct {
		seed *int64
		want any
	}{{&seed, int32(42)}, {nil, nil}} {
		p, err := c.reg.Validate(Request{Prompt: "an icon of a star", Options: Options{Model: "nano-banana-pro", Seed: tc.seed}})
		if err != nil {
			t.Fatal(err)
		}
		gen := batchRequestJSON(c, BatchItem{Key: "r0", Plan: p})["generationConfig"].(map[string]any)
		if got := gen["seed"]; got != tc.want {
			t.Errorf("seed %v: generationConfig seed %v (%T), want %v", tc.seed, got, got, tc.want)
		}
	}
}

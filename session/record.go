package session

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"

	"google.golang.org/genai"
)

// recordFormat is the version written in every conversation header.
const recordFormat = 1

// header is the first line of a conversation file: everything but the contents, plus the blobs
// the body refers to, so a sweep reads only headers.
type header struct {
	Format int `json:"format"`
	Conversation
	Blobs []string `json:"blobs,omitempty"`
}

// storedTurn is one element of the body line: the contents as genai JSON with inline data
// removed, and per part the blob holding that data ("" for none).
type storedTurn struct {
	User       json.RawMessage `json:"user"`
	UserBlobs  []string        `json:"user_blobs,omitempty"`
	Model      json.RawMessage `json:"model"`
	ModelBlobs []string        `json:"model_blobs,omitempty"`
}

// record is a conversation file in memory; the body stays raw unless History needs it.
type record struct {
	head header
	body []json.RawMessage
}

// stripInline returns a copy of c whose inline parts carry no data, and each part's data
// (nil where it has none), aligned with c.Parts. c is not modified.
func stripInline(c *genai.Content) (*genai.Content, [][]byte) {
	out := *c
	out.Parts = make([]*genai.Part, len(c.Parts))
	blobs := make([][]byte, len(c.Parts))
	for i, p := range c.Parts {
		out.Parts[i] = p
		if p == nil || p.InlineData == nil || len(p.InlineData.Data) == 0 {
			continue
		}
		cp, blob := *p, *p.InlineData
		blobs[i], blob.Data = blob.Data, nil
		cp.InlineData = &blob
		out.Parts[i] = &cp
	}
	return &out, blobs
}

// encodeRecord renders the two lines of a conversation file.
func encodeRecord(r *record) ([]byte, error) {
	r.head.Format = recordFormat
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // Encode ends each value with the newline we want
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&r.head); err != nil {
		return nil, fmt.Errorf("encoding conversation header: %w", err)
	}
	body := r.body
	if body == nil {
		body = []json.RawMessage{}
	}
	if err := enc.Encode(body); err != nil {
		return nil, fmt.Errorf("encoding conversation body: %w", err)
	}
	return buf.Bytes(), nil
}

// readRecord reads a conversation file, its body only when withBody is set. A missing file is
// ErrNotFound; anything unreadable is ErrDamaged.
func readRecord(path, id string, withBody bool) (*record, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("opening conversation %s: %w", id, err)
	}
	defer f.Close()
	damaged := func(what string, err error) error {
		return fmt.Errorf("conversation %s (%s): %w: %s: %w", id, path, ErrDamaged, what, err)
	}
	br := bufio.NewReader(f)
	line, err := br.ReadBytes('\n')
	if len(line) == 0 {
		if errors.Is(err, io.EOF) {
			err = errors.New("the file is empty")
		}
		return nil, damaged("reading header", err)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, damaged("reading header", err)
	}
	r := &record{}
	if err := json.Unmarshal(line, &r.head); err != nil {
		return nil, damaged("decoding header", err)
	}
	if r.head.Format != recordFormat {
		return nil, damaged("header", fmt.Errorf("format %d, want %d", r.head.Format, recordFormat))
	}
	if r.head.ID != id {
		return nil, damaged("header", fmt.Errorf("file holds conversation %q", r.head.ID))
	}
	if r.head.Owner == "" {
		r.head.Owner = LocalUser // written before owners were principals: the operator's
	}
	if !withBody {
		return r, nil
	}
	line, err = br.ReadBytes('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, damaged("reading body", err)
	}
	if err := json.Unmarshal(line, &r.body); err != nil {
		return nil, damaged("decoding body", err)
	}
	if len(r.body) != len(r.head.Turns) {
		return nil, damaged("body", fmt.Errorf("%d turns in body, %d in header", len(r.body), len(r.head.Turns)))
	}
	return r, nil
}

// encodeTurn stores t's contents; it returns the stored turn and the blobs to write, keyed by
// their hash.
func encodeTurn(t Turn) (json.RawMessage, map[string][]byte, error) {
	blobs := map[string][]byte{}
	var st storedTurn
	var err error
	if st.User, st.UserBlobs, err = encodeContent(t.User, blobs); err != nil {
		return nil, nil, fmt.Errorf("encoding user content: %w", err)
	}
	if st.Model, st.ModelBlobs, err = encodeContent(t.Model, blobs); err != nil {
		return nil, nil, fmt.Errorf("encoding model content: %w", err)
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding turn: %w", err)
	}
	return raw, blobs, nil
}

func encodeContent(c *genai.Content, blobs map[string][]byte) (json.RawMessage, []string, error) {
	stripped, data := stripInline(c)
	raw, err := json.Marshal(stripped)
	if err != nil {
		return nil, nil, err
	}
	var refs []string
	for i, d := range data {
		if d == nil {
			continue
		}
		if refs == nil {
			refs = make([]string, len(data))
		}
		refs[i] = blobName(d)
		blobs[refs[i]] = d
	}
	return raw, refs, nil
}

// turnBlobs lists the blobs a stored turn refers to.
func turnBlobs(raw json.RawMessage) ([]string, error) {
	var st storedTurn
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, err
	}
	var out []string
	for _, ref := range slices.Concat(st.UserBlobs, st.ModelBlobs) {
		if ref != "" {
			out = append(out, ref)
		}
	}
	return out, nil
}

// sortedUnique merges blob lists into one sorted list without repeats.
func sortedUnique(lists ...[]string) []string {
	out := slices.Concat(lists...)
	slices.Sort(out)
	return slices.Compact(out)
}

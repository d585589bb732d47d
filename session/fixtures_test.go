package session

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"google.golang.org/genai"
)

// fakeClock is the injected clock of every test: it moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 23, 19, 30, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond) // distinct, increasing timestamps
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openStore(t testing.TB, dir string, clock *fakeClock) *FileStore {
	t.Helper()
	s, err := open(dir, Options{Now: clock.Now}, 0)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// fakeImage looks like a PNG to anything that sniffs the first bytes.
func fakeImage(r *rand.Rand, n int) []byte {
	return append([]byte("\x89PNG\r\n\x1a\n"), randBytes(r, n)...)
}

// conversationFixture builds turns shaped like real Gemini 3 image exchanges: the user sends a
// prompt and (from the second turn) the previous image as a reference; the model answers with
// thought text, an interim thought image, a signed text part and a signed final image.
type conversationFixture struct {
	r         *rand.Rand
	imageSize int
	last      []byte
}

func newFixture(seed uint64, imageSize int) *conversationFixture {
	return &conversationFixture{r: rand.New(rand.NewPCG(seed, seed^0x5eed)), imageSize: imageSize}
}

func (f *conversationFixture) turn(i int) Turn {
	prompt := fmt.Sprintf("turn %d: make the fox %s", i, []string{"red", "smaller", "jump", "wink"}[i%4])
	user := &genai.Content{Role: genai.RoleUser, Parts: []*genai.Part{{Text: prompt}}}
	if f.last != nil {
		user.Parts = append(user.Parts, &genai.Part{InlineData: &genai.Blob{Data: f.last, MIMEType: "image/png"}})
	}
	final := fakeImage(f.r, f.imageSize)
	model := &genai.Content{Role: genai.RoleModel, Parts: []*genai.Part{
		{Text: "**Planning the composition**\nKeeping the fox centred.", Thought: true},
		{InlineData: &genai.Blob{Data: fakeImage(f.r, f.imageSize/4), MIMEType: "image/png"}, Thought: true},
		{Text: "Here is your fox.", ThoughtSignature: randBytes(f.r, 512)},
		{InlineData: &genai.Blob{Data: final, MIMEType: "image/png"}, ThoughtSignature: randBytes(f.r, 1024)},
	}}
	f.last = final
	ratio := ""
	if i == 3 {
		ratio = "16:9"
	}
	return Turn{
		Prompt: prompt, User: user, Model: model, AspectRatio: ratio,
		Images: []Image{{ID: NewID("img"), Path: fmt.Sprintf("/out/fox-%d.png", i), MIMEType: "image/png", Width: 1024, Height: 1024}},
	}
}

// deepCopy clones contents through JSON so a later mutation of the originals would show.
func deepCopy(t testing.TB, cs []*genai.Content) []*genai.Content {
	t.Helper()
	b, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	var out []*genai.Content
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameHistory fails unless got equals want both as Go values and on the wire.
func sameHistory(t testing.TB, got, want []*genai.Content) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("history has %d contents, want %d", len(got), len(want))
	}
	if !reflect.DeepEqual(got, want) {
		for i := range got {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("content %d differs:\n got %s\nwant %s", i, brief(got[i]), brief(want[i]))
			}
		}
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Fatalf("history JSON differs (%d vs %d bytes)", len(gb), len(wb))
	}
}

func brief(c *genai.Content) string {
	stripped, blobs := stripInline(c)
	b, _ := json.Marshal(stripped)
	return fmt.Sprintf("%s + %d blobs", b, len(blobs))
}

// appendTurns appends n fixture turns and returns the contents as they were sent.
func appendTurns(t testing.TB, s Store, id string, f *conversationFixture, from, n int) []*genai.Content {
	t.Helper()
	var sent []*genai.Content
	for i := from; i < from+n; i++ {
		turn := f.turn(i)
		sent = append(sent, turn.User, turn.Model)
		if _, err := s.AppendTurn(context.Background(), id, turn); err != nil {
			t.Fatalf("AppendTurn %d: %v", i, err)
		}
	}
	return sent
}

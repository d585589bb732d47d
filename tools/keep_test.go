package tools_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// afterGemini wraps the real client: once Gemini has answered (and the image is paid for) it
// runs then, to break something of ours or to make the caller go away.
type afterGemini struct {
	tools.Gemini
	then func(*gemini.Result)
}

func (a *afterGemini) Generate(ctx context.Context, req gemini.Request) (*gemini.Result, error) {
	res, err := a.Gemini.Generate(ctx, req)
	if err == nil && a.then != nil {
		a.then(res)
	}
	return res, err
}

// failingAppend is a store whose AppendTurn fails, as a full disk would.
type failingAppend struct{ session.Store }

func (failingAppend) AppendTurn(context.Context, string, session.Turn) (session.Conversation, error) {
	return session.Conversation{}, errors.New("no space left on device")
}

// paid checks what every result after a successful generation must carry.
func paid(t *testing.T, res *mcp.CallToolResult) tools.ImageOutput {
	t.Helper()
	if res.IsError {
		t.Fatalf("the image was made and paid for, but the result is an error: %s", text(res))
	}
	var out tools.ImageOutput
	structured(t, res, &out)
	if out.ImageID == "" || out.Path == "" {
		t.Fatalf("the result lost the image's ids: %+v", out)
	}
	if _, err := os.Stat(out.Path); err != nil {
		t.Fatalf("the image is not saved: %v", err)
	}
	return out
}

// A full image larger than the transport carries is delivered as a preview, with a note, never
// as an error that hides the ids of an image Gemini made and billed.
func TestFullTooLargeFallsBackToAPreview(t *testing.T) {
	h := newHarness(t, func(d *tools.Wiring) { d.Delivery.Transport, d.Delivery.MaxInline = "stdio", 1024 })
	res := h.call(t, "generate_image", map[string]any{"prompt": "a kite", "output": "full"})
	out := paid(t, res)
	if out.ConversationID == "" {
		t.Error("no conversation_id")
	}
	if _, ok := res.Content[len(res.Content)-1].(mcp.ImageContent); !ok {
		t.Errorf("no preview came instead of the full image: %+v", res.Content)
	}
	if !strings.Contains(strings.Join(out.Notes, " "), "output full was not possible") {
		t.Errorf("the notes do not say why full was not possible: %v", out.Notes)
	}
	// The next edit continues that conversation (it used to claim the history budget was spent).
	next := imageOut(t, h, "edit_image", map[string]any{"prompt": "add a tail", "output": "path"})
	if next.ConversationID != out.ConversationID || next.Turn != 2 {
		t.Errorf("the edit did not continue the conversation: %s turn %d", next.ConversationID, next.Turn)
	}
}

// A preview that cannot be made falls back to a resource link and the path.
func TestPreviewFailureKeepsTheImage(t *testing.T) {
	h := newHarness(t, func(d *tools.Wiring) {
		d.Gemini = &afterGemini{Gemini: d.Gemini, then: func(r *gemini.Result) {
			r.Image.Data = []byte("not a picture anyone can decode")
		}}
	})
	res := h.call(t, "generate_image", map[string]any{"prompt": "a kite", "output": "preview"})
	out := paid(t, res)
	if _, ok := res.Content[len(res.Content)-1].(mcp.ResourceLink); !ok || !strings.Contains(strings.Join(out.Notes, " "), "no preview") {
		t.Errorf("want a resource link and a note; content %+v notes %v", res.Content, out.Notes)
	}
}

// A turn that cannot be recorded still answers with the saved image and says how to go on.
func TestRecordingFailureKeepsTheImage(t *testing.T) {
	h := newHarness(t, func(d *tools.Wiring) { d.Store = failingAppend{d.Store} })
	res := h.call(t, "generate_image", map[string]any{"prompt": "a kite", "output": "path"})
	out := paid(t, res)
	if !strings.Contains(strings.Join(out.Notes, " "), "could not be recorded") {
		t.Errorf("the notes do not say the turn was not recorded: %v", out.Notes)
	}
}

// A client that cancels after Gemini answered does not cancel the save and the record: the
// image is on disk and the conversation can be continued.
func TestClientCancelAfterGeminiStillRecords(t *testing.T) {
	after := &afterGemini{}
	h := newHarness(t, func(d *tools.Wiring) { after.Gemini, d.Gemini = d.Gemini, after })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	after.then = func(*gemini.Result) { cancel() }
	var req mcp.CallToolRequest
	req.Params.Name = "generate_image"
	req.Params.Arguments = map[string]any{"prompt": "a kite", "output": "path"}
	_, _ = h.client.CallTool(ctx, req) // the caller has gone; whatever it got does not matter

	after.then = nil // the edit below goes through untouched
	// Nobody waits for the answer over stdio: the server goes on saving and recording.
	var list []session.Summary
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		list, err = h.opts.Store.List(context.Background(), session.Query{Owner: session.LocalUser, AllSessions: true})
		if err != nil || len(list) == 1 && list[0].Turns == 1 || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || len(list) != 1 || list[0].Turns != 1 {
		t.Fatalf("the paid turn was not recorded: %+v %v", list, err)
	}
	next := imageOut(t, h, "edit_image", map[string]any{"prompt": "add a tail", "conversation_id": list[0].ID, "output": "path"})
	if next.Turn != 2 {
		t.Errorf("the edit is turn %d, want 2", next.Turn)
	}
}

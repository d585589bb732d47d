package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// stdioPeer is a client at the other end of the pipes: it writes lines and reads responses.
type stdioPeer struct {
	t     *testing.T
	in    *io.PipeWriter
	lines chan map[string]any
	seen  []map[string]any // every message read so far
	done  chan error
}

func startStdioServer(t *testing.T, o Options) *stdioPeer {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := &stdioPeer{t: t, in: inW, lines: make(chan map[string]any, 100), done: make(chan error, 1)}
	s := New(o)
	go func() {
		err := s.ServeStdio(context.Background(), inR, outW)
		_ = outW.Close()
		p.done <- err
	}()
	go func() {
		sc := bufio.NewScanner(outR)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				p.lines <- m
			}
		}
		close(p.lines)
	}()
	t.Cleanup(func() { _ = inW.Close() })
	p.send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`)
	p.response(1)
	p.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return p
}

func (p *stdioPeer) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.in, line+"\n"); err != nil {
		p.t.Fatal(err)
	}
}

// response reads until the response to id arrives.
func (p *stdioPeer) response(id int) map[string]any {
	p.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("output ended before the response to %d", id)
			}
			p.seen = append(p.seen, m)
			if v, ok := m["id"].(float64); ok && int(v) == id && m["method"] == nil {
				return m
			}
		case <-timeout:
			p.t.Fatalf("no response to %d", id)
		}
	}
}

// rest reads everything until the output closes.
func (p *stdioPeer) rest() {
	for m := range p.lines {
		p.seen = append(p.seen, m)
	}
}

func (p *stdioPeer) answered(id int) bool {
	for _, m := range p.seen {
		if v, ok := m["id"].(float64); ok && int(v) == id && m["method"] == nil {
			return true
		}
	}
	return false
}

// A request the client cancelled gets no response (the TypeScript SDK reports one as an error).
func TestStdioDoesNotAnswerCancelledRequests(t *testing.T) {
	tt := newTestTools()
	p := startStdioServer(t, Options{Tools: tt.list(), Workers: 1}) // one worker: calls finish in order
	p.send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wait","arguments":{}}}`)
	<-tt.started
	p.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2,"reason":"user"}}`)
	p.send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"after"}}}`)
	p.response(3) // the single worker finished call 2 (and wrote or dropped its answer) first
	if p.answered(2) {
		t.Error("the cancelled request was answered")
	}
	if tt.cancelled.Load() != 1 {
		t.Error("the cancelled call kept running")
	}
}

// At the end of input, calls in flight are cancelled and nothing more is written (the Python
// SDK client raises BrokenResourceError on a write after it closed).
func TestStdioWritesNothingAfterEndOfInput(t *testing.T) {
	tt := newTestTools()
	p := startStdioServer(t, Options{Tools: tt.list(), Workers: 1})
	p.send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wait","arguments":{}}}`)
	<-tt.started
	_ = p.in.Close()
	p.rest()
	if err := <-p.done; err != nil {
		t.Fatal(err)
	}
	if p.answered(2) || tt.cancelled.Load() != 1 {
		t.Errorf("answered %v, cancelled %d; want no answer and a cancelled call", p.answered(2), tt.cancelled.Load())
	}
}

// resources/read of an image that does not exist is -32002, resource not found.
func TestStdioUnknownImageIsResourceNotFound(t *testing.T) {
	set := tools.New(tools.Wiring{Images: &session.Images{Dir: t.TempDir()}})
	p := startStdioServer(t, Options{Templates: set.ResourceTemplates()})
	for i, uri := range []string{"image://" + session.NewID("img"), "image://not-an-id"} {
		p.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"resources/read","params":{"uri":%q}}`, 10+i, uri))
		e, _ := p.response(10 + i)["error"].(map[string]any)
		if e == nil || e["code"] != float64(-32002) || strings.Contains(fmt.Sprint(e["message"]), "not an image URI") {
			t.Errorf("%s: %v; want code -32002 saying the image is not found", uri, e)
		}
	}
}

// stdin closes while the image is being saved: nobody is left to answer, but the paid image is
// saved and its turn recorded.
func TestStdioClosingStillKeepsThePaidImage(t *testing.T) {
	gc := simulatedGemini(t)
	store, err := session.Open(filepath.Join(t.TempDir(), "store"), session.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	closing := &closeAfter{Gemini: gc}
	set := tools.New(tools.Wiring{Gemini: closing, Store: store, Images: &session.Images{Dir: t.TempDir()}})
	p := startStdioServer(t, Options{Tools: set.All()})
	closing.close = func() { _ = p.in.Close() }
	p.send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"generate_image","arguments":{"prompt":"a kite","output":"path"}}}`)
	p.rest()
	<-p.done
	list, err := store.List(context.Background(), session.Query{Owner: session.LocalUser, AllSessions: true})
	if err != nil || len(list) != 1 || list[0].Turns != 1 {
		t.Fatalf("the paid turn was not recorded: %+v %v", list, err)
	}
	if p.answered(2) {
		t.Error("answered after the end of input")
	}
}

// closeAfter closes stdin once Gemini has answered.
type closeAfter struct {
	tools.Gemini
	once  sync.Once
	close func()
}

func (c *closeAfter) Generate(ctx context.Context, req gemini.Request) (*gemini.Result, error) {
	res, err := c.Gemini.Generate(ctx, req)
	c.once.Do(c.close)
	select { // the end of input cancels the call before the image is saved
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
	}
	return res, err
}

// simulatedGemini is a Gemini client on a simulator of its own, with one attempt per call.
func simulatedGemini(t *testing.T) *gemini.Client {
	t.Helper()
	sim, err := geminitest.New(geminitest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	gc, err := gemini.NewClient(context.Background(), gemini.Config{APIKey: "test-key", BaseURL: sim.URL(),
		Resilience: gemini.Resilience{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return gc
}

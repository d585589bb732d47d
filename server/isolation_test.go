package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/session"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// serveTools serves the real tools, on the simulator, over HTTP with the given security.
func serveTools(t *testing.T, sec Security) (url string, images *session.Images) {
	t.Helper()
	gc := simulatedGemini(t)
	store, err := session.Open(filepath.Join(t.TempDir(), "store"), session.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	out := t.TempDir()
	addr := make(chan string, 1)
	images = &session.Images{Dir: out}
	set := tools.New(tools.Wiring{Gemini: gc, Store: store, Images: images, Logger: slog.New(slog.DiscardHandler),
		Inputs: tools.InputOptions{AllowedRoots: []string{out}},
		Delivery: tools.DeliveryOptions{Transport: "http", URLs: tools.NewURLSigner([]byte("secret"), time.Hour),
			ServerURL: func() string { return url }}})
	s := New(Options{Name: "test", Version: "1", Tools: set.All(), Resources: tools.Resources(),
		Templates: set.ResourceTemplates(), Grace: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.ServeHTTP(ctx, HTTPOptions{Addr: "127.0.0.1:0", Security: sec, KeepAlive: time.Hour,
			Images: set.ImageHandler(), Ready: func(a string) { addr <- a }})
	}()
	url = "http://" + <-addr
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return url, images
}

// mcpClient is a real mcp-go Streamable HTTP client; stateless ones speak the 2026-07-28
// protocol and carry no session.
func mcpClient(t *testing.T, url, token string, stateless bool) *client.Client {
	t.Helper()
	var opts []transport.StreamableHTTPCOption
	if token != "" {
		opts = append(opts, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	}
	c, err := client.NewStreamableHttpClient(url+"/mcp", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var init mcp.InitializeRequest
	if !stateless {
		init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	}
	init.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "0"}
	if _, err := c.Initialize(context.Background(), init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return c
}

func callTool(t *testing.T, c *client.Client, name string, args map[string]any) (*mcp.CallToolResult, string, map[string]any) {
	t.Helper()
	var req mcp.CallToolRequest
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: protocol error: %v", name, err)
	}
	text := ""
	if len(res.Content) > 0 {
		if tc, ok := mcp.AsTextContent(res.Content[0]); ok {
			text = tc.Text
		}
	}
	var out map[string]any
	raw, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(raw, &out)
	return res, text, out
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// sameAsUnknown checks that a call naming another principal's id fails exactly as the same
// call naming an id that does not exist.
func sameAsUnknown(t *testing.T, what string, c *client.Client, name string, args func(id string) map[string]any, theirs, unknown string) {
	t.Helper()
	res, got, _ := callTool(t, c, name, args(theirs))
	_, want, _ := callTool(t, c, name, args(unknown))
	if !res.IsError || strings.ReplaceAll(got, theirs, unknown) != want {
		t.Errorf("%s: another principal's id answered\n  %q\nan unknown id answers\n  %q", what, got, want)
	}
}

// Two principals, with 2025-era sessions and as stateless 2026-07-28 clients: every tool and
// the image resource keep each one's things its own.
func TestPrincipalsSeeOnlyTheirOwn(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		name := "sessions"
		if stateless {
			name = "stateless"
		}
		t.Run(name, func(t *testing.T) { testPrincipals(t, stateless) })
	}
}

func testPrincipals(t *testing.T, stateless bool) {
	url, images := serveTools(t, Security{Principals: []Principal{{"alice", "token-alice"}, {"bob", "token-bob"}}})
	alice := mcpClient(t, url, "token-alice", stateless)
	bob := mcpClient(t, url, "token-bob", stateless)

	res, text, out := callTool(t, alice, "generate_image", map[string]any{"prompt": "alice's fox", "output": "url"})
	conv, img, link := str(out, "conversation_id"), str(out, "image_id"), str(out, "url")
	if res.IsError || conv == "" || img == "" || link == "" {
		t.Fatalf("alice's generation: %s", text)
	}
	_, _, job := callTool(t, alice, "generate_image", map[string]any{"prompt": "alice's kite", "async": true, "idempotency_key": "k1", "output": "path"})
	jobID := str(job, "job_id")
	if jobID == "" {
		t.Fatalf("alice's job: %v", job)
	}
	callTool(t, alice, "edit_image", map[string]any{"prompt": "x", "conversation_id": "c_aaaaaaaaaaaaaaaa"}) // alice's latest failure

	if _, text, out := callTool(t, bob, "explain_error", map[string]any{}); str(out, "source") != "none" {
		t.Errorf("bob's explain_error {} explained alice's failure: %s", text)
	}
	if _, text, rep := callTool(t, bob, "usage_report", map[string]any{}); rep["calls"] != float64(0) {
		t.Errorf("bob's usage_report counts alice's calls: %s", text)
	}
	if _, text, rep := callTool(t, alice, "usage_report", map[string]any{}); rep["calls"] == float64(0) {
		t.Errorf("alice's usage_report lacks her calls: %s", text)
	}

	unknownConv, unknownImg, unknownJob := "c_bbbbbbbbbbbbbbbb", "img_bbbbbbbbbbbbbbbb", "job_bbbbbbbbbbbbbbbb"
	sameAsUnknown(t, "edit conversation_id", bob, "edit_image", func(id string) map[string]any {
		return map[string]any{"prompt": "bob was here", "conversation_id": id}
	}, conv, unknownConv)
	sameAsUnknown(t, "branch from_image_id", bob, "edit_image", func(id string) map[string]any {
		return map[string]any{"prompt": "bob was here", "from_image_id": id}
	}, img, unknownImg)
	sameAsUnknown(t, "edit image", bob, "edit_image", func(id string) map[string]any {
		return map[string]any{"prompt": "bob was here", "image": id}
	}, img, unknownImg)
	sameAsUnknown(t, "reference images", bob, "generate_image", func(id string) map[string]any {
		return map[string]any{"prompt": "bob was here", "images": []string{id}}
	}, img, unknownImg)
	// A path names an image as surely as its id: alice's file reads like a missing one.
	sameAsUnknown(t, "image path", bob, "edit_image", func(p string) map[string]any {
		return map[string]any{"prompt": "bob was here", "image": p}
	}, str(out, "path"), filepath.Join(images.Dir, "20261128-000000_a-fox_"+unknownImg+".png"))
	sameAsUnknown(t, "delete", bob, "delete_conversation", func(id string) map[string]any {
		return map[string]any{"conversation_id": id}
	}, conv, unknownConv)
	sameAsUnknown(t, "get_generation", bob, "get_generation", func(id string) map[string]any {
		return map[string]any{"job_id": id}
	}, jobID, unknownJob)

	for _, all := range []bool{false, true} {
		_, text, out := callTool(t, bob, "list_conversations", map[string]any{"all": all})
		if strings.Contains(text, conv) || len(out["conversations"].([]any)) != 0 {
			t.Errorf("bob's list_conversations (all=%v) shows %s", all, text)
		}
	}
	if res, text, _ := callTool(t, bob, "edit_image", map[string]any{"prompt": "continue"}); !res.IsError || strings.Contains(text, conv) {
		t.Errorf("bob's edit_image without an id continued something: %s", text)
	}
	// The same idempotency key is bob's own: a new generation, not alice's job.
	res, text, bobJob := callTool(t, bob, "generate_image", map[string]any{"prompt": "alice's kite", "async": true, "idempotency_key": "k1", "output": "path"})
	if res.IsError || str(bobJob, "job_id") == "" || str(bobJob, "job_id") == jobID {
		t.Errorf("bob's idempotency key k1 returned alice's job: %s", text)
	}
	rr := mcp.ReadResourceRequest{}
	rr.Params.URI = "image://" + img
	_, errTheirs := bob.ReadResource(context.Background(), rr)
	rr.Params.URI = "image://" + unknownImg
	_, errUnknown := bob.ReadResource(context.Background(), rr)
	if errTheirs == nil || errUnknown == nil || strings.ReplaceAll(errTheirs.Error(), img, unknownImg) != errUnknown.Error() {
		t.Errorf("bob read image://%s: %v (unknown: %v)", img, errTheirs, errUnknown)
	}

	// Batches too.
	res, text, batch := callTool(t, alice, "batch_generate", map[string]any{"requests": []any{map[string]any{"prompt": "a mug"}}})
	if res.IsError || str(batch, "batch_id") == "" {
		t.Fatalf("alice's batch: %s", text)
	}
	for _, tool := range []string{"get_batch", "cancel_batch"} {
		sameAsUnknown(t, tool, bob, tool, func(id string) map[string]any {
			return map[string]any{"batch_id": id}
		}, str(batch, "batch_id"), "batch_bbbbbbbbbbbbbbbb")
	}
	if _, text, _ := callTool(t, bob, "list_batches", map[string]any{}); strings.Contains(text, str(batch, "batch_id")) {
		t.Errorf("bob lists alice's batch: %s", text)
	}

	// The tools that keep nothing of a caller's say nothing of alice's either.
	for _, name := range []string{"check_config", "list_models"} {
		if _, text, _ := callTool(t, bob, name, map[string]any{}); strings.Contains(text, conv) || strings.Contains(text, img) {
			t.Errorf("bob's %s mentions alice's things: %s", name, text)
		}
	}

	// Alice still has all of it.
	rr.Params.URI = "image://" + img
	if _, err := alice.ReadResource(context.Background(), rr); err != nil {
		t.Errorf("alice cannot read her own image: %v", err)
	}
	if res, text, _ := callTool(t, alice, "get_generation", map[string]any{"job_id": jobID, "wait_seconds": 20}); res.IsError {
		t.Errorf("alice's own job: %s", text)
	}
	if _, text, out := callTool(t, alice, "explain_error", map[string]any{}); !stateless && str(out, "source") != "last_failure" {
		t.Errorf("alice's latest failure is gone: %s", text)
	}
	_, _, list := callTool(t, alice, "list_conversations", map[string]any{"all": true})
	if !slices.ContainsFunc(list["conversations"].([]any), func(c any) bool { return c.(map[string]any)["conversation_id"] == conv }) {
		t.Errorf("alice lost conversation %s: %v", conv, list)
	}
	if res, text, _ := callTool(t, alice, "edit_image", map[string]any{"prompt": "add snow", "conversation_id": conv, "output": "path"}); res.IsError {
		t.Errorf("alice cannot continue her own conversation: %s", text)
	}
	get := func(u string) int {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(link); got != http.StatusOK {
		t.Errorf("alice's signed URL: %d", got)
	}
	// Deleted, the image is no longer alice's: its link dies with it.
	if res, text, _ := callTool(t, alice, "delete_conversation", map[string]any{"conversation_id": conv}); res.IsError {
		t.Fatalf("alice cannot delete her own conversation: %s", text)
	}
	if got := get(link); got != http.StatusForbidden {
		t.Errorf("the signed URL of a deleted conversation's image: %d, want 403", got)
	}
}

func TestStatelessClientsGetNoSessionDefaults(t *testing.T) {
	url, _ := serveTools(t, Security{}) // loopback, no token: both are the local user
	one := mcpClient(t, url, "", true)
	two := mcpClient(t, url, "", true)

	res, text, out := callTool(t, one, "generate_image", map[string]any{"prompt": "one's fox", "output": "path", "idempotency_key": "same"})
	if res.IsError {
		t.Fatal(text)
	}
	callTool(t, one, "edit_image", map[string]any{"prompt": "x", "conversation_id": "c_aaaaaaaaaaaaaaaa"})

	res, text, _ = callTool(t, two, "edit_image", map[string]any{"prompt": "continue"})
	if !res.IsError || !strings.Contains(text, "no MCP session") || strings.Contains(text, str(out, "conversation_id")) {
		t.Errorf("a stateless edit_image without conversation_id: %s", text)
	}
	if _, text, ex := callTool(t, two, "explain_error", map[string]any{}); str(ex, "source") != "none" || !strings.Contains(text, "no MCP session") {
		t.Errorf("a stateless explain_error {}: %s", text)
	}
	// The same key with another request is an error, not the first request's image.
	res, text, _ = callTool(t, two, "generate_image", map[string]any{"prompt": "two's owl", "output": "path", "idempotency_key": "same"})
	if !res.IsError || !strings.Contains(text, "idempotency_key") {
		t.Errorf("a reused key with a different request: %s", text)
	}
	// The same request repeated with its key is the retry the key is for.
	_, _, again := callTool(t, two, "generate_image", map[string]any{"prompt": "one's fox", "output": "path", "idempotency_key": "same"})
	if str(again, "image_id") != str(out, "image_id") {
		t.Errorf("a retried request got %v, want image %s", again, str(out, "image_id"))
	}
}

// The legacy SSE transport carries the principal too: each /message request is authenticated
// on its own.
func TestPrincipalsOverSSE(t *testing.T) {
	url, _ := serveTools(t, Security{Principals: []Principal{{"alice", "token-alice"}, {"bob", "token-bob"}}})
	sse := func(token string) *client.Client {
		c, err := client.NewSSEMCPClient(url+"/sse", transport.WithHeaders(map[string]string{"Authorization": "Bearer " + token}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		initClient(t, c)
		return c
	}
	alice, bob := sse("token-alice"), sse("token-bob")
	res, text, out := callTool(t, alice, "generate_image", map[string]any{"prompt": "alice's fox", "output": "path"})
	if res.IsError {
		t.Fatal(text)
	}
	sameAsUnknown(t, "edit over SSE", bob, "edit_image", func(id string) map[string]any {
		return map[string]any{"prompt": "bob was here", "conversation_id": id}
	}, str(out, "conversation_id"), "c_bbbbbbbbbbbbbbbb")
	if _, text, _ := callTool(t, bob, "list_conversations", map[string]any{"all": true}); strings.Contains(text, str(out, "conversation_id")) {
		t.Errorf("bob lists alice's conversation over SSE: %s", text)
	}
	if res, text, _ := callTool(t, alice, "edit_image", map[string]any{"prompt": "add snow", "output": "path"}); res.IsError {
		t.Errorf("alice's session default over SSE: %s", text)
	}
}

package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/server"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
	"github.com/nanobanana-mcp/nanobanana-mcp/tools"
)

// oneShot makes one upstream call per tool call: the tests of single paths are not about
// retries (resilience_test.go is, on a fake clock).
var oneShot = gemini.Resilience{MaxAttempts: 1}

// harness is the real path: a real MCP client, the server as the binary builds it
// (server.New), the tools, the genai SDK, and the simulator over HTTP on loopback.
type harness struct {
	sim     *geminitest.Server
	opts    tools.Wiring // what the tools were built from
	set     *tools.Set
	client  *client.Client
	outDir  string
	schemas map[string]*jsonschema.Schema // output schema per tool
}

func newHarness(t *testing.T, configure ...func(*tools.Wiring)) *harness {
	t.Helper()
	sim, err := geminitest.New(geminitest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	gc, err := gemini.NewClient(context.Background(), gemini.Config{APIKey: "test-key", BaseURL: sim.URL(), Resilience: oneShot})
	if err != nil {
		t.Fatal(err)
	}
	return newHarnessWith(t, sim, gc, configure...)
}

// newHarnessWithSim builds a harness around an existing simulator.
func newHarnessWithSim(t *testing.T, sim *geminitest.Server, configure ...func(*tools.Wiring)) *harness {
	t.Helper()
	gc, err := gemini.NewClient(context.Background(), gemini.Config{APIKey: "test-key", BaseURL: sim.URL(), Resilience: oneShot})
	if err != nil {
		t.Fatal(err)
	}
	return newHarnessWith(t, sim, gc, configure...)
}

func newHarnessWith(t *testing.T, sim *geminitest.Server, gen tools.Gemini, configure ...func(*tools.Wiring)) *harness {
	t.Helper()
	return newHarnessAs(t, "", sim, gen, configure...)
}

// newHarnessAs is newHarnessWith for a client authenticated as principal ("" for the local
// user, over stdio); a principal connects over HTTP with its bearer token.
func newHarnessAs(t *testing.T, principal string, sim *geminitest.Server, gen tools.Gemini, configure ...func(*tools.Wiring)) *harness {
	t.Helper()
	out := t.TempDir()
	store, err := session.Open(filepath.Join(t.TempDir(), "store"), session.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	opts := tools.Wiring{
		Gemini: gen,
		Store:  store,
		Images: &session.Images{Dir: out},
		Inputs: tools.InputOptions{AllowedRoots: []string{out}},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	}
	for _, f := range configure {
		f(&opts)
	}
	set := tools.New(opts)
	// The tools go through server.New, as the binary serves them: the local user over stdio, a
	// named principal over Streamable HTTP with its bearer token (as the HTTP guard knows it).
	srv := server.New(server.Options{Name: "test", Version: "0", Tools: set.All(), Resources: tools.Resources(),
		Templates: set.ResourceTemplates(), Logger: opts.Logger, Grace: time.Second})
	var c *client.Client
	if principal == "" {
		c = stdioClient(t, srv)
	} else {
		c = httpClient(t, srv, principal)
	}
	ctx := context.Background()
	var init mcp.InitializeRequest
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "0"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	h := &harness{sim: sim, opts: opts, set: set, client: c, outDir: out, schemas: map[string]*jsonschema.Schema{}}
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range list.Tools {
		raw, err := json.Marshal(tl)
		if err != nil {
			t.Fatal(err)
		}
		var def struct {
			OutputSchema json.RawMessage `json:"outputSchema"`
		}
		_ = json.Unmarshal(raw, &def)
		h.schemas[tl.Name] = compileSchema(t, tl.Name, def.OutputSchema)
	}
	return h
}

// stdioClient serves srv over a pair of pipes, as on a client's stdin and stdout, and
// connects a real mcp-go client to it.
func stdioClient(t *testing.T, srv *server.Server) *client.Client {
	t.Helper()
	clientIn, serverOut := io.Pipe()
	serverIn, clientOut := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeStdio(ctx, serverIn, serverOut) }()
	c := client.NewClient(transport.NewIO(clientIn, clientOut, nil))
	t.Cleanup(func() {
		_ = c.Close() // the end of input ends ServeStdio
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serving stdio: %v", err)
		}
		_ = serverOut.Close()
	})
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// httpClient serves srv over Streamable HTTP on loopback with one principal, and connects a
// real mcp-go client with that principal's token.
func httpClient(t *testing.T, srv *server.Server, principal string) *client.Client {
	t.Helper()
	token := "token-" + principal
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- srv.ServeHTTP(ctx, server.HTTPOptions{Addr: "127.0.0.1:0", KeepAlive: time.Hour,
			Security: server.Security{Principals: []server.Principal{{Name: principal, Token: token}}},
			Ready:    func(a string) { addr <- a }})
	}()
	var url string
	select {
	case url = <-addr:
	case err := <-done:
		t.Fatalf("serving HTTP: %v", err)
	}
	c, err := client.NewStreamableHttpClient("http://"+url+"/mcp",
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serving HTTP: %v", err)
		}
	})
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

func compileSchema(t *testing.T, name string, raw json.RawMessage) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s output schema: %v", name, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(name+".json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(name + ".json")
	if err != nil {
		t.Fatalf("%s output schema: %v", name, err)
	}
	return s
}

// checkOutputSchema does what the TypeScript SDK client does with every result, error results
// included: validate structuredContent against the tool's output schema.
func (h *harness) checkOutputSchema(t *testing.T, name string, res *mcp.CallToolResult) {
	t.Helper()
	if res.StructuredContent == nil {
		if !res.IsError {
			t.Errorf("%s: a tool with an output schema returned no structuredContent", name)
		}
		return
	}
	raw, _ := json.Marshal(res.StructuredContent)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.schemas[name].Validate(inst); err != nil {
		t.Errorf("%s: structuredContent (isError=%v) does not match the output schema: %v\n%s", name, res.IsError, err, raw)
	}
}

func (h *harness) call(t *testing.T, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	var req mcp.CallToolRequest
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := h.client.CallTool(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: protocol error: %v", name, err)
	}
	h.checkOutputSchema(t, name, res)
	return res
}

// structured decodes structuredContent into v.
func structured(t *testing.T, res *mcp.CallToolResult, v any) {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("structuredContent %s: %v", b, err)
	}
}

func text(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if tc, ok := mcp.AsTextContent(c); ok {
			return tc.Text
		}
	}
	return ""
}

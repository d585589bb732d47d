package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
)

// The simulator told that Nano Banana 2 is shut down: the server's default and the old alias
// both produce images from Nano Banana 2.1, and the result says why.
func TestStdioSimulatedShutdown(t *testing.T) {
	out := t.TempDir()
	c := startStdio(t, []string{"HOME=" + t.TempDir()}, "--simulate", "--output-dir", out,
		"--simulate-faults", "gemini-3.1-flash-image:gone,gemini-2.5-flash-image:gone")
	res := callTool(t, c, "generate_image", map[string]any{"prompt": "a banana", "model": "nano-banana-2", "output": "path"})
	var st struct {
		Model        string   `json:"model"`
		FallbackFrom string   `json:"fallback_from"`
		Notes        []string `json:"notes"`
	}
	raw, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(raw, &st)
	text := ""
	if len(res.Content) > 0 {
		if tc, ok := res.Content[0].(mcp.TextContent); ok {
			text = tc.Text
		}
	}
	if res.IsError || st.Model != "gemini-nano-banana-2.1" || st.FallbackFrom != "gemini-3.1-flash-image" ||
		!strings.Contains(text, "gemini-3.1-flash-image was shut down by Google; used its successor gemini-nano-banana-2.1") {
		t.Errorf("got %+v: %s", st, text)
	}
}

func TestUpstreamNameSaysVertex(t *testing.T) {
	cases := map[string]*Config{
		"gemini":                   {},
		"gemini via http://relay/": {BaseURL: "http://relay/"},
		"vertex-ai project p in global via http://127.0.0.1:9/": {Vertex: true, Project: "p", Location: "global", BaseURL: "http://127.0.0.1:9/"},
	}
	for want, cfg := range cases {
		if got := upstreamName(cfg); got != want {
			t.Errorf("upstreamName = %q; want %q", got, want)
		}
	}
}

// The reproduction, from outside: Vertex AI with Application Default Credentials from
// a service-account file, against a stand-in that refuses requests without the bearer token
// those credentials produce (its token_uri is a loopback token endpoint).
func TestStdioVertexWithServiceAccount(t *testing.T) {
	const token = "ya29.stdio-test-token"
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"` + token + `","token_type":"Bearer","expires_in":3600}`))
	}))
	t.Cleanup(tokens.Close)
	sa, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "p", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "sa@p.iam.gserviceaccount.com", "token_uri": tokens.URL + "/token"})
	file := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(file, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	sim, err := geminitest.New(geminitest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	var refused atomic.Int32
	vertex := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			refused.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`))
			return
		}
		sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(vertex.Close)
	c := startStdio(t, []string{"HOME=" + t.TempDir(), "NANOBANANA_OUTPUT_DIR=" + t.TempDir(),
		"GOOGLE_GENAI_USE_VERTEXAI=true", "GOOGLE_CLOUD_PROJECT=p", "GOOGLE_CLOUD_LOCATION=global",
		"GOOGLE_VERTEX_BASE_URL=" + vertex.URL + "/", "GOOGLE_APPLICATION_CREDENTIALS=" + file})
	res := callTool(t, c, "generate_image", map[string]any{"prompt": "a lighthouse", "output": "path"})
	if res.IsError || refused.Load() != 0 {
		t.Fatalf("generate_image: refused %d: %v", refused.Load(), res.Content)
	}
	for _, r := range generations(sim) {
		if !strings.HasPrefix(r.Path, "/v1beta1/projects/p/locations/global/publishers/google/models/gemini-nano-banana-2.1") {
			t.Errorf("path %s", r.Path)
		}
	}
}

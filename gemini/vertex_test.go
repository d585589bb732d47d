package gemini

import (
	"context"
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

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
)

const adcToken = "ya29.test-token-from-the-service-account"

// serviceAccountFile writes a service-account key file (a fresh RSA key) whose token_uri is
// a loopback OAuth token endpoint that hands out adcToken for a signed JWT assertion.
func serviceAccountFile(t *testing.T) (path string, grants *atomic.Int32) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	grants = &atomic.Int32{}
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" ||
			strings.Count(r.Form.Get("assertion"), ".") != 2 {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		grants.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"` + adcToken + `","token_type":"Bearer","expires_in":3600}`))
	}))
	t.Cleanup(tokens.Close)
	sa := map[string]string{
		"type": "service_account", "project_id": "test-project", "private_key_id": "key-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "nanobanana@test-project.iam.gserviceaccount.com", "client_id": "1",
		"token_uri": tokens.URL + "/token",
	}
	data, _ := json.Marshal(sa)
	path = filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, grants
}

// vertexStandIn serves the simulator but refuses, as Vertex does, any request without the
// bearer token the credentials produce.
func vertexStandIn(t *testing.T) (*httptest.Server, *geminitest.Server, *atomic.Int32) {
	t.Helper()
	sim, err := geminitest.New(geminitest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	refused := &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+adcToken || r.Header.Get("x-goog-api-key") != "" {
			refused.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.","status":"UNAUTHENTICATED"}}`))
			return
		}
		sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, sim, refused
}

func TestVertexWithServiceAccountSendsBearerToken(t *testing.T) {
	file, grants := serviceAccountFile(t)
	srv, sim, refused := vertexStandIn(t)
	c, err := NewClient(context.Background(), Config{Vertex: true, Project: "test-project", Location: "global",
		BaseURL: srv.URL + "/", CredentialsFile: file})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Generate(context.Background(), Request{Prompt: "a pear"})
	if err != nil {
		t.Fatalf("generate: %v (refused %d)", err, refused.Load())
	}
	if res.Model != "gemini-nano-banana-2.1" || len(res.Image.Data) == 0 {
		t.Errorf("result %s, %d bytes", res.Model, len(res.Image.Data))
	}
	if refused.Load() != 0 || grants.Load() != 1 {
		t.Errorf("refused %d, token grants %d", refused.Load(), grants.Load())
	}
	if p := sim.Requests()[0].Path; !strings.HasPrefix(p, "/v1beta1/projects/test-project/locations/global/publishers/google/models/") {
		t.Errorf("path %q", p)
	}
	// models.get per model on Vertex, since its publisher list cannot say what a key can use.
	rep, err := c.Refresh(context.Background())
	if err != nil || rep.Method != "models.get" || len(rep.Available) != len(c.reg.Models()) {
		t.Errorf("refresh %+v %v", rep, err)
	}
}

func TestVertexWithoutCredentialsExplainsADC(t *testing.T) {
	c, err := NewClient(context.Background(), Config{Vertex: true, Project: "p", Location: "global",
		CredentialsFile: filepath.Join(t.TempDir(), "missing.json")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Generate(context.Background(), Request{Prompt: "p"})
	if d := apierrors.Classify(err); d.Category != apierrors.Auth || !strings.Contains(d.Summary, "gcloud auth application-default login") {
		t.Errorf("%+v", d)
	}
}

// The region check follows the registry, not the spelling of ids: 2.1 is global-only too.
func TestVertexRegionFollowsRegistry(t *testing.T) {
	c := &Client{reg: DefaultRegistry(), backend: "vertex-ai", location: "us-central1"}
	for _, id := range []string{"gemini-nano-banana-2.1", "gemini-3-pro-image"} {
		if d := apierrors.Classify(c.checkLocation(id)); d.Category != apierrors.LocationUnsupported {
			t.Errorf("%s: %+v", id, d)
		}
	}
	if err := c.checkLocation("gemini-2.5-flash-image"); err != nil {
		t.Errorf("2.5 is regional: %v", err)
	}
}

// Only a clear "not found" marks a model unavailable: a refused request says nothing about
// the models.
func TestRefreshMarksNothingOnOtherErrors(t *testing.T) {
	srv, _, _ := vertexStandIn(t)
	c, err := NewClient(context.Background(), Config{Vertex: true, APIKey: "express-key", BaseURL: srv.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Refresh(context.Background())
	if err != nil || len(rep.Unknown) != len(c.reg.Models()) || len(rep.Unavailable) != 0 {
		t.Errorf("vertex refresh %+v %v", rep, err)
	}
	sim, err := geminitest.New(geminitest.Config{APIKeys: []string{"right"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	g, err := NewClient(context.Background(), Config{APIKey: "wrong", BaseURL: sim.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Refresh(context.Background()); err == nil {
		t.Error("a refused models.list must be an error")
	}
	for _, cl := range []*Client{c, g} {
		for _, m := range cl.reg.Models() {
			if st, ok := cl.ModelState(m.ID); ok {
				t.Errorf("%s marked %+v after an unclear error", m.ID, st)
			}
		}
	}
}

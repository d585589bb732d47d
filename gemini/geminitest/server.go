// Package geminitest is a faithful fake of the Gemini REST API for the image
// models ("Nano Banana"), driven over HTTP by the real genai SDK. It serves
// generateContent (unary and SSE stream), models.get and models.list on the
// Gemini API and Vertex AI paths; checks keys, image options and replayed
// thought signatures; enforces per-model quotas with real 429 bodies; and
// injects scripted or probabilistic faults. It backs tests, benchmarks and
// the server's --simulate mode, so it is safe for concurrent use.
package geminitest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config configures a Server. The zero value is usable.
type Config struct {
	Addr    string           // listen address; default "127.0.0.1:0" (loopback)
	APIKeys []string         // accepted keys; empty = any non-empty key
	Latency time.Duration    // added to every answered generateContent, honouring the request context
	Faults  string           // fault spec (see ParseFaults) applied to every generateContent
	Quotas  map[string]Quota // per model id; missing or zero = unlimited
	Clock   func() time.Time // for quotas; default time.Now
	Seed    int64            // seeds probabilistic faults
	Logger  *slog.Logger     // optional; requests are logged at debug level, never keys

	// SignatureSecret keys thought signatures; default random per server. Set
	// it to keep stored conversations valid across restarts.
	SignatureSecret []byte
	// RecordLimit bounds Requests(); 0 means 256, negative disables recording.
	RecordLimit int
	// ImageCacheBytes bounds the PNG cache; 0 means 256 MiB.
	ImageCacheBytes int
	// Photo makes pictures photo-like and incompressible, as large as Gemini's
	// real PNGs (20–27 MB at 4K) and about a second slower to make at 4K: for
	// benchmarks and request-size tests. By default pictures are small, fast
	// gradients.
	Photo bool

	// Batch API timing in simulated time (Clock): a batch is PENDING for BatchQueue (default
	// 5 s), RUNNING for BatchRun (default 20 s), then done; one that would run past
	// BatchExpiry (default 48 h) ends EXPIRED.
	BatchQueue, BatchRun, BatchExpiry time.Duration
	// Control enables POST /_simulator/advance?by=<duration>, which moves the simulated clock
	// forward: how a test drives a simulator running as its own process.
	Control bool
}

// Request is one recorded request. It never holds the API key value.
type Request struct {
	Time    time.Time
	Method  string
	Path    string         // URL path as received (prefix included)
	Query   string         // raw query with any "key" parameter removed
	Model   string         // model id from the path, "" for list
	Action  string         // generateContent, streamGenerateContent, get, list
	Headers []string       // canonical header names, sorted
	HasKey  bool           // whether a key or bearer token was present
	Body    map[string]any // parsed JSON body (nil when empty or not JSON)
	Status  int            // response status; 0 if the connection was reset or hung
}

// Server is a running simulator. Create it with New.
type Server struct {
	cfg     Config
	clock   func() time.Time
	log     *slog.Logger
	models  map[string]*modelSpec
	sign    signer
	images  *pngCache
	quotas  *quotas
	faults  *injector
	files   *fileStore
	batches *batchStore

	ln        net.Listener
	http      *http.Server
	handler   http.Handler
	done      chan struct{}
	closeOnce sync.Once

	mu     sync.Mutex
	reqs   []*Request
	serial uint64
	gone   map[string]bool      // shut down: 404, absent from models.list
	retire map[string]time.Time // answers carry modelStatus with this retirementTime
	offset time.Duration        // added to the clock by /_simulator/advance
	stats  callStats            // generateContent answers by model and status
}

// New validates cfg, starts listening and serves in a goroutine.
func New(cfg Config) (*Server, error) {
	rules, err := ParseFaults(cfg.Faults)
	if err != nil {
		return nil, fmt.Errorf("parsing simulator faults: %w", err)
	}
	s := &Server{cfg: cfg, clock: cfg.Clock, log: cfg.Logger, models: newModels(),
		quotas: newQuotas(cfg.Quotas), done: make(chan struct{}), gone: map[string]bool{}, retire: map[string]time.Time{},
		files: newFileStore(), batches: newBatchStore()}
	if s.clock == nil {
		s.clock = time.Now
	}
	var calls []FaultRule
	for _, r := range rules {
		switch r.Fault.Kind {
		case KindGone:
			s.gone[r.Model] = true
		case KindRetiring:
			s.retire[r.Model] = r.Fault.Date
		default:
			calls = append(calls, r)
		}
	}
	s.faults = newInjector(calls, cfg.Seed)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	secret := cfg.SignatureSecret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	s.sign = signer{secret: slices.Clone(secret)}
	cacheBytes := cfg.ImageCacheBytes
	if cacheBytes <= 0 {
		cacheBytes = 256 << 20
	}
	s.images = newPNGCache(cacheBytes)
	s.handler = http.HandlerFunc(s.serve)

	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for simulator on %s: %w", addr, err)
	}
	s.ln = ln
	s.http = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("simulator stopped", "err", err)
		}
	}()
	return s, nil
}

// URL is the base URL to give genai (HTTPOptions.BaseURL or
// GOOGLE_GEMINI_BASE_URL), e.g. "http://127.0.0.1:41234/".
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + "/" }

// Handler serves the simulated API; mount it anywhere (any path prefix works).
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the server, ending hung requests.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		err = s.http.Close()
	})
	return err
}

// Enqueue scripts faults for the next generateContent calls to model ("" =
// any model), one per call, before rules and normal behaviour.
func (s *Server) Enqueue(model string, faults ...Fault) { s.faults.enqueue(model, faults) }

// Shutdown makes model answer as Google answers for a shut-down model: 404 NOT_FOUND on
// every call and absent from models.list.
func (s *Server) Shutdown(model string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gone[model] = true
}

// Retire makes every answer of model carry modelStatus announcing retirement at t (zero: 30
// days from now).
func (s *Server) Retire(model string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retire[model] = t
}

// model returns a served model: known and not shut down.
func (s *Server) model(id string) (*modelSpec, bool) {
	m, ok := s.models[id]
	s.mu.Lock()
	defer s.mu.Unlock()
	return m, ok && !s.gone[id]
}

// retiring returns the modelStatus of a model being retired, or nil.
func (s *Server) retiring(id string) *wireModelStatus {
	s.mu.Lock()
	t, ok := s.retire[id]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	if t.IsZero() {
		t = s.clock().UTC().Truncate(24*time.Hour).AddDate(0, 0, 30)
	}
	// Modelled on Google's deprecation notices; the field names are the API's.
	return &wireModelStatus{ModelStage: "DEPRECATED", RetirementTime: t.UTC().Format(time.RFC3339),
		Message: "This model will be retired on " + t.Format("January 2, 2006") + ". Migrate to a newer model before then."}
}

// Requests returns a copy of the recorded requests, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = *r
	}
	return out
}

// GenerateModels returns the model of every generateContent request, oldest first: which
// models a call went to, without the model listings a client makes at start-up.
func (s *Server) GenerateModels() []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Action == "generateContent" {
			out = append(out, r.Model)
		}
	}
	return out
}

// Reset clears the fault queue (and rule counts), recorded requests and quota usage.
func (s *Server) Reset() {
	s.faults.reset()
	s.quotas.reset()
	s.mu.Lock()
	s.reqs = nil
	s.mu.Unlock()
}

func (s *Server) record(r *Request) {
	limit := s.cfg.RecordLimit
	if limit == 0 {
		limit = 256
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serial++
	if limit < 0 {
		return
	}
	if len(s.reqs) >= limit {
		s.reqs = append(s.reqs[:0], s.reqs[len(s.reqs)-limit+1:]...)
	}
	s.reqs = append(s.reqs, r)
}

func (s *Server) setStatus(r *Request, code int) {
	s.mu.Lock()
	r.Status = code
	s.mu.Unlock()
}

// route is a parsed request path.
type route struct {
	vertex bool
	model  string // without "models/"
	action string
	full   string // Vertex resource name, for its 404 text
}

// parseRoute finds the API version segment anywhere in the path, so base URLs
// with a prefix (…/proxy/) work.
func parseRoute(path string) (route, bool) {
	for _, v := range []string{"/v1beta/", "/v1/", "/v1beta1/"} {
		i := strings.Index(path, v)
		if i < 0 {
			continue
		}
		rest := path[i+len(v):]
		rt := route{}
		switch {
		case strings.HasPrefix(rest, "publishers/google/models/"):
			rt.vertex, rt.full = true, rest
			rest = strings.TrimPrefix(rest, "publishers/google/")
		case strings.HasPrefix(rest, "projects/"):
			j := strings.Index(rest, "/publishers/google/models/")
			if j < 0 {
				return route{}, false
			}
			rt.vertex, rt.full = true, rest
			rest = rest[j+len("/publishers/google/"):]
		}
		if rest == "models" {
			rt.action = "list"
			return rt, true
		}
		name, ok := strings.CutPrefix(rest, "models/")
		if !ok || name == "" {
			return route{}, false
		}
		rt.model, rt.action, _ = strings.Cut(name, ":")
		if rt.action == "" {
			rt.action = "get"
		}
		if k := strings.IndexByte(rt.full, ':'); k >= 0 {
			rt.full = rt.full[:k]
		}
		return rt, true
	}
	return route{}, false
}

// resource is a parsed files or batches path: upload/v1beta/files, v1beta/files/{id}[:action],
// v1beta/batches[/{id}[:action]].
type resource struct {
	kind, id, action string
}

func parseResource(path string) (resource, bool) {
	i := strings.Index(path, "/v1beta/")
	if i < 0 {
		return resource{}, false
	}
	rest := path[i+len("/v1beta/"):]
	if strings.HasSuffix(path[:i+1], "/upload/") && rest == "files" {
		return resource{kind: "upload"}, true
	}
	for _, kind := range []string{"files", "batches"} {
		if rest == kind && kind == "batches" {
			return resource{kind: kind}, true
		}
		if name, ok := strings.CutPrefix(rest, kind+"/"); ok && name != "" {
			id, action, _ := strings.Cut(name, ":")
			return resource{kind: kind, id: id, action: action}, true
		}
	}
	return resource{}, false
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// now is the simulated time: the clock plus any advance.
func (s *Server) now() time.Time {
	s.mu.Lock()
	off := s.offset
	s.mu.Unlock()
	return s.clock().Add(off)
}

// serveAdvance moves the simulated clock forward (Config.Control).
func (s *Server) serveAdvance(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.URL.Query().Get("by"))
	if err != nil || d < 0 || r.Method != http.MethodPost {
		writeStatus(w, invalidArgument("POST /_simulator/advance?by=<duration>, e.g. by=90s."))
		return
	}
	s.mu.Lock()
	s.offset += d
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"now": s.now().UTC().Format(time.RFC3339Nano)})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Control && strings.HasPrefix(r.URL.Path, "/_simulator/") {
		s.serveControl(w, r)
		return
	}
	rt, ok := parseRoute(r.URL.Path)
	res, isRes := parseResource(r.URL.Path)
	if isRes {
		rt, ok = route{action: res.kind + ":" + res.action}, true
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 512<<20))
	key := r.Header.Get("x-goog-api-key")
	q := r.URL.Query()
	if key == "" {
		key = q.Get("key")
	}
	q.Del("key")
	bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	rec := &Request{Time: s.clock(), Method: r.Method, Path: r.URL.Path, Query: q.Encode(),
		Model: rt.model, Action: rt.action, HasKey: key != "" || (rt.vertex && bearer != "")}
	for h := range r.Header {
		rec.Headers = append(rec.Headers, h)
	}
	slices.Sort(rec.Headers)
	if len(body) > 0 && len(body) <= MaxRequestBytes {
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			rec.Body = m
		}
	}
	s.record(rec)
	sw := &statusWriter{ResponseWriter: w}
	answered := s.stats.begin(rt)
	defer func() { s.setStatus(rec, sw.code); answered(sw.code) }()
	s.log.Debug("simulator request", "method", r.Method, "path", r.URL.Path, "model", rt.model, "action", rt.action)

	if !ok {
		writeStatus(sw, rpcStatus{Code: 404, Status: "NOT_FOUND", Message: "Requested entity was not found."})
		return
	}
	if !rec.HasKey {
		writeStatus(sw, unregisteredCaller())
		return
	}
	if key != "" && len(s.cfg.APIKeys) > 0 && !slices.Contains(s.cfg.APIKeys, key) {
		writeStatus(sw, apiKeyInvalid())
		return
	}
	switch {
	case isRes && res.kind == "upload" && r.Method == http.MethodPost:
		s.serveUpload(sw, r, body)
	case isRes && res.kind == "files":
		s.serveFile(sw, r, res.id, res.action)
	case isRes && res.kind == "batches":
		s.serveBatch(sw, r, res.id, res.action)
	case rt.action == "batchGenerateContent" && r.Method == http.MethodPost && !rt.vertex:
		s.serveBatchCreate(sw, rt, body)
	case rt.action == "list" && r.Method == http.MethodGet:
		s.serveList(sw, q)
	case rt.action == "get" && r.Method == http.MethodGet:
		s.serveGet(sw, rt)
	case (rt.action == "generateContent" || rt.action == "streamGenerateContent") && r.Method == http.MethodPost:
		if len(body) > MaxRequestBytes {
			writeStatus(sw, payloadTooLarge())
			return
		}
		s.serveGenerate(sw, r, rt, body)
	default:
		writeStatus(sw, rpcStatus{Code: 404, Status: "NOT_FOUND", Message: "Requested entity was not found."})
	}
}

// modelJSON is the Model resource of models.get and models.list.
func modelJSON(m *modelSpec) map[string]any {
	return map[string]any{
		"name": "models/" + m.ID, "version": m.Version, "displayName": m.DisplayName,
		"description": m.Description, "inputTokenLimit": m.InputLimit, "outputTokenLimit": m.OutputLimit,
		"supportedGenerationMethods": []string{"generateContent", "countTokens", "batchGenerateContent"},
		"temperature":                1, "topP": 0.95, "topK": 64, "maxTemperature": 2, "thinking": m.Thinking,
	}
}

// serveList pages like the API: pageSize (default 50, at most 1000) and an opaque
// pageToken; shut-down models are not listed.
func (s *Server) serveList(w http.ResponseWriter, q url.Values) {
	ids := make([]string, 0, len(s.models))
	for id := range s.models {
		if _, ok := s.model(id); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	size, _ := strconv.Atoi(q.Get("pageSize"))
	if size <= 0 {
		size = 50
	}
	size = min(size, 1000)
	start := 0
	if tok := q.Get("pageToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		n, aerr := strconv.Atoi(string(b))
		if err != nil || aerr != nil || n < 0 || n > len(ids) {
			writeStatus(w, invalidArgument("Invalid page token."))
			return
		}
		start = n
	}
	end := min(start+size, len(ids))
	out := make([]map[string]any, 0, end-start)
	for _, id := range ids[start:end] {
		out = append(out, modelJSON(s.models[id]))
	}
	body := map[string]any{"models": out}
	if end < len(ids) {
		body["nextPageToken"] = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	writeJSON(w, 200, body)
}

func (s *Server) serveGet(w http.ResponseWriter, rt route) {
	m, ok := s.model(rt.model)
	if !ok {
		if rt.vertex {
			writeStatus(w, vertexModelNotFound(rt.full))
			return
		}
		writeStatus(w, rpcStatus{Code: 404, Status: "NOT_FOUND", Message: "models/" + rt.model + " is not found for API version v1beta"})
		return
	}
	writeJSON(w, 200, modelJSON(m))
}

// wait sleeps d unless ctx ends or the server closes first.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

package geminitest

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
)

// A simulator running as its own process (Config.Control) is driven over HTTP, since a test
// cannot reach its methods: these endpoints script it and read what it saw. Each is a
// counterpart of a method a test in the same process would call.
//
//	POST /_simulator/advance?by=90s                 moves the simulated clock (batch states)
//	POST /_simulator/enqueue?fault=MODEL:hangx1     Enqueue: the next calls of MODEL misbehave
//	POST /_simulator/quota?model=ID&rpm=5&ipm=&rpd= sets the model's quota (Config.Quotas)
//	GET  /_simulator/stats                          generateContent answers by model and status
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_simulator/advance":
		s.serveAdvance(w, r)
	case "/_simulator/enqueue":
		s.serveEnqueue(w, r)
	case "/_simulator/quota":
		s.serveQuota(w, r)
	case "/_simulator/stats":
		writeJSON(w, http.StatusOK, s.stats.snapshot())
	default:
		writeStatus(w, rpcStatus{Code: 404, Status: "NOT_FOUND", Message: "Unknown simulator control; use advance, enqueue, quota or stats."})
	}
}

// serveEnqueue scripts faults with a --simulate-faults rule that has a model and an optional
// count: "gemini-3-pro-image:hangx1" makes that model's next call hang.
func (s *Server) serveEnqueue(w http.ResponseWriter, r *http.Request) {
	rule, err := parseRule(r.URL.Query().Get("fault"))
	if err == nil && (r.Method != http.MethodPost || rule.Model == "" || rule.Probability != 1) {
		err = errControl
	}
	if err != nil {
		writeStatus(w, invalidArgument("POST /_simulator/enqueue?fault=MODEL:KIND[xN], e.g. fault=gemini-3-pro-image:hangx1: "+err.Error()))
		return
	}
	n := max(rule.Count, 1)
	faults := make([]Fault, n)
	for i := range faults {
		faults[i] = rule.Fault
	}
	s.Enqueue(rule.Model, faults...)
	writeJSON(w, http.StatusOK, map[string]any{"model": rule.Model, "queued": n})
}

// serveQuota replaces one model's quota; an absent dimension is unlimited.
func (s *Server) serveQuota(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var lim Quota
	bad := r.Method != http.MethodPost || q.Get("model") == ""
	for _, d := range []struct {
		name string
		to   *int
	}{{"rpm", &lim.RPM}, {"ipm", &lim.IPM}, {"rpd", &lim.RPD}} {
		if v := q.Get(d.name); v != "" {
			n, err := strconv.Atoi(v)
			bad = bad || err != nil || n < 0
			*d.to = n
		}
	}
	if bad {
		writeStatus(w, invalidArgument("POST /_simulator/quota?model=ID&rpm=N (and ipm, rpd; 0 or absent is unlimited)."))
		return
	}
	s.quotas.mu.Lock()
	s.quotas.limits[q.Get("model")] = lim
	s.quotas.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"model": q.Get("model"), "quota": lim})
}

var errControl = errors.New("a POST with a model and no @probability is needed")

// Stats is what GET /_simulator/stats answers: how many generateContent calls (unary and
// streamed) were answered with each HTTP status, by model id (status "0" is a call that got no
// answer: a hang the client gave up on, a reset), and how many are being answered now (a test
// waits for a hung call to arrive before killing the server that made it).
type Stats struct {
	Generate map[string]map[string]int `json:"generate"`
	InFlight int                       `json:"in_flight"`
}

// callStats counts every generateContent answer, even with recording off (RecordLimit < 0),
// so a long run can still be checked for 429s.
type callStats struct {
	mu       sync.Mutex
	by       map[string]map[string]int
	inFlight int
}

// begin counts a generateContent call in flight; the returned func counts its answer.
func (c *callStats) begin(rt route) (answered func(code int)) {
	if rt.action != "generateContent" && rt.action != "streamGenerateContent" {
		return func(int) {}
	}
	c.mu.Lock()
	c.inFlight++
	c.mu.Unlock()
	return func(code int) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.inFlight--
		if c.by == nil {
			c.by = map[string]map[string]int{}
		}
		if c.by[rt.model] == nil {
			c.by[rt.model] = map[string]int{}
		}
		c.by[rt.model][strconv.Itoa(code)]++
	}
}

func (c *callStats) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := Stats{Generate: make(map[string]map[string]int, len(c.by)), InFlight: c.inFlight}
	for m, codes := range c.by {
		out.Generate[m] = make(map[string]int, len(codes))
		for k, v := range codes {
			out.Generate[m][k] = v
		}
	}
	return out
}

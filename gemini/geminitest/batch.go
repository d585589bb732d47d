package geminitest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Batch API (Gemini API surface, batches.go in the SDK): POST
// models/{model}:batchGenerateContent with inlined requests or a JSONL file ("files/…", one
// {"key", "request"} per line) answers an Operation-shaped GenerateContentBatch; batches.get
// shows the state moving over simulated time (PENDING → RUNNING → SUCCEEDED, or EXPIRED when
// it would run past the expiry); the output is inlinedResponses for inlined input, else a
// generated JSONL file ("responsesFile") of {"key", "response"} or {"key", "error"} lines.
// A batch succeeds as a whole while single requests fail: partial success is per line.

// Batch timing defaults: quick enough for --simulate demos.
const (
	defaultBatchQueue  = 5 * time.Second
	defaultBatchRun    = 20 * time.Second
	defaultBatchExpiry = 48 * time.Hour
)

type batchReq struct {
	key string
	raw json.RawMessage // a GenerateContentRequest
}

type simBatch struct {
	id, model, displayName string
	created, ended         time.Time
	inline                 bool
	reqs                   []batchReq
	state                  string // terminal state once decided; "" while it runs
	inlined                []map[string]any
	outFile                string
	ok, failed             int
}

type batchStore struct {
	mu      sync.Mutex
	batches map[string]*simBatch
	order   []string
	faults  map[string]Fault // by request key
}

func newBatchStore() *batchStore {
	return &batchStore{batches: map[string]*simBatch{}, faults: map[string]Fault{}}
}

// FailBatchRequest scripts a fault for the batch request with this key (the JSONL "key" or the
// inlined request's metadata "key"): an error fault becomes that line's error, a content fault
// (ImageSafety, NoImage, …) its response. Other requests of the batch still succeed.
func (s *Server) FailBatchRequest(key string, f Fault) {
	s.batches.mu.Lock()
	defer s.batches.mu.Unlock()
	s.batches.faults[key] = f
}

// BatchCount reports how many batches were created, for tests of idempotency.
func (s *Server) BatchCount() int {
	s.batches.mu.Lock()
	defer s.batches.mu.Unlock()
	return len(s.batches.order)
}

func (s *Server) serveBatchCreate(w http.ResponseWriter, rt route, body []byte) {
	m, ok := s.model(rt.model)
	if !ok {
		writeStatus(w, modelNotFound(rt.model, "batchGenerateContent"))
		return
	}
	var in struct {
		Batch struct {
			DisplayName string `json:"displayName"`
			InputConfig struct {
				FileName string `json:"fileName"`
				Requests *struct {
					Requests []struct {
						Request  json.RawMessage   `json:"request"`
						Metadata map[string]string `json:"metadata"`
					} `json:"requests"`
				} `json:"requests"`
			} `json:"inputConfig"`
		} `json:"batch"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeStatus(w, invalidArgument("Invalid JSON payload received. "+strings.TrimPrefix(err.Error(), "json: ")))
		return
	}
	b := &simBatch{id: newID(16), model: m.ID, displayName: in.Batch.DisplayName, created: s.now()}
	ic := in.Batch.InputConfig
	switch {
	case ic.FileName != "" && ic.Requests != nil:
		writeStatus(w, invalidArgument("Only one of input_config.file_name and input_config.requests may be set."))
		return
	case ic.FileName != "":
		f, ok := s.files.get(strings.TrimPrefix(ic.FileName, "files/"), s.now())
		if !ok {
			writeStatus(w, fileNotFound(strings.TrimPrefix(ic.FileName, "files/")))
			return
		}
		sc := bufio.NewScanner(bytes.NewReader(f.Data))
		sc.Buffer(make([]byte, 1<<20), 512<<20)
		for n := 1; sc.Scan(); n++ {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			var l struct {
				Key     string          `json:"key"`
				Request json.RawMessage `json:"request"`
			}
			if json.Unmarshal(line, &l) != nil || len(l.Request) == 0 {
				writeStatus(w, invalidArgument("Invalid JSONL input file: line "+strconv.Itoa(n)+" is not a {\"key\", \"request\"} object."))
				return
			}
			b.reqs = append(b.reqs, batchReq{key: l.Key, raw: slices.Clone(l.Request)})
		}
	case ic.Requests != nil:
		b.inline = true
		for _, r := range ic.Requests.Requests {
			b.reqs = append(b.reqs, batchReq{key: r.Metadata["key"], raw: r.Request})
		}
	}
	if len(b.reqs) == 0 {
		writeStatus(w, invalidArgument("* BatchGenerateContentRequest.batch.input_config: input_config must contain requests or a file_name.\n"))
		return
	}
	s.batches.mu.Lock()
	s.batches.batches[b.id] = b
	s.batches.order = append(s.batches.order, b.id)
	s.batches.mu.Unlock()
	writeJSON(w, http.StatusOK, s.batchJSON(b))
}

// state returns the batch's state now, finishing it (and writing its output) when its time
// has come. Callers hold batches.mu.
func (s *Server) batchState(b *simBatch) string {
	if b.state != "" {
		return b.state
	}
	now := s.now()
	queue, run, expiry := orDur(s.cfg.BatchQueue, defaultBatchQueue), orDur(s.cfg.BatchRun, defaultBatchRun), orDur(s.cfg.BatchExpiry, defaultBatchExpiry)
	switch {
	case queue+run > expiry && now.Sub(b.created) >= expiry:
		b.state, b.ended = "BATCH_STATE_EXPIRED", b.created.Add(expiry)
		return b.state
	case now.Sub(b.created) < queue:
		return "BATCH_STATE_PENDING"
	case now.Sub(b.created) < queue+run:
		return "BATCH_STATE_RUNNING"
	}
	b.ended = b.created.Add(queue + run)
	s.runBatch(b)
	b.state = "BATCH_STATE_SUCCEEDED"
	return b.state
}

// runBatch answers every request as generateContent would, one line each.
func (s *Server) runBatch(b *simBatch) {
	m := s.models[b.model]
	var out bytes.Buffer
	for _, r := range b.reqs {
		line := map[string]any{}
		if b.inline {
			if r.key != "" {
				line["metadata"] = map[string]string{"key": r.key}
			}
		} else {
			line["key"] = r.key
		}
		f, faulty := s.batches.faults[r.key]
		g, msg := s.validate(m, r.raw, true)
		switch st, isErr := faultStatus(f, m.ID); {
		case msg != "":
			line["error"] = invalidArgument(msg)
		case faulty && isErr:
			line["error"] = st
		default:
			line["response"] = s.answer(g, f, faulty)
		}
		if _, bad := line["error"]; bad {
			b.failed++
		} else {
			b.ok++
		}
		if b.inline {
			b.inlined = append(b.inlined, line)
			continue
		}
		enc, _ := json.Marshal(line)
		out.Write(enc)
		out.WriteByte('\n')
	}
	if !b.inline {
		f := &simFile{Name: "files/batch-" + b.id, DisplayName: "batch-" + b.id + "-output", MIMEType: "application/jsonl",
			Data: out.Bytes(), Created: b.ended, Generated: true}
		s.files.put(f)
		b.outFile = f.Name
	}
}

func (s *Server) batchJSON(b *simBatch) map[string]any {
	state := s.batchState(b)
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	md := map[string]any{
		"@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
		"name":  "batches/" + b.id, "model": "models/" + b.model, "displayName": b.displayName,
		"createTime": ts(b.created), "updateTime": ts(s.now()), "state": state,
		"batchStats": map[string]any{"requestCount": strconv.Itoa(len(b.reqs)),
			"successfulRequestCount": strconv.Itoa(b.ok), "failedRequestCount": strconv.Itoa(b.failed),
			"pendingRequestCount": strconv.Itoa(len(b.reqs) - b.ok - b.failed)},
	}
	op := map[string]any{"name": "batches/" + b.id, "metadata": md}
	if !b.ended.IsZero() {
		md["endTime"] = ts(b.ended)
		op["done"] = true
	}
	if state == "BATCH_STATE_SUCCEEDED" {
		output := map[string]any{"responsesFile": b.outFile}
		if b.inline {
			output = map[string]any{"inlinedResponses": map[string]any{"inlinedResponses": b.inlined}}
		}
		md["output"] = output
		resp := map[string]any{"@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"}
		for k, v := range output {
			resp[k] = v
		}
		op["response"] = resp
	}
	return op
}

// serveBatch handles batches (list), batches/{id} (get, delete) and batches/{id}:cancel.
func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request, id, action string) {
	s.batches.mu.Lock()
	defer s.batches.mu.Unlock()
	if id == "" && r.Method == http.MethodGet {
		ops := []map[string]any{}
		for i := len(s.batches.order) - 1; i >= 0; i-- {
			if b, ok := s.batches.batches[s.batches.order[i]]; ok {
				ops = append(ops, s.batchJSON(b))
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"operations": ops})
		return
	}
	b, ok := s.batches.batches[id]
	if !ok {
		writeStatus(w, rpcStatus{Code: 404, Status: "NOT_FOUND", Message: "Requested entity was not found."})
		return
	}
	switch {
	case action == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.batchJSON(b))
	case action == "cancel" && r.Method == http.MethodPost:
		if s.batchState(b) == "BATCH_STATE_PENDING" || s.batchState(b) == "BATCH_STATE_RUNNING" {
			b.state, b.ended = "BATCH_STATE_CANCELLED", s.now()
		}
		writeJSON(w, http.StatusOK, map[string]any{})
	case action == "" && r.Method == http.MethodDelete:
		delete(s.batches.batches, id)
		writeJSON(w, http.StatusOK, map[string]any{})
	default:
		writeStatus(w, rpcStatus{Code: 404, Status: "NOT_FOUND", Message: "Requested entity was not found."})
	}
}

func orDur(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

package gemini

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"google.golang.org/genai"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// Bulk generation through Gemini's Batch API: half the price, a 24-hour target turnaround. A
// Gemini batch has one model, so callers group their requests by model. Input always goes
// as a JSONL file through the Files API, so the output comes back as a JSONL file too: large
// inline image output has been reported unretrievable (research/api-2026-11.md).

// statusTimeout bounds a batches.get or cancel call: a hung upstream must not stall the poller.
const statusTimeout = time.Minute

// BatchPriceFactor is what a batch image costs relative to a single call.
const BatchPriceFactor = 0.5

// BatchItem is one validated request of a batch, named by a key unique within its job.
type BatchItem struct {
	Key  string
	Plan *Plan
}

// BatchRequestError names the request of a batch that failed validation (Index from 0).
type BatchRequestError struct {
	Index int
	Err   *apierrors.Error
}

func (e *BatchRequestError) Error() string { return e.Err.Error() }
func (e *BatchRequestError) Unwrap() error { return e.Err }

// ValidateBatch validates every request as a single call would be, and refuses what a batch
// cannot carry (a conversation's history, Search grounding). The first bad request is
// reported with its index before anything is sent.
func (c *Client) ValidateBatch(reqs []Request) ([]*Plan, error) {
	plans := make([]*Plan, len(reqs))
	for i, req := range reqs {
		var err error
		switch {
		case len(req.History) > 0 || req.UpstreamID != "":
			err = apierrors.New(apierrors.InvalidRequest, "a batch request cannot continue a conversation; use edit_image for that")
		case req.GoogleSearch:
			err = apierrors.New(apierrors.UnsupportedParameter, "Search grounding is not offered in batches; use generate_image for grounded images")
		default:
			plans[i], err = c.reg.Validate(req)
		}
		if err != nil {
			e, ok := apierrors.As(err)
			if !ok {
				e = apierrors.New(apierrors.InvalidRequest, err.Error())
			}
			out := *e
			out.Diagnosis.Summary = fmt.Sprintf("Request %d of the batch is invalid: %s", i, lowerFirst(e.Diagnosis.Summary))
			return nil, &BatchRequestError{Index: i, Err: &out}
		}
	}
	return plans, nil
}

// PlanBatchItem rebuilds the plan of a stored batch request for reading its result (prices,
// sizes); reference images are not needed for that.
func (c *Client) PlanBatchItem(req Request) (*Plan, error) {
	req.References = nil
	return c.reg.Validate(req)
}

// BatchCost is the estimated price of one image of p at batch prices.
func BatchCost(p *Plan) float64 {
	return round(p.Model.USDPerImage[p.ImageSize]*BatchPriceFactor, 4)
}

// SubmitBatch uploads the items as a JSONL file and creates one batch job on model (an
// upstream id). It returns the job's name ("batches/…") and the input file's ("files/…").
func (c *Client) SubmitBatch(ctx context.Context, model, displayName string, items []BatchItem) (job, input string, err error) {
	if c.sdk == nil {
		return "", "", errNoKey()
	}
	if c.backend == "vertex-ai" {
		return "", "", apierrors.New(apierrors.UnsupportedParameter,
			"Batches on Vertex AI need Cloud Storage input and output, which this server does not manage; use a Gemini API key for batch_generate.")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var buf bytes.Buffer
	for _, it := range items {
		line, err := json.Marshal(map[string]any{"key": it.Key, "request": batchRequestJSON(c, it)})
		if err != nil {
			return "", "", fmt.Errorf("encoding batch request %s: %w", it.Key, err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	f, err := c.sdk.Files.Upload(ctx, &buf, &genai.UploadFileConfig{MIMEType: "jsonl", DisplayName: displayName + "-input"})
	if err != nil {
		return "", "", c.batchError("uploading the batch input", model, err)
	}
	bj, err := c.sdk.Batches.Create(ctx, model, &genai.BatchJobSource{FileName: f.Name}, &genai.CreateBatchJobConfig{DisplayName: displayName})
	if err != nil {
		c.DeleteFiles(ctx, f.Name)
		return "", "", c.batchError("creating the batch job", model, err)
	}
	return bj.Name, f.Name, nil
}

// DeleteFiles deletes files from the Files API, best effort: a batch's input and output count
// against the project's 20 GB until they expire after 48 hours.
func (c *Client) DeleteFiles(ctx context.Context, names ...string) {
	if c.sdk == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	for _, name := range names {
		if name == "" {
			continue
		}
		if _, err := c.sdk.Files.Delete(ctx, name, nil); err != nil {
			c.log.Debug("deleting a batch file", "file", name, "error", apierrors.Sanitize(err.Error()))
		}
	}
}

// batchRequestJSON is a GenerateContentRequest in wire form: genai's types marshal to the
// REST field names.
func batchRequestJSON(c *Client, it BatchItem) map[string]any {
	cfg := c.config(it.Plan)
	if cfg.ThinkingConfig != nil {
		// Nobody watches a batch think: thought images would only swell the output file.
		cfg.ThinkingConfig.IncludeThoughts = false
		if cfg.ThinkingConfig.ThinkingLevel == "" {
			cfg.ThinkingConfig = nil
		}
	}
	gen := map[string]any{"responseModalities": cfg.ResponseModalities}
	if cfg.ImageConfig != nil {
		gen["imageConfig"] = cfg.ImageConfig
	}
	if cfg.ThinkingConfig != nil {
		gen["thinkingConfig"] = cfg.ThinkingConfig
	}
	if cfg.Seed != nil {
		gen["seed"] = *cfg.Seed
	}
	return map[string]any{"contents": []*genai.Content{UserContent(it.Plan)}, "generationConfig": gen}
}

// BatchJobStatus is what batches.get says about a job.
type BatchJobStatus struct {
	State      string // JOB_STATE_PENDING, _RUNNING, _SUCCEEDED, _FAILED, _CANCELLED, _EXPIRED, …
	OutputFile string // "files/…" once succeeded
	Inline     []*genai.InlinedResponse
	Message    string // the job's own error, if any
}

// Done reports whether the job will not change any more.
func (s *BatchJobStatus) Done() bool {
	switch s.State {
	case string(genai.JobStatePending), string(genai.JobStateRunning), string(genai.JobStateQueued), "":
		return false
	}
	return true
}

// BatchStatus asks Gemini about one job.
func (c *Client) BatchStatus(ctx context.Context, name string) (*BatchJobStatus, error) {
	if c.sdk == nil {
		return nil, errNoKey()
	}
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	job, err := c.sdk.Batches.Get(ctx, name, nil)
	if err != nil {
		return nil, c.batchError("checking batch "+name, "", err)
	}
	st := &BatchJobStatus{State: string(job.State)}
	if job.Dest != nil {
		st.OutputFile, st.Inline = job.Dest.FileName, job.Dest.InlinedResponses
	}
	if job.Error != nil {
		st.Message = job.Error.Message
	}
	return st, nil
}

// CancelBatch asks Gemini to cancel a job; requests already answered are still billed.
func (c *Client) CancelBatch(ctx context.Context, name string) error {
	if c.sdk == nil {
		return errNoKey()
	}
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	if err := c.sdk.Batches.Cancel(ctx, name, nil); err != nil {
		return c.batchError("cancelling batch "+name, "", err)
	}
	return nil
}

// BatchOutcome is the answer to one request of a finished job: a Result, or why it failed.
type BatchOutcome struct {
	Key    string
	Result *Result
	Err    *apierrors.Error
}

// BatchResults downloads a finished job's output and reads every answer as a single call's
// (cost at batch prices). plans maps each key to its plan; each outcome is logged for
// usage_report.
func (c *Client) BatchResults(ctx context.Context, st *BatchJobStatus, plans map[string]*Plan) ([]BatchOutcome, error) {
	type line struct {
		Key      string          `json:"key"`
		Response json.RawMessage `json:"response"`
		Error    *rpcError       `json:"error"`
		Status   *rpcError       `json:"status"`
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout4) // the output of a batch of 4K images is large
	defer cancel()
	var lines []line
	switch {
	case st.OutputFile != "":
		data, err := c.sdk.Files.Download(ctx, genai.NewDownloadURIFromFile(&genai.File{Name: st.OutputFile, DownloadURI: st.OutputFile}), nil)
		if err == nil {
			err = downloadError(data)
		}
		if err != nil {
			return nil, c.batchError("downloading the batch output", "", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 256<<20) // one line holds a whole response, 4K images included
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var l line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				return nil, fmt.Errorf("reading the batch output: %w", err)
			}
			lines = append(lines, l)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("reading the batch output: %w", err)
		}
	default:
		for _, r := range st.Inline {
			l := line{Key: r.Metadata["key"]}
			if r.Response != nil {
				l.Response, _ = json.Marshal(r.Response)
			}
			if r.Error != nil {
				l.Error = &rpcError{Message: r.Error.Message}
				if r.Error.Code != nil {
					l.Error.Code = int(*r.Error.Code)
				}
			}
			lines = append(lines, l)
		}
	}
	out := make([]BatchOutcome, 0, len(lines))
	for _, l := range lines {
		p := plans[l.Key]
		if p == nil {
			continue // not ours (a key we never sent)
		}
		o := BatchOutcome{Key: l.Key}
		if l.Error == nil {
			l.Error = l.Status
		}
		switch {
		case l.Error != nil:
			d := apierrors.FromAPIError(genai.APIError{Code: l.Error.Code, Message: l.Error.Message, Status: l.Error.Status},
				apierrors.ForModel(p.UpstreamID), apierrors.WithReplacements(c.reg.Replacement))
			o.Err = &apierrors.Error{Diagnosis: d}
		default:
			var resp genai.GenerateContentResponse
			if err := json.Unmarshal(l.Response, &resp); err != nil {
				o.Err = apierrors.Newf(apierrors.NoImage, "The batch answer for request %s cannot be read; submit it again.", l.Key)
				break
			}
			res, err := readResponse(&resp, p, l.Response)
			if err != nil {
				e, ok := apierrors.As(err)
				if !ok {
					e = apierrors.New(apierrors.NoImage, err.Error())
				}
				o.Err = e
				break
			}
			res.CostUSD = round(res.CostUSD*BatchPriceFactor, 4)
			res.Attempts = 1
			o.Result = res
		}
		rec := CallRecord{At: c.now(), Owner: p.Owner, Model: p.UpstreamID, Attempts: 1, Batch: true}
		if o.Err != nil {
			rec.Category = o.Err.Diagnosis.Category
		} else {
			rec.Usage, rec.CostUSD = o.Result.Usage, o.Result.CostUSD
		}
		c.record(rec)
		out = append(out, o)
	}
	return out, nil
}

// downloadError recognises an error body returned as if it were the file: the SDK's
// Files.Download (v1.77) does not check the HTTP status.
func downloadError(data []byte) error {
	var body struct {
		Error    *rpcError       `json:"error"`
		Key      *string         `json:"key"`
		Response json.RawMessage `json:"response"`
	}
	if json.Unmarshal(bytes.TrimSpace(data), &body) != nil || body.Error == nil || body.Key != nil || body.Response != nil {
		return nil
	}
	return genai.APIError{Code: body.Error.Code, Message: body.Error.Message, Status: body.Error.Status}
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
}

// batchError classifies a failed Batch or Files API call.
func (c *Client) batchError(what, model string, err error) error {
	d := apierrors.Classify(err, apierrors.ForModel(model), apierrors.WithReplacements(c.reg.Replacement))
	return &apierrors.Error{Diagnosis: d, Err: fmt.Errorf("%s: %w", what, err)}
}

func lowerFirst(s string) string {
	if len(s) < 2 || s[1] >= 'A' && s[1] <= 'Z' { // an acronym stays as it is
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

package tools

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// maxBatchRequests bounds one call; Gemini's own limit is the 2 GB input file.
const maxBatchRequests = 1000

// BatchGenerateInput is the batch_generate argument object.
type BatchGenerateInput struct {
	Requests       []BatchRequestInput `json:"requests" jsonschema_description:"1 to 1000."`
	IdempotencyKey string              `json:"idempotency_key,omitempty" jsonschema_description:"A retry with the same key returns the same batch."`
}

// BatchRequestInput is one request of a batch: the generate_image options.
type BatchRequestInput struct {
	Prompt        string   `json:"prompt"`
	Model         string   `json:"model,omitempty"`
	AspectRatio   string   `json:"aspect_ratio,omitempty"`
	ImageSize     string   `json:"image_size,omitempty"`
	Images        []string `json:"images,omitempty" jsonschema_description:"As in generate_image."`
	Seed          *int64   `json:"seed,omitempty"`
	ThinkingLevel string   `json:"thinking_level,omitempty"`
	Key           string   `json:"key,omitempty" jsonschema_description:"Your name for it, echoed in results."`
}

// BatchOutput is the structuredContent of batch_generate, get_batch and cancel_batch.
type BatchOutput struct {
	BatchID      string            `json:"batch_id"`
	State        string            `json:"state" jsonschema:"enum=pending,enum=running,enum=succeeded,enum=failed,enum=cancelled,enum=expired,enum=partially_succeeded"`
	Requests     int               `json:"requests"`
	Done         int               `json:"done" jsonschema_description:"requests with an image"`
	Failed       int               `json:"failed"`
	Jobs         int               `json:"jobs" jsonschema_description:"one per model"`
	EstimatedUSD float64           `json:"estimated_cost_usd" jsonschema_description:"at batch prices (50%)"`
	CostUSD      float64           `json:"cost_usd" jsonschema_description:"so far"`
	Created      string            `json:"created"`
	Results      []BatchItemOutput `json:"results,omitempty" jsonschema_description:"once collected"`
}

// BatchItemOutput is the outcome of one request of a batch.
type BatchItemOutput struct {
	Index    int     `json:"index"`
	Key      string  `json:"key,omitempty"`
	Status   string  `json:"status" jsonschema:"enum=pending,enum=succeeded,enum=failed"`
	ImageID  string  `json:"image_id,omitempty"`
	Path     string  `json:"path,omitempty"`
	MIMEType string  `json:"mime_type,omitempty"`
	Width    int     `json:"width,omitempty"`
	Height   int     `json:"height,omitempty"`
	CostUSD  float64 `json:"cost_usd,omitempty"`
	Category string  `json:"category,omitempty" jsonschema_description:"see explain_error"`
	Error    string  `json:"error,omitempty"`
}

// batchGenerateDeps is what batch_generate uses: the batches, and Loader for reference images.
type batchGenerateDeps struct {
	*Failures
	*Loader
	Batches *Batches
}

// BatchGenerate is the batch_generate tool.
func BatchGenerate(batches *Batches, in *Loader, f *Failures) Tool {
	d := &batchGenerateDeps{Failures: f, Loader: in, Batches: batches}
	tool := mcp.NewTool("batch_generate",
		mcp.WithDescription("Generate many images at half price via Gemini's Batch API (minutes to 24 h); returns a batch_id for get_batch."),
		mcp.WithInputSchema[BatchGenerateInput](),
		mcp.WithOutputSchema[BatchOutput](),
		annotations("Batch generate", false, false, false, true),
	)
	return Tool{Tool: tool, Handler: typed(f, "batch_generate", d.batchGenerate)}
}

func (d *batchGenerateDeps) batchGenerate(ctx context.Context, _ mcp.CallToolRequest, in BatchGenerateInput) *mcp.CallToolResult {
	const tool = "batch_generate"
	if d.Batches.api == nil {
		return d.failure(ctx, tool, "", apierrors.Local(apierrors.UnsupportedParameter,
			"Batch generation is not available with this server's Gemini backend; use generate_image."))
	}
	if n := len(in.Requests); n == 0 || n > maxBatchRequests {
		return d.failure(ctx, tool, "", apierrors.Localf(apierrors.InvalidRequest,
			"A batch needs 1 to %d requests, not %d; split larger work into several batches.", maxBatchRequests, n))
	}
	owner := ownerOf(ctx)
	b := d.Batches
	b.submit.Lock() // one submission at a time: the idempotency check and the record are one step
	defer b.submit.Unlock()
	if b.shared != nil && in.IdempotencyKey != "" {
		// And across replicas: the key's lock makes its check and its record one step there too.
		unlock, err := b.shared(ctx, "batchkey-"+idemKey(owner, tool, in.IdempotencyKey))
		if err != nil {
			return d.failure(ctx, tool, "", apierrors.Local(apierrors.ServerError,
				"The server's shared store (Redis) did not answer, so the batch was not submitted; call batch_generate again in a moment."))
		}
		defer unlock()
	}
	if in.IdempotencyKey != "" {
		if bt := b.byKey(owner, in.IdempotencyKey); bt != nil {
			if bt.Request != "" && bt.Request != requestDigest(tool, in) {
				return d.failure(ctx, tool, "", apierrors.Localf(apierrors.InvalidRequest,
					"The idempotency_key %q was already used for batch %s with different requests; use a new key for a new batch (the same key only repeats the same batch).",
					in.IdempotencyKey, bt.ID))
			}
			return batchResult(bt, fmt.Sprintf("Batch %s was already submitted with this idempotency_key; nothing was submitted again.", bt.ID), PreviewOptions{}, "")
		}
	}
	reqs := make([]gemini.Request, len(in.Requests))
	for i, r := range in.Requests {
		refs, err := d.loadImages(ctx, r.Images)
		if err != nil {
			return d.failure(ctx, tool, r.Model, requestError(i, err))
		}
		if r.Seed != nil && (*r.Seed < math.MinInt32 || *r.Seed > math.MaxInt32) {
			return d.failure(ctx, tool, r.Model, apierrors.Localf(apierrors.InvalidRequest,
				"Request %d of the batch is invalid: seed %d is out of range; use a 32-bit integer.", i, *r.Seed))
		}
		reqs[i] = gemini.Request{Prompt: r.Prompt, References: refs, Options: gemini.Options{Model: r.Model,
			AspectRatio: r.AspectRatio, ImageSize: r.ImageSize, ThinkingLevel: r.ThinkingLevel, Seed: r.Seed}}
	}
	plans, err := b.api.ValidateBatch(reqs)
	if err != nil {
		return d.failure(ctx, tool, "", err)
	}
	now := b.clock.Now()
	bt := &session.Batch{ID: session.NewID("batch"), Owner: owner, IdempotencyKey: in.IdempotencyKey, Request: requestDigest(tool, in), Created: now, Updated: now}
	jobOf := map[string]int{}
	var groups [][]gemini.BatchItem
	for i, p := range plans {
		j, ok := jobOf[p.UpstreamID]
		if !ok {
			j = len(bt.Jobs)
			jobOf[p.UpstreamID] = j
			bt.Jobs = append(bt.Jobs, session.BatchJob{Model: p.UpstreamID})
			groups = append(groups, nil)
		}
		r := in.Requests[i]
		var seed *int32
		if r.Seed != nil {
			s := int32(*r.Seed)
			seed = &s
		}
		bt.Items = append(bt.Items, session.BatchItem{Key: r.Key, Job: j, Prompt: p.Prompt, Model: p.Model.ID,
			AspectRatio: p.AspectRatio, ImageSize: p.ImageSize, ThinkingLevel: p.ThinkingLevel, Seed: seed, Status: session.ItemPending})
		groups[j] = append(groups[j], gemini.BatchItem{Key: itemKey(i), Plan: p})
		bt.EstimatedUSD += gemini.BatchCost(p)
	}
	bt.EstimatedUSD = math.Round(bt.EstimatedUSD*10000) / 10000
	var firstErr error
	for j, items := range groups {
		name, input, err := b.api.SubmitBatch(ctx, bt.Jobs[j].Model, bt.ID, items)
		if err != nil {
			// Jobs already created go on; this one's requests fail with the reason.
			firstErr = err
			diag := apierrors.Classify(err, apierrors.ForModel(bt.Jobs[j].Model))
			bt.Jobs[j].Error, bt.Jobs[j].State = diag.Summary, "NOT_SUBMITTED"
			for k := range bt.Items {
				if bt.Items[k].Job == j {
					bt.Items[k].Status, bt.Items[k].Category, bt.Items[k].Error = session.ItemFailed, string(diag.Category), diag.Summary
				}
			}
			continue
		}
		bt.Jobs[j].Name, bt.Jobs[j].Input, bt.Jobs[j].State = name, input, "JOB_STATE_PENDING"
	}
	if firstErr != nil && batchFinished(bt) {
		return d.failure(ctx, tool, bt.Jobs[0].Model, firstErr) // nothing was submitted: no record
	}
	bt.NextPoll = now.Add(pollInterval(0, 0))
	if err := b.store.PutBatch(bt); err != nil {
		return d.failure(ctx, tool, "", fmt.Errorf("recording the batch: %w", err))
	}
	b.poke()
	text := fmt.Sprintf("Submitted batch %s: %d request%s as %d Gemini batch job%s at batch prices (about $%.3f, half the usual price). "+
		"Results usually come within minutes, at most in 24 h; call get_batch with batch_id %s to collect them.",
		bt.ID, len(bt.Items), plural(len(bt.Items)), len(bt.Jobs), plural(len(bt.Jobs)), bt.EstimatedUSD, bt.ID)
	if firstErr != nil {
		text += " Some requests could not be submitted; get_batch explains them."
	}
	return batchResult(bt, text, PreviewOptions{}, "")
}

// byKey finds the owner's batch submitted with an idempotency key.
func (b *Batches) byKey(owner, key string) *session.Batch {
	list, err := b.store.ListBatches()
	if err != nil {
		return nil
	}
	for _, bt := range list {
		if bt.Owner == owner && bt.IdempotencyKey == key {
			return bt
		}
	}
	return nil
}

// requestError names the batch request an input error belongs to.
func requestError(i int, err error) error {
	e, ok := apierrors.As(err)
	if !ok {
		return fmt.Errorf("request %d of the batch: %w", i, err)
	}
	out := *e
	s := out.Diagnosis.Summary
	if s != "" {
		s = strings.ToLower(s[:1]) + s[1:]
	}
	out.Diagnosis.Summary = fmt.Sprintf("Request %d of the batch is invalid: %s", i, s)
	return &out
}

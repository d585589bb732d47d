package tools

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// previewBudget bounds all inline previews of one get_batch answer together.
const previewBudget = 1 << 20

// GetBatchInput is the get_batch argument object.
type GetBatchInput struct {
	BatchID     string `json:"batch_id"`
	WaitSeconds int    `json:"wait_seconds,omitempty" jsonschema_description:"Wait up to this long for it (at most 50)."`
	Output      string `json:"output,omitempty" jsonschema:"enum=resource,enum=preview,enum=path" jsonschema_description:"Default resource; previews total at most 1 MiB."`
}

// BatchIDInput is the argument object of cancel_batch.
type BatchIDInput struct {
	BatchID string `json:"batch_id"`
}

// ListBatchesInput is the (empty) list_batches argument object.
type ListBatchesInput struct{}

// BatchListOutput is the structuredContent of list_batches.
type BatchListOutput struct {
	Batches []BatchOutput `json:"batches"`
}

// batchDeps is what get_batch, cancel_batch and list_batches use: the batches, and Delivery's
// preview budget for get_batch's previews.
type batchDeps struct {
	*Failures
	Batches *Batches
	out     *Delivery // nil for list_batches
}

// GetBatch is the get_batch tool.
func GetBatch(batches *Batches, out *Delivery, f *Failures) Tool {
	d := &batchDeps{Failures: f, Batches: batches, out: out}
	tool := mcp.NewTool("get_batch",
		mcp.WithDescription("A batch's status; when done, its saved images and explained failures."),
		mcp.WithInputSchema[GetBatchInput](),
		mcp.WithOutputSchema[BatchOutput](),
		annotations("Get batch", true, false, true, true),
	)
	return Tool{Tool: tool, Handler: typed(f, "get_batch", d.getBatch)}
}

// CancelBatch is the cancel_batch tool.
func CancelBatch(batches *Batches, out *Delivery, f *Failures) Tool {
	d := &batchDeps{Failures: f, Batches: batches, out: out}
	tool := mcp.NewTool("cancel_batch",
		mcp.WithDescription("Cancel a batch's unfinished work; images already made are kept."),
		mcp.WithInputSchema[BatchIDInput](),
		mcp.WithOutputSchema[BatchOutput](),
		annotations("Cancel batch", false, true, true, true),
	)
	return Tool{Tool: tool, Handler: typed(f, "cancel_batch", d.cancelBatch)}
}

// ListBatches is the list_batches tool.
func ListBatches(batches *Batches, f *Failures) Tool {
	d := &batchDeps{Failures: f, Batches: batches}
	tool := mcp.NewTool("list_batches",
		mcp.WithDescription("Your batches, newest first, with state and counts."),
		mcp.WithInputSchema[ListBatchesInput](),
		mcp.WithOutputSchema[BatchListOutput](),
		annotations("List batches", true, false, true, false),
	)
	return Tool{Tool: tool, Handler: typed(f, "list_batches", d.listBatches)}
}

// owned returns the caller's batch, refreshed from Gemini unless it is finished.
func (d *batchDeps) owned(ctx context.Context, id string) (*session.Batch, error) {
	bt, err := d.Batches.store.GetBatch(id)
	if err != nil || bt.Owner != ownerOf(ctx) {
		// Another owner's batch is reported exactly like a missing one.
		return nil, apierrors.Localf(apierrors.InvalidRequest, "No batch has the id %q; list_batches shows your batches.", id)
	}
	if batchFinished(bt) || d.Batches.api == nil {
		return bt, nil
	}
	// A client that gives up must not cut a collection short; the calls have their own bounds.
	if fresh, err := d.Batches.refresh(context.WithoutCancel(ctx), id); err == nil {
		bt = fresh
	}
	return bt, nil
}

func (d *batchDeps) getBatch(ctx context.Context, _ mcp.CallToolRequest, in GetBatchInput) *mcp.CallToolResult {
	switch in.Output {
	case "", OutputResource, OutputPreview, OutputPath:
	default:
		return d.failure(ctx, "get_batch", "", apierrors.Localf(apierrors.InvalidRequest,
			"Output mode %q is not offered for batches; use resource, preview or path.", in.Output))
	}
	bt, err := d.owned(ctx, in.BatchID)
	if err != nil {
		return d.failure(ctx, "get_batch", "", err)
	}
	deadline := d.Batches.clock.Now().Add(time.Duration(min(max(in.WaitSeconds, 0), 50)) * time.Second)
	for !batchFinished(bt) {
		wait := min(deadline.Sub(d.Batches.clock.Now()), 5*time.Second)
		if wait <= 0 {
			break
		}
		t := d.Batches.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return batchResult(bt, batchText(bt), d.out.Preview, in.Output)
		case <-t.C():
		}
		if bt, err = d.owned(ctx, in.BatchID); err != nil {
			return d.failure(ctx, "get_batch", "", err)
		}
	}
	return batchResult(bt, batchText(bt), d.out.Preview, in.Output)
}

func (d *batchDeps) cancelBatch(ctx context.Context, _ mcp.CallToolRequest, in BatchIDInput) *mcp.CallToolResult {
	bt, err := d.owned(ctx, in.BatchID)
	if err != nil {
		return d.failure(ctx, "cancel_batch", "", err)
	}
	if batchFinished(bt) {
		return batchResult(bt, fmt.Sprintf("Batch %s has already finished (%s); there is nothing to cancel.", bt.ID, batchState(bt)), PreviewOptions{}, "")
	}
	for _, j := range bt.Jobs {
		if j.Collected || j.Name == "" {
			continue
		}
		if err := d.Batches.api.CancelBatch(ctx, j.Name); err != nil {
			return d.failure(ctx, "cancel_batch", j.Model, err)
		}
	}
	if fresh, err := d.Batches.refresh(ctx, bt.ID); err == nil {
		bt = fresh
	}
	return batchResult(bt, fmt.Sprintf("Asked Gemini to cancel batch %s; it is now %s. Requests already answered are still billed.", bt.ID, batchState(bt)), PreviewOptions{}, "")
}

func (d *batchDeps) listBatches(ctx context.Context, _ mcp.CallToolRequest, _ ListBatchesInput) *mcp.CallToolResult {
	list, err := d.Batches.store.ListBatches()
	if err != nil {
		return d.failure(ctx, "list_batches", "", err)
	}
	owner := ownerOf(ctx)
	out := BatchListOutput{Batches: []BatchOutput{}}
	var lines []string
	for _, bt := range list {
		if bt.Owner != owner {
			continue
		}
		o := batchOutput(bt, false)
		out.Batches = append(out.Batches, o)
		lines = append(lines, fmt.Sprintf("%s: %s, %d of %d done, %d failed (created %s)", o.BatchID, o.State, o.Done, o.Requests, o.Failed, o.Created))
	}
	text := fmt.Sprintf("%d batch%s.", len(out.Batches), map[bool]string{true: "", false: "es"}[len(out.Batches) == 1])
	if len(lines) > 0 {
		text += "\n" + strings.Join(lines, "\n")
	}
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(text)}, StructuredContent: out}
}

func batchOutput(bt *session.Batch, results bool) BatchOutput {
	ok, failed := countItems(bt)
	o := BatchOutput{BatchID: bt.ID, State: batchState(bt), Requests: len(bt.Items), Done: ok, Failed: failed,
		Jobs: len(bt.Jobs), EstimatedUSD: bt.EstimatedUSD, Created: bt.Created.UTC().Format(time.RFC3339)}
	for i, it := range bt.Items {
		o.CostUSD += it.CostUSD
		if results {
			o.Results = append(o.Results, BatchItemOutput{Index: i, Key: it.Key, Status: it.Status, ImageID: it.ImageID,
				Path: it.Path, MIMEType: it.MIMEType, Width: it.Width, Height: it.Height, CostUSD: it.CostUSD,
				Category: it.Category, Error: it.Error})
		}
	}
	o.CostUSD = float64(int64(o.CostUSD*10000+0.5)) / 10000
	return o
}

func batchText(bt *session.Batch) string {
	ok, failed := countItems(bt)
	state := batchState(bt)
	if !batchFinished(bt) {
		return fmt.Sprintf("Batch %s is %s (%d requests); call get_batch again later (wait_seconds up to 50).", bt.ID, state, len(bt.Items))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Batch %s %s: %d of %d images made", bt.ID, strings.ReplaceAll(state, "_", " "), ok, len(bt.Items))
	if failed > 0 {
		fmt.Fprintf(&b, ", %d failed", failed)
	}
	b.WriteString(".")
	for i, it := range bt.Items {
		if it.Status == session.ItemFailed {
			fmt.Fprintf(&b, "\nRequest %d%s failed (%s): %s", i, keySuffix(it.Key), it.Category, it.Error)
		}
	}
	return b.String()
}

func keySuffix(key string) string {
	if key == "" {
		return ""
	}
	return fmt.Sprintf(" (key %q)", key)
}

// batchResult delivers a batch: the summary, then each image as a resource link (default),
// a preview (within previews, each) while the total stays within previewBudget, or nothing but
// its path.
func batchResult(bt *session.Batch, text string, previews PreviewOptions, output string) *mcp.CallToolResult {
	out := batchOutput(bt, batchFinished(bt))
	content := []mcp.Content{mcp.NewTextContent(text)}
	spent := 0
	for _, it := range bt.Items {
		if it.Status != session.ItemSucceeded {
			continue
		}
		switch output {
		case "", OutputResource:
			content = append(content, mcp.NewResourceLink("image://"+it.ImageID, it.ImageID+session.ExtensionFor(it.MIMEType),
				fmt.Sprintf("%d×%d %s, %d bytes", it.Width, it.Height, it.MIMEType, it.Bytes), it.MIMEType))
		case OutputPreview:
			if spent >= previewBudget {
				continue
			}
			pv, err := makePreviewFile(it.Path, previews)
			if err != nil || spent+len(pv.Data) > previewBudget {
				continue
			}
			spent += len(pv.Data)
			content = append(content, mcp.NewImageContent(base64.StdEncoding.EncodeToString(pv.Data), pv.MIMEType))
		}
	}
	return &mcp.CallToolResult{Content: content, StructuredContent: out}
}

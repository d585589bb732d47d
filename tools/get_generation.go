package tools

import (
	"context"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// GetGenerationInput is the get_generation argument object.
type GetGenerationInput struct {
	JobID       string `json:"job_id"`
	WaitSeconds int    `json:"wait_seconds,omitempty" jsonschema_description:"Wait up to this long for it (at most 50)."`
}

// getGenerationDeps is what get_generation uses: the jobs, and Delivery to put back the
// inline image a stored result left out.
type getGenerationDeps struct {
	*Failures
	Jobs *Jobs
	out  *Delivery
}

// GetGeneration is the get_generation tool: the result of a background generation.
func GetGeneration(jobs *Jobs, out *Delivery, f *Failures) Tool {
	d := &getGenerationDeps{Failures: f, Jobs: jobs, out: out}
	tool := mcp.NewTool("get_generation",
		mcp.WithDescription("The image of a background generation (job_id), or its status."),
		mcp.WithInputSchema[GetGenerationInput](),
		mcp.WithOutputSchema[ImageOutput](),
		annotations("Get generation", true, false, true, false),
	)
	return Tool{Tool: tool, Handler: typed(f, "get_generation", d.getGeneration)}
}

func (d *getGenerationDeps) getGeneration(ctx context.Context, _ mcp.CallToolRequest, in GetGenerationInput) *mcp.CallToolResult {
	jb, ok := d.Jobs.get(ownerOf(ctx), in.JobID)
	if !ok {
		return d.failure(ctx, "get_generation", "", apierrors.Localf(apierrors.InvalidRequest,
			"No job has the id %q (jobs are kept for a day); start the generation again.", in.JobID))
	}
	wait := time.Duration(min(max(in.WaitSeconds, 0), 50)) * time.Second
	if res := d.Jobs.wait(ctx, jb, wait, d.out); res != nil {
		return res
	}
	return pendingResult(jb)
}

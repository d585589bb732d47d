package tools

import (
	"context"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// GetGenerationInput is the get_generation argument object.
type GetGenerationInput struct {
	JobID       string `json:"job_id" jsonschema_description:"The job_id a generate_image or edit_image result gave."`
	WaitSeconds int    `json:"wait_seconds,omitempty" jsonschema_description:"Wait up to this long (at most 50) for the job to finish before answering; default 0."`
}

// GetGeneration is the get_generation tool: the result of a background generation.
func GetGeneration(d *Deps) Tool {
	tool := mcp.NewTool("get_generation",
		mcp.WithDescription("Get the result of a generation that continues in the background (async, or a call that "+
			"ran past the server's time limit): the image when done, or its status while it runs."),
		mcp.WithInputSchema[GetGenerationInput](),
		mcp.WithOutputSchema[ImageOutput](),
		annotations("Get generation", true, false, true, false),
	)
	return Tool{Tool: tool, Handler: typed(d, "get_generation", d.getGeneration)}
}

func (d *Deps) getGeneration(ctx context.Context, _ mcp.CallToolRequest, in GetGenerationInput) *mcp.CallToolResult {
	jb, ok := d.Jobs.get(ownerOf(ctx), in.JobID)
	if !ok {
		return d.failure(ctx, "get_generation", "", apierrors.Localf(apierrors.InvalidRequest,
			"No job has the id %q (jobs are kept for a day); start the generation again.", in.JobID))
	}
	wait := time.Duration(min(max(in.WaitSeconds, 0), 50)) * time.Second
	if res := d.Jobs.wait(ctx, jb, wait); res != nil {
		return res
	}
	return pendingResult(jb)
}

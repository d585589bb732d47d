package tools

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
)

// UsageReportInput is the usage_report argument object.
type UsageReportInput struct {
	Hours int `json:"hours,omitempty" jsonschema_description:"Default 24."`
}

// UsageReportOutput is the structuredContent of usage_report.
type UsageReportOutput struct {
	gemini.UsageReport
	Breakers []gemini.BreakerStatus `json:"breakers,omitempty" jsonschema_description:"per model"`
}

// usageReportDeps is what usage_report uses: the usage log and the breakers.
type usageReportDeps struct {
	*Failures
	Gemini Status
}

// UsageReport is the usage_report tool: what the server's calls achieved and cost.
func UsageReport(status Status, f *Failures) Tool {
	d := &usageReportDeps{Failures: f, Gemini: status}
	tool := mcp.NewTool("usage_report",
		mcp.WithDescription("Your image calls on this server per hour: success rate, latency, errors, fallbacks, cost; breakers."),
		mcp.WithInputSchema[UsageReportInput](),
		mcp.WithOutputSchema[UsageReportOutput](),
		annotations("Usage report", true, false, true, false),
	)
	return Tool{Tool: tool, Handler: typed(f, "usage_report", d.usageReport)}
}

func (d *usageReportDeps) usageReport(ctx context.Context, _ mcp.CallToolRequest, in UsageReportInput) *mcp.CallToolResult {
	hours := in.Hours
	if hours <= 0 {
		hours = 24
	}
	out := UsageReportOutput{UsageReport: d.Gemini.Usage().ReportFor(time.Now().Add(-time.Duration(hours)*time.Hour), ownerOf(ctx)),
		Breakers: d.Gemini.Breakers()}
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(UsageSummary(out.UsageReport, hours))}, StructuredContent: out}
}

// UsageSummary is the one-line reading of a report, also logged hourly.
func UsageSummary(r gemini.UsageReport, hours int) string {
	if r.Calls == 0 {
		return fmt.Sprintf("No image calls in the last %d h.", hours)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Last %d h: %d call%s, %d image%s (%.0f%% success), p50 %.1f s, p95 %.1f s, %d upstream attempt%s, %d fallback%s, $%.3f ($%.3f per image)",
		hours, r.Calls, plural(r.Calls), r.Images, plural(r.Images), r.SuccessRate*100, float64(r.LatencyP50MS)/1000, float64(r.LatencyP95MS)/1000,
		r.Attempts, plural(r.Attempts), r.Fallbacks, plural(r.Fallbacks), r.CostUSD, r.CostPerImage)
	if r.BatchImages > 0 {
		fmt.Fprintf(&b, "; %d images from batches, at batch prices", r.BatchImages)
	}
	if len(r.UpstreamErrs) > 0 {
		cats := make([]string, 0, len(r.UpstreamErrs))
		for c, n := range r.UpstreamErrs {
			cats = append(cats, fmt.Sprintf("%s %d", c, n))
		}
		sort.Strings(cats)
		fmt.Fprintf(&b, "; upstream errors: %s", strings.Join(cats, ", "))
	}
	if r.GroundedThisMonth > 0 {
		fmt.Fprintf(&b, "; %d calls grounded in Google Search this month (%d,%03d a month are free, then $%.0f per 1,000; the cost includes them at list price)",
			r.GroundedThisMonth, gemini.FreeGroundedPerMonth/1000, gemini.FreeGroundedPerMonth%1000, gemini.USDPerGroundedCall*1000)
	}
	return b.String() + "."
}

package tools

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// CheckConfigInput is the check_config argument object.
type CheckConfigInput struct {
	Models []string `json:"models,omitempty" jsonschema_description:"Default: the default model."`
	All    bool     `json:"all,omitempty" jsonschema_description:"Every model."`
}

// Check is one verified piece of configuration.
type Check struct {
	Check     string               `json:"check"`
	OK        bool                 `json:"ok"`
	Detail    string               `json:"detail"`
	Diagnosis *apierrors.Diagnosis `json:"diagnosis,omitempty" jsonschema_description:"when not ok"`
}

// CheckConfigOutput is the structuredContent of check_config.
type CheckConfigOutput struct {
	OK       bool     `json:"ok" jsonschema_description:"every check passed"`
	Backend  string   `json:"backend" jsonschema_description:"gemini-api, vertex-ai or none"`
	Location string   `json:"location,omitempty"`
	Checks   []Check  `json:"checks"`
	Warnings []string `json:"warnings,omitempty" jsonschema_description:"models retiring or unavailable"`
}

// checkConfigDeps is what check_config uses: Gemini's status (no image quota is spent) and
// the output directory.
type checkConfigDeps struct {
	*Failures
	Gemini    Status
	Images    *session.Images
	Simulated bool // the built-in simulator answers: no key is checked
}

// CheckConfig is the check_config tool: it checks what users get wrong most, without
// generating an image or spending image quota.
func CheckConfig(status Status, images *session.Images, simulated bool, f *Failures) Tool {
	d := &checkConfigDeps{Failures: f, Gemini: status, Images: images, Simulated: simulated}
	tool := mcp.NewTool("check_config",
		mcp.WithDescription("Check the setup without generating: key, backend, region, models (reachable, retiring), "+
			"output directory; each problem with a fix."),
		mcp.WithInputSchema[CheckConfigInput](),
		mcp.WithOutputSchema[CheckConfigOutput](),
		annotations("Check configuration", true, false, true, true),
	)
	return Tool{Tool: tool, Handler: typed(f, "check_config", d.checkConfig)}
}

func (d *checkConfigDeps) checkConfig(ctx context.Context, _ mcp.CallToolRequest, in CheckConfigInput) *mcp.CallToolResult {
	out := CheckConfigOutput{OK: true, Backend: d.Gemini.Backend(), Location: d.Gemini.Location()}
	add := func(c Check) {
		out.Checks = append(out.Checks, c)
		out.OK = out.OK && c.OK
	}
	add(d.checkOutputDir())
	reg := d.Gemini.Registry()
	names := in.Models
	if in.All {
		names = nil
		for _, m := range reg.Models() {
			names = append(names, m.ID)
		}
	}
	if len(names) == 0 {
		names = []string{reg.Default()}
	}
	// One upstream call per model: more names than the registry holds can only repeat them.
	if max := len(reg.Models()); len(names) > max {
		return d.failure(ctx, "check_config", "", apierrors.Localf(apierrors.InvalidRequest,
			"check_config takes at most %d models (the registry's size), not %d; name fewer or pass all: true.", max, len(names)))
	}
	if rep, err := d.Gemini.Refresh(ctx); err == nil {
		who := "this key"
		if d.Simulated {
			who = "the built-in simulator (no key)"
		}
		detail := rep.Method + " shows " + who + " can use " + orNone(rep.Available)
		if len(rep.Unavailable) > 0 {
			detail += "; not " + orNone(rep.Unavailable) + " (calls to them go to their successors)"
		}
		add(Check{Check: "models available", OK: true, Detail: detail})
	} else if d.Gemini.HasCredentials() {
		add(failedCheck("models available", err, ""))
	}
	out.Warnings = d.Gemini.Warnings()
	for _, name := range names {
		res, err := reg.Lookup(name)
		if err != nil {
			add(failedCheck("model "+name, err, ""))
			continue
		}
		id := res.Model.ID
		if why, ok := d.Gemini.Routed(res.Model); ok {
			// Known gone and handled: a lookup would answer 404, which reads like a wrong id.
			add(Check{Check: "model " + id, OK: true, Detail: why})
			continue
		}
		if err := d.Gemini.CheckModel(ctx, id); err != nil {
			add(failedCheck("model "+id, err, id))
			continue
		}
		detail := fmt.Sprintf("%s answers on %s; the key is accepted", id, out.Backend)
		if d.Simulated {
			detail = id + " answers on the built-in simulator (--simulate); no key is used and nothing is billed"
		}
		add(Check{Check: "model " + id, OK: true, Detail: detail})
	}
	var b strings.Builder
	if out.OK {
		fmt.Fprintf(&b, "All %d checks passed (backend %s).", len(out.Checks), out.Backend)
	} else {
		fmt.Fprintf(&b, "Some checks failed (backend %s):", out.Backend)
	}
	for _, w := range out.Warnings {
		fmt.Fprintf(&b, "\n- warning: %s", w)
	}
	for _, c := range out.Checks {
		mark := "ok"
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "\n- %s: %s — %s", mark, c.Check, c.Detail)
	}
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(b.String())}, StructuredContent: out}
}

func orNone(ids []string) string {
	if len(ids) == 0 {
		return "none of the registry's models"
	}
	return strings.Join(ids, ", ")
}

func failedCheck(what string, err error, model string) Check {
	d := apierrors.Classify(err, apierrors.ForModel(model))
	return Check{Check: what, OK: false, Detail: d.Summary, Diagnosis: &d}
}

// checkOutputDir creates the directory if needed and writes and removes a probe file.
func (d *checkConfigDeps) checkOutputDir() Check {
	c := Check{Check: "output directory"}
	dir := d.Images.Dir
	fail := func(err error) Check {
		e := apierrors.Localf(apierrors.InvalidRequest,
			"The output directory %s is not writable (%s); fix its permissions or set --output-dir.", dir, pathProblem(err))
		c.Detail, c.Diagnosis = e.Diagnosis.Summary, &e.Diagnosis
		return c
	}
	if err := d.Images.EnsureDir(); err != nil {
		return fail(err)
	}
	f, err := os.CreateTemp(dir, ".check-*")
	if err != nil {
		return fail(err)
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	c.OK, c.Detail = true, dir+" is writable"
	return c
}

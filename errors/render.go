package errors

import (
	"fmt"
	"strings"
)

// RenderMarkdown renders the catalog as a README section: one table row per case, then the
// fixes. The output depends only on the catalog, so a test can keep the README in step.
func RenderMarkdown() string {
	var b strings.Builder
	b.WriteString("## Errors and what to do\n\n")
	b.WriteString("Every failure is reported with one of these categories (`explain_error` uses the same ones). ")
	b.WriteString("*Retry* says whether the same request can succeed later; *who acts* says whose move it is.\n\n")
	b.WriteString("| category | case | what it looks like | retry | recovery | who acts |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	entries := Catalog()
	for _, e := range entries {
		retry := "no"
		if e.Retryable {
			retry = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", e.Category, e.Case, mdCell(e.Signals), retry, mdCell(e.Recovery), e.Actor)
	}
	b.WriteString("\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "### `%s` — %s\n\n%s\n\n", e.Category, e.Title, e.Cause)
		for i, f := range e.Fix {
			fmt.Fprintf(&b, "%d. %s\n", i+1, f)
		}
		if len(e.Source) > 0 {
			fmt.Fprintf(&b, "\nSources: %s\n", strings.Join(e.Source, "; "))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

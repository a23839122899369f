package report

import (
	"fmt"
	"io"
)

// Markdown writes a whole Page as one GitHub issue comment: the verdict,
// an environment block, the coverage and, when there is one, the diff;
// long lists folded in <details>.
func Markdown(w io.Writer, p Page) error {
	if p.Verdict != "" {
		fmt.Fprintf(w, "**%s**\n\n", mdText(p.Verdict))
	}
	if len(p.Env) > 0 {
		fmt.Fprintln(w, "<details><summary>Environment</summary>")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| | |")
		fmt.Fprintln(w, "|---|---|")
		for _, kv := range p.Env {
			fmt.Fprintf(w, "| %s | `%s` |\n", mdCell(kv.Key), mdCodeCell(kv.Value))
		}
		fmt.Fprintln(w, "\n</details>")
		fmt.Fprintln(w)
	}
	if p.Diff != nil {
		// The verdict is already on top.
		if err := diffMarkdownBody(w, p.Diff); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	if len(p.Apps) > 0 {
		return coverageMarkdown(w, p.Apps, p.Plan)
	}
	return nil
}

package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/syscov/syscov/analyze"
)

// crashLines is the unikernel's crash explained, one fact a line, for the
// terminal, the text and Markdown reports and the HTML page.
func crashLines(c *analyze.CrashReport) []string {
	if c == nil {
		return nil
	}
	var out []string
	add := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	add("trap: %s (console %s: %s)", c.Crash.String(), c.Pos, c.Message)
	if c.Where != nil {
		add("where: %s, loaded at 0x%x (%s)", c.Where.String(), c.Where.Base, c.Where.How)
	}
	if c.Instruction != "" {
		add("instruction: %s  [%s]", c.Instruction, c.Bytes)
	}
	if g := c.Feature; g != nil {
		add("CPU feature: %s", g.Summary())
		host := "unknown"
		if g.HostHas != nil {
			host = map[bool]string{true: "has it", false: "lacks it"}[*g.HostHas]
		}
		guest := "unknown"
		if g.GuestHas != nil {
			guest = map[bool]string{true: "has it", false: "lacks it"}[*g.GuestHas]
		}
		add("  guest CPU %s under %s: %s; this host's CPU: %s", g.GuestCPU, strings.ToUpper(g.Accel), guest, host)
		for _, cl := range g.Closures {
			add("  to close: %s", cl)
		}
	}
	if c.Nested != "" {
		add("then, while dumping it: %s (a fault of the crash dump itself, not the app's)", c.Nested)
	}
	if len(c.LastSyscalls) > 0 {
		add("last syscalls before it:")
		for _, s := range c.LastSyscalls {
			if len(s) > 100 {
				s = s[:99] + "…"
			}
			add("  %s", s)
		}
	}
	for _, n := range c.Notes {
		add("note: %s", n)
	}
	return out
}

// CrashText prints the crash of a diff, when it has one, under a head
// line (the check's short verdict).
func CrashText(w io.Writer, d *analyze.Diff) {
	if d == nil || d.Crash == nil {
		return
	}
	for _, l := range crashLines(d.Crash) {
		fmt.Fprintf(w, "  %s\n", l)
	}
}

func crashTextSection(w io.Writer, d *analyze.Diff) {
	if d.Crash == nil {
		return
	}
	fmt.Fprintf(w, "\nthe unikernel crashed (what it lacks first):\n")
	CrashText(w, d)
}

func crashMarkdown(w io.Writer, d *analyze.Diff) {
	c := d.Crash
	if c == nil {
		return
	}
	fmt.Fprintf(w, "**The unikernel crashed** (what it lacks first):\n\n")
	fmt.Fprintf(w, "| | |\n|---|---|\n")
	fmt.Fprintf(w, "| trap | %s |\n", mdCell(c.Crash.String()))
	if c.Where != nil {
		fmt.Fprintf(w, "| where | %s |\n", mdCell(c.Where.String()))
		fmt.Fprintf(w, "| load base | 0x%x (%s) |\n", c.Where.Base, mdCell(c.Where.How))
	}
	if c.Instruction != "" {
		fmt.Fprintf(w, "| instruction | %s (%s) |\n", mdCodeCell(c.Instruction), mdCodeCell(c.Bytes))
	}
	if g := c.Feature; g != nil {
		fmt.Fprintf(w, "| CPU feature | %s |\n", mdCell(g.Summary()))
		for _, cl := range g.Closures {
			fmt.Fprintf(w, "| to close | %s |\n", mdCell(cl))
		}
	}
	if c.Nested != "" {
		fmt.Fprintf(w, "| then | %s (the crash dump's own fault) |\n", mdCell(c.Nested))
	}
	for _, n := range c.Notes {
		fmt.Fprintf(w, "| note | %s |\n", mdCell(n))
	}
	fmt.Fprintln(w)
	if len(c.LastSyscalls) > 0 {
		fmt.Fprintf(w, "<details><summary>Last syscalls before the crash</summary>\n\n```\n%s\n```\n\n</details>\n\n", strings.ReplaceAll(strings.Join(c.LastSyscalls, "\n"), "```", "'''"))
	}
}

package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/syscov/syscov/analyze"
)

// mdCell escapes text from a trace (paths, strings, argv) for a GFM table
// cell: it can neither end the cell, start code, inject HTML, a link or a
// mention. Long text is cut.
func mdCell(s string) string {
	const max = 120
	if len(s) > max {
		s = s[:max] + "…"
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '@':
			// A zero-width space keeps GitHub from making a mention of it.
			b.WriteString("@\u200b")
		case '|', '\\', '`', '*', '[', ']', '<', '>', '#', '~', '!', '&':
			fmt.Fprintf(&b, "&#%d;", r)
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func summariesMarkdown(w io.Writer, in []SummaryInput) error {
	for i, s := range in {
		if i > 0 {
			fmt.Fprintln(w)
		}
		sum := s.Summary
		fmt.Fprintf(w, "### syscall summary: %s\n\n", mdCell(sum.Source))
		fmt.Fprintf(w, "%d calls, %d errors, %d distinct syscalls", sum.Calls, sum.Errors, len(sum.Syscalls))
		if s.Skipped > 0 {
			fmt.Fprintf(w, "; %d malformed line(s) skipped", s.Skipped)
		}
		fmt.Fprint(w, "\n\n")
		summaryMarkdownTable(w, sum.Syscalls, sum.HasTime)
		for _, p := range sum.Processes {
			fmt.Fprintf(w, "\n<details><summary>pid %d%s: %d calls, %d errors%s</summary>\n\n", p.PID, mdCell(commSuffix(p.Comm)), p.Calls, p.Errors, mdCell(exitSuffix(p.Exit)))
			summaryMarkdownTable(w, p.Syscalls, sum.HasTime)
			fmt.Fprint(w, "\n</details>\n")
		}
	}
	return nil
}

func summaryMarkdownTable(w io.Writer, stats []*analyze.SyscallStat, hasTime bool) {
	if hasTime {
		fmt.Fprintln(w, "| syscall | calls | errors | errno | seconds | usecs/call |")
		fmt.Fprintln(w, "|---|--:|--:|---|--:|--:|")
	} else {
		fmt.Fprintln(w, "| syscall | calls | errors | errno |")
		fmt.Fprintln(w, "|---|--:|--:|---|")
	}
	for _, s := range stats {
		fmt.Fprintf(w, "| %s | %d | %s | %s |", mdCell(s.Name+noReturnNote(s.NoReturn)), s.Calls, blankZero(s.Errors), mdCell(countList(s.Errnos)))
		if hasTime {
			fmt.Fprintf(w, " %.6f | %s |", s.Time.Seconds(), strconv.FormatFloat(s.UsecsPerCall(), 'f', 0, 64))
		}
		fmt.Fprintln(w)
	}
}

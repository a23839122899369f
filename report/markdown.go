package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/syscov/syscov/analyze"
)

// mdCell escapes text from a trace (paths, strings, argv) for a GFM table
// cell: it can neither end the cell nor the row, start code, inject HTML,
// a link or a mention. Long text is cut.
func mdCell(s string) string {
	const max = 120
	if len(s) > max {
		s = s[:max] + "…"
	}
	return mdText(s)
}

// mdText escapes text for Markdown prose or a cell, whole: a newline
// becomes a space (it could end a row or start a block), Markdown and
// HTML syntax become entities, an @ gets a zero-width space after it
// (it could start a mention or an e-mail autolink), and "://" and "www."
// are broken with an entity (they would start a link).
func mdText(s string) string {
	var b strings.Builder
	prev := ' '
	for i, r := range s {
		switch r {
		case ':':
			// http://… and the like would become a link (GFM's extended
			// autolinks): the colon of "://" as an entity breaks it.
			if strings.HasPrefix(s[i+1:], "//") {
				b.WriteString("&#58;")
			} else {
				b.WriteRune(r)
			}
		case '.':
			// www.… likewise.
			if w := b.String(); len(w) >= 3 && strings.EqualFold(w[len(w)-3:], "www") {
				b.WriteString("&#46;")
			} else {
				b.WriteRune(r)
			}
		case '@':
			// A zero-width space after it: no mention, no e-mail autolink.
			// (syscov's own names with an @, such as unikraft@0.17.0, are
			// written in code spans instead.)
			b.WriteString("@\u200b")
		case '|', '\\', '`', '*', '_', '[', ']', '<', '>', '#', '~', '!', '&':
			if r == '_' && isWordRune(prev) {
				b.WriteRune(r) // snake_case stays readable: GFM ignores intraword _
				break
			}
			fmt.Fprintf(&b, "&#%d;", r)
		case '\n', '\r', '\u2028', '\u2029':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}

func isWordRune(r rune) bool {
	return r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 0x7f
}

// mdCode makes text safe inside a code span: a backtick could end it, a
// newline could end the line it is on.
func mdCode(s string) string {
	s = strings.ReplaceAll(s, "`", "'")
	return strings.NewReplacer("\r\n", " ⏎ ", "\n", " ⏎ ", "\r", " ⏎ ").Replace(s)
}

// mdCodeCell makes text safe inside a code span in a table cell: GFM
// splits cells at a | even inside code, so it is escaped too.
func mdCodeCell(s string) string { return strings.ReplaceAll(mdCode(s), "|", "\\|") }

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

package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
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

// mdCode writes text as a code span, whole: its fence is one backtick
// longer than the longest run of backticks in it (a backtick in an argv
// stays a backtick: the span shows the text as it is, a rerun line
// copied from it is the command), a newline becomes ⏎ (it could end the
// line the span is on).
func mdCode(s string) string {
	s = strings.NewReplacer("\r\n", " ⏎ ", "\n", " ⏎ ", "\r", " ⏎ ").Replace(s)
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || s == "" {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// mdCodeCell is mdCode in a table cell: GFM splits cells at a | even
// inside code, so it is escaped (\| shows as |).
func mdCodeCell(s string) string { return mdCode(strings.ReplaceAll(s, "|", "\\|")) }

// mdFenced writes text as a fenced code block of one language (a rerun
// line: copied from the raw file or the rendered page, it is the same
// text, no escape in it).
func mdFenced(w io.Writer, lang, s string) {
	fence := strings.Repeat("`", max(3, longestRun(s, '`')+1))
	fmt.Fprintf(w, "%s%s\n%s\n%s\n", fence, lang, s, fence)
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

// renderMarkdown writes a document as GitHub-flavoured Markdown.
func renderMarkdown(w io.Writer, doc Document) error {
	switch d := doc.(type) {
	case SummaryDoc:
		return summariesMarkdown(w, d)
	case CoverageDoc:
		d.RunNotes.write(w, true)
		return coverageMarkdown(w, d.Apps, d.Plan)
	case DiffDoc:
		d.RunNotes.write(w, true)
		if d.Incomplete != "" {
			return diffMarkdownBody(w, d.Diff)
		}
		return diffMarkdown(w, d.Diff)
	case ProbeDoc:
		return probeMarkdown(w, d.Report)
	case TablesDoc:
		return tablesMarkdown(w, d.Tables)
	case TableDoc:
		return tableDetailMarkdown(w, d)
	case SyscallsDoc:
		return syscallsText(w, d, true)
	case TableDiffDoc:
		return tableDiffMarkdown(w, d)
	case Page:
		return pageMarkdown(w, d)
	case CatalogPlanDoc:
		return catalogPlanMarkdown(w, d)
	case CatalogCompareDoc:
		return catalogCompareMarkdown(w, d)
	case BenchDoc:
		return benchMarkdown(w, d.Report)
	}
	return errUnsupported
}

// pageMarkdown writes a whole Page as one GitHub issue comment: the verdict,
// an environment block, the coverage and, when there is one, the diff;
// long lists folded in <details>.
func pageMarkdown(w io.Writer, p Page) error {
	p.RunNotes.write(w, true)
	if p.Verdict != "" && p.Incomplete == "" {
		fmt.Fprintf(w, "**%s**\n\n", mdText(p.Verdict))
	}
	if len(p.Env) > 0 {
		fmt.Fprintln(w, "<details><summary>Environment</summary>")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| | |")
		fmt.Fprintln(w, "|---|---|")
		var rerun string
		for _, kv := range p.Env {
			if kv.Key == "rerun" {
				rerun = kv.Value // below, where it can be copied as it is
				continue
			}
			fmt.Fprintf(w, "| %s | %s |\n", mdCell(kv.Key), mdCodeCell(kv.Value))
		}
		if rerun != "" {
			fmt.Fprintln(w, "\nTo run it again:")
			fmt.Fprintln(w)
			mdFenced(w, "sh", rerun)
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

func coverageMarkdown(w io.Writer, apps []*analyze.AppCoverage, plan *analyze.Plan) error {
	for _, a := range apps {
		fmt.Fprintf(w, "### Coverage of %s against %s\n\n", mdCell(a.App), mdCode(a.Table))
		if a.TableWarning != "" {
			fmt.Fprintf(w, "> **Warning:** %s\n\n", mdText(a.TableWarning))
		}
		if a.TableWhy != "" {
			fmt.Fprintf(w, "Table: %s.\n\n", mdText(a.TableWhy))
		}
		if a.Config != "" {
			fmt.Fprintf(w, "Levels for: %s.\n\n", mdText(a.Config))
		}
		fmt.Fprintf(w, "**%d** distinct syscalls: %d implemented, %d stubbed, %d partial, **%d missing** (%d blocking); %s %% of %d calls supported.\n\n",
			a.Distinct(), a.Implemented, a.Stubbed, a.Partial, a.Missing, len(a.Blocking), analyze.Percent(a.Weighted()), a.Calls)
		missing := append(append([]*analyze.UsedSyscall(nil), a.Blocking...), a.Tolerated...)
		if len(missing) > 10 {
			fmt.Fprintf(w, "<details><summary>%d missing syscall uses</summary>\n\n", len(missing))
		}
		if len(missing) > 0 {
			fmt.Fprintln(w, "| missing | nr | calls | impact | to close | class | first call site | unikernel |")
			fmt.Fprintln(w, "|---|--:|--:|---|---|---|---|---|")
			for _, u := range missing {
				fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s |\n", mdCell(u.Key), nr(u.Nr), u.Calls, impactCell(u.Impact, u.Evidence), mdCell(u.Closure), mdCell(u.Class), mdCell(u.SiteString()), mdCell(u.UnikernelSeen))
			}
			fmt.Fprintln(w)
			for _, u := range missing {
				fmt.Fprintf(w, "- %s %s: %s\n", mdCode(u.Key), impactCell(u.Impact, u.Evidence), mdText(u.ImpactWhy))
			}
			if len(missing) > 0 {
				fmt.Fprintln(w)
			}
			stacksMarkdown(w, missing)
		}
		if len(missing) > 10 {
			fmt.Fprint(w, "</details>\n\n")
		}
	}
	if plan != nil && plan.Apps > 1 {
		fmt.Fprintf(w, "### Plan across %d apps\n\n%d fully covered now; the top 5 steps cover %d, the top 10 %d.\n\n", plan.Apps, plan.CoveredNow, plan.AfterTop[5], plan.AfterTop[10])
		fmt.Fprintln(w, "| step | support | how | newly covered | covered |")
		fmt.Fprintln(w, "|--:|---|---|---|--:|")
		for i, s := range plan.Steps {
			fmt.Fprintf(w, "| %d | %s | %s | %s | %d |\n", i+1, mdCell(s.Implement), mdCell(stepHow(s)), mdCell(strings.Join(s.NewlyCovered, ", ")), s.Covered)
		}
	}
	return nil
}

// stacksMarkdown folds, under each missing use, the app frames of its
// first call (when stacks were recorded): who calls it, and from where.
func stacksMarkdown(w io.Writer, uses []*analyze.UsedSyscall) {
	n := 0
	for _, u := range uses {
		if len(u.FirstStack) > 0 {
			n++
		}
	}
	if n == 0 {
		return
	}
	plural := "s"
	if n == 1 {
		plural = ""
	}
	fmt.Fprintf(w, "<details><summary>Where the app makes them (%d call stack%s)</summary>\n\n", n, plural)
	for _, u := range uses {
		if len(u.FirstStack) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s (%s):\n\n```\n", mdCode(u.Key), u.Impact)
		for _, f := range u.FirstStack {
			fmt.Fprintf(w, "%s\n", strings.ReplaceAll(analyze.FrameSite(f), "```", "\x27\x27\x27"))
		}
		fmt.Fprint(w, "```\n\n")
	}
	fmt.Fprint(w, "</details>\n\n")
}

func diffMarkdown(w io.Writer, d *analyze.Diff) error {
	fmt.Fprintf(w, "**%s**\n\n", mdText(Verdict(d)))
	return diffMarkdownBody(w, d)
}

// diffMarkdownBody is the diff in Markdown after its verdict line.
func diffMarkdownBody(w io.Writer, d *analyze.Diff) error {
	fmt.Fprintf(w, "- native: %s, %d syscalls aligned\n- unikernel: %s, %d syscalls", mdCode(d.NativeSource), d.NativeLen, mdCode(d.UnikernelSource), d.UnikernelLen)
	if d.Unikraft != "" {
		fmt.Fprintf(w, ", Unikraft %s", mdCell(d.Unikraft))
	}
	if d.Table != "" {
		fmt.Fprintf(w, "\n- table: %s (%s)", mdCode(d.Table), mdText(d.TableWhy))
	}
	fmt.Fprintf(w, "\n- the unikernel run ended: %s%s\n\n", mdCell(d.Ended), mdCell(detailSuffix(d.EndDetail)))
	crashMarkdown(w, d)
	all := append(append(append([]analyze.Gap(nil), d.Missing...), d.NotSupported...), d.Failed...)
	if len(all) > 0 {
		fmt.Fprintln(w, "| syscall | nr | verdict | impact | to close | class | native calls | unikernel | top native call site |")
		fmt.Fprintln(w, "|---|--:|---|---|---|---|--:|---|---|")
		for _, v := range all {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %d | %s | %s |\n", mdCell(v.Name), nr(v.Nr), v.Kind, impactCell(v.Impact, v.Evidence), mdCell(v.Closure), mdCell(v.Class), v.NativeCalls, mdCell(outcome(v)), mdCell(firstSite(v)))
		}
		fmt.Fprintln(w)
		for _, v := range all {
			if v.Impact != "" {
				fmt.Fprintf(w, "- %s %s: %s\n", mdCode(v.Name), impactCell(v.Impact, v.Evidence), mdText(v.ImpactWhy))
			}
		}
		fmt.Fprintln(w)
	}
	if len(d.FileGaps) > 0 {
		fmt.Fprintf(w, "**Files the app needs that the image lacks** (not syscall gaps):\n\n| path | what lacks it | found natively by | unikernel |\n|---|---|---|---|\n")
		for _, g := range d.FileGaps {
			fmt.Fprintf(w, "| %s | %s | %s | %d× %s |\n", mdCodeCell(g.Path), gapKind(g), mdCell(g.NativeCall), g.Calls, g.Errno)
		}
		fmt.Fprintln(w)
	}
	if dv := d.First; dv != nil {
		fmt.Fprintf(w, "<details><summary>First divergence (native #%d, unikernel #%d)</summary>\n\n```\n", dv.NativeAt, dv.UnikernelAt)
		var b strings.Builder
		printSide(&b, "native", dv.Native, dv.NativeMark)
		printSide(&b, "unikernel", dv.Unikernel, dv.UnikernelMark)
		fmt.Fprint(w, strings.ReplaceAll(b.String(), "```", "'''"))
		fmt.Fprint(w, "```\n\n</details>\n")
	}
	return nil
}

func probeMarkdown(w io.Writer, p *analyze.ProbeReport) error {
	fmt.Fprintf(w, "**%s**\n\n", mdText(probeHead(p)))
	fmt.Fprintln(w, "| syscall | calls | stubbed (ENOSYS) | faked (0) | verdict |")
	fmt.Fprintln(w, "|---|--:|---|---|---|")
	for _, r := range p.Results {
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s%s |\n", mdCell(r.Name), r.Calls, mdCell(runs(r.StubOK, r.StubRuns, r.StubReason)), mdCell(runs(r.FakeOK, r.FakeRuns, r.FakeReason)), r.Verdict, flaky(r.Flaky))
	}
	for _, cb := range p.Combos {
		fmt.Fprintf(w, "\n- all %d syscalls that work %s %s together: %s", len(cb.Names), pastTense(cb.Kind), pastTense(cb.Kind), comboResult(cb))
	}
	fmt.Fprintln(w)
	return nil
}

func tablesMarkdown(w io.Writer, tables []*analyze.SupportTable) error {
	fmt.Fprintln(w, "| table | implemented | stubbed | partial | disabled | missing | source |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|---|")
	for _, t := range tables {
		c := t.Counts(trace.ArchX86_64)
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %s |\n", mdCell(t.Name()), c[analyze.Implemented], c[analyze.Stubbed], c[analyze.Partial], c[analyze.Disabled], c[analyze.Missing], mdCell(t.Source))
	}
	return nil
}

func tableDetailMarkdown(w io.Writer, d TableDoc) error {
	t, arch := d.Table, d.Arch
	tab := trace.Table(arch)
	fmt.Fprintf(w, "### %s (%s)\n\n%s\n\n| nr | syscall | level | what it does | where | Kconfig |\n|--:|---|---|---|---|---|\n", mdCell(t.Name()), arch, mdText(configLine(t)))
	for _, n := range d.names() {
		s := t.Arch[arch][n]
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s |\n", tab.Number(n), mdCell(n), s.Level, mdCell(levelText(s)), mdCell(s.Where), mdCell(strings.Join(s.Needs, " && ")))
	}
	return nil
}

func tableDiffMarkdown(w io.Writer, d TableDiffDoc) error {
	fmt.Fprintf(w, "### %s\n\n| syscall | %s | %s | what changed |\n|---|---|---|---|\n", mdText(d.title()), mdCell(d.From.Name()), mdCell(d.To.Name()))
	for _, c := range d.Changes {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", mdCell(c.Name), mdCell(sideText(c.From)), mdCell(sideText(c.To)), mdCell(strings.Join(c.What, "; ")))
	}
	return nil
}

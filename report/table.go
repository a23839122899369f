package report

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
)

// maxCell keeps terminal tables within 100 columns: cells longer than this
// are cut with an ellipsis.
const maxCell = 30

func cut(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// renderTable prints rows under header with tablewriter; numeric columns
// (right in align) are right-aligned.
func renderTable(w io.Writer, header []string, rows [][]string, footer []string, right []bool) error {
	aligns := make([]tw.Align, len(header))
	for i := range aligns {
		aligns[i] = tw.AlignLeft
		if i < len(right) && right[i] {
			aligns[i] = tw.AlignRight
		}
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Symbols: tw.NewSymbols(tw.StyleASCII),
			Borders: tw.Border{Left: tw.Off, Right: tw.Off, Top: tw.Off, Bottom: tw.Off},
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.On, BetweenRows: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.On, ShowFooterLine: tw.On},
			},
		})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithFooterAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	t.Header(toAny(header)...)
	if err := t.Bulk(rows); err != nil {
		return err
	}
	if footer != nil {
		t.Footer(toAny(footer)...)
	}
	return t.Render()
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func summariesTable(w io.Writer, in []SummaryInput) error {
	for i, s := range in {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if len(in) > 1 || len(s.Summary.Processes) > 0 {
			fmt.Fprintf(w, "== %s\n", s.Summary.Source)
		}
		if err := summaryTable(w, s.Summary.Syscalls, s.Summary.Time, s.Summary.HasTime); err != nil {
			return err
		}
		for _, p := range s.Summary.Processes {
			fmt.Fprintf(w, "\n-- pid %d%s: %d calls, %d errors%s\n", p.PID, commSuffix(p.Comm), p.Calls, p.Errors, exitSuffix(p.Exit))
			if err := summaryTable(w, p.Syscalls, p.Time, s.Summary.HasTime); err != nil {
				return err
			}
		}
		if len(s.Summary.Signals) > 0 {
			fmt.Fprintf(w, "signals: %s\n", countList(s.Summary.Signals))
		}
		if s.Skipped > 0 {
			fmt.Fprintf(w, "skipped %d malformed line(s) of %d\n", s.Skipped, s.Lines)
		}
	}
	return nil
}

func commSuffix(comm string) string {
	if comm == "" {
		return ""
	}
	return " (" + comm + ")"
}

func exitSuffix(exit string) string {
	if exit == "" {
		return ""
	}
	return ", " + exit
}

// summaryTable prints the strace -c table, plus errno and no-return columns.
func summaryTable(w io.Writer, stats []*analyze.SyscallStat, total interface{ Seconds() float64 }, hasTime bool) error {
	header := []string{"% time", "seconds", "usecs/call", "calls", "errors", "syscall", "errno"}
	right := []bool{true, true, true, true, true, false, false}
	if !hasTime {
		header = header[3:]
		right = right[3:]
	}
	var rows [][]string
	calls, errs, noret := 0, 0, 0
	for _, s := range stats {
		row := []string{}
		if hasTime {
			pct := 0.0
			if total.Seconds() > 0 {
				pct = 100 * s.Time.Seconds() / total.Seconds()
			}
			row = append(row, fmt.Sprintf("%.2f", pct), fmt.Sprintf("%.6f", s.Time.Seconds()), fmt.Sprintf("%.0f", s.UsecsPerCall()))
		}
		row = append(row, strconv.Itoa(s.Calls), blankZero(s.Errors), cut(s.Name+noReturnNote(s.NoReturn), maxCell), cut(countList(s.Errnos), maxCell))
		rows = append(rows, row)
		calls += s.Calls
		errs += s.Errors
		noret += s.NoReturn
	}
	footer := []string{}
	if hasTime {
		footer = append(footer, "100.00", fmt.Sprintf("%.6f", total.Seconds()), "")
	}
	footer = append(footer, strconv.Itoa(calls), blankZero(errs), "total"+noReturnNote(noret), "")
	return renderTable(w, header, rows, footer, right)
}

func noReturnNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (+%d no return)", n)
}

func blankZero(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// countList prints a count map as "A×3 B×1", largest first.
func countList(m map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var list []kv
	for k, v := range m {
		list = append(list, kv{k, v})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].v != list[j].v {
			return list[i].v > list[j].v
		}
		return list[i].k < list[j].k
	})
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = fmt.Sprintf("%s×%d", e.k, e.v)
	}
	return strings.Join(parts, " ")
}

// renderTableDoc writes a document as terminal tables.
func renderTableDoc(w io.Writer, doc Document) error {
	switch d := doc.(type) {
	case SummaryDoc:
		return summariesTable(w, d)
	case CoverageDoc:
		d.RunNotes.write(w, false)
		return coverageTable(w, d.Apps, d.Plan)
	case DiffDoc:
		d.RunNotes.write(w, false)
		if d.Incomplete != "" {
			return diffTextBody(w, d.Diff)
		}
		return diffText(w, d.Diff)
	case ProbeDoc:
		return probeTable(w, d.Report)
	case TablesDoc:
		return tablesTable(w, d.Tables)
	case TableDoc:
		return tableDetailTable(w, d)
	case SyscallsDoc:
		return syscallsText(w, d, false)
	case TableDiffDoc:
		return tableDiffTable(w, d)
	case CatalogPlanDoc:
		return catalogPlanTable(w, d)
	case CatalogCompareDoc:
		return catalogCompareTable(w, d)
	case BenchDoc:
		return benchTable(w, d.Report)
	}
	return errUnsupported
}

func coverageTable(w io.Writer, apps []*analyze.AppCoverage, plan *analyze.Plan) error {
	for i, a := range apps {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "== %s (%s) against %s\n", a.App, a.Source, a.Table)
		if a.TableWhy != "" {
			fmt.Fprintf(w, "table: %s\n", a.TableWhy)
		}
		if a.TableWarning != "" {
			fmt.Fprintf(w, "WARNING: %s\n", a.TableWarning)
		}
		if a.Config != "" {
			fmt.Fprintf(w, "levels for: %s\n", a.Config)
		}
		fmt.Fprintf(w, "%d distinct syscalls: %d implemented, %d stubbed, %d partial, %d missing (%d blocking); %s %% of %d calls supported\n",
			a.Distinct(), a.Implemented, a.Stubbed, a.Partial, a.Missing, len(a.Blocking), analyze.Percent(a.Weighted()), a.Calls)
		if len(a.SetAside) > 0 {
			fmt.Fprintf(w, "set aside (wrapper processes, not the app): %s\n", countsList(a.SetAside, 6))
		}
		if len(a.Cheap) > 0 {
			var names []string
			for _, u := range a.Cheap {
				names = append(names, u.Key+" ("+string(u.Probe)+")")
			}
			fmt.Fprintf(w, "missing but cheap (syscov probe): %s\n", strings.Join(names, ", "))
		}
		if len(a.Blocking) == 0 {
			fmt.Fprintln(w, "nothing missing that the app needs for real")
		}
		if len(a.Blocking)+len(a.Tolerated) == 0 {
			continue
		}
		var rows [][]string
		for _, u := range append(append([]*analyze.UsedSyscall(nil), a.Blocking...), a.Tolerated...) {
			class := u.Class
			if u.Probe != "" {
				class += " [" + string(u.Probe) + "]"
			}
			rows = append(rows, []string{u.Key, strconv.Itoa(u.Calls), cut(class, 22), impactCell(u.Impact, u.Evidence), cut(u.SiteString(), 26), cut(u.UnikernelSeen, 14)})
		}
		if err := renderTable(w, []string{"missing", "calls", "class", "impact", "first call site", "unikernel"}, rows, nil, []bool{false, true, false, false, false, false}); err != nil {
			return err
		}
		for _, u := range append(append([]*analyze.UsedSyscall(nil), a.Blocking...), a.Tolerated...) {
			fmt.Fprintf(w, "  %s %s: %s\n", u.Key, impactCell(u.Impact, u.Evidence), u.ImpactWhy)
		}
		// What only a configuration closes (the release has the code).
		for _, u := range append(append([]*analyze.UsedSyscall(nil), a.Blocking...), a.Tolerated...) {
			if strings.HasPrefix(u.Closure, "configure") {
				fmt.Fprintf(w, "  %s to close: %s\n", u.Key, u.Closure)
			}
		}
	}
	if plan != nil && plan.Apps > 1 {
		fmt.Fprintf(w, "\n== plan across %d apps (%d fully covered now)\n", plan.Apps, plan.CoveredNow)
		var rows [][]string
		for i, s := range plan.Steps {
			rows = append(rows, []string{strconv.Itoa(i + 1), s.Implement, cut(stepHow(s), 40), "+" + strconv.Itoa(len(s.NewlyCovered)), strconv.Itoa(s.Covered), cut(strings.Join(s.NewlyCovered, ", "), 40)})
		}
		if err := renderTable(w, []string{"step", "support", "how", "apps", "covered", "newly covered"}, rows, nil, []bool{true, false, false, true, true, false}); err != nil {
			return err
		}
		fmt.Fprintf(w, "the top 5 steps cover %d of %d apps, the top 10 %d\n", plan.AfterTop[5], plan.Apps, plan.AfterTop[10])
		if len(plan.Degrading) > 0 {
			fmt.Fprintf(w, "then, what only degrades apps: %s\n", degradingList(plan.Degrading))
		}
	}
	return nil
}

func diffText(w io.Writer, d *analyze.Diff) error {
	fmt.Fprintf(w, "%s\n", VerdictColor(d.Lacks(false) || d.Crash != nil, Verdict(d)))
	return diffTextBody(w, d)
}

// diffTextBody is the diff as text after its verdict line.
func diffTextBody(w io.Writer, d *analyze.Diff) error {
	fmt.Fprintf(w, "native:    %s, %d syscalls aligned\n", d.NativeSource, d.NativeLen)
	fmt.Fprintf(w, "unikernel: %s, %d syscalls aligned", d.UnikernelSource, d.UnikernelLen)
	if d.Unikraft != "" {
		fmt.Fprintf(w, ", Unikraft %s", d.Unikraft)
	}
	fmt.Fprintln(w)
	if d.Table != "" {
		fmt.Fprintf(w, "table:     %s (%s)\n", d.Table, d.TableWhy)
	}
	fmt.Fprintf(w, "alignment: %d equal, %d native only, %d unikernel only\n", d.Equal, d.NativeOnly, d.UniOnly)
	fmt.Fprintf(w, "the unikernel run ended: %s%s\n", d.Ended, detailSuffix(d.EndDetail))
	crashTextSection(w, d)
	for _, group := range []struct {
		title string
		list  []analyze.Gap
	}{{"missing (ENOSYS / not available)", d.Missing}, {"not supported (EOPNOTSUPP, EAFNOSUPPORT, ...)", d.NotSupported}, {"failed where the native call succeeded", d.Failed}} {
		if len(group.list) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", group.title)
		var rows [][]string
		for _, v := range group.list {
			rows = append(rows, []string{v.Name, cut(v.Class, 22), strconv.Itoa(v.NativeCalls), cut(outcome(v), 16), impactCell(v.Impact, v.Evidence), cut(firstSite(v), 24)})
		}
		if err := renderTable(w, []string{"syscall", "class", "native", "unikernel", "impact", "native call site"}, rows, nil, []bool{false, false, true, false, false, false}); err != nil {
			return err
		}
		for _, v := range group.list {
			if v.Impact != "" {
				fmt.Fprintf(w, "  %s %s: %s\n", v.Name, impactCell(v.Impact, v.Evidence), v.ImpactWhy)
			}
		}
		for _, v := range group.list {
			if strings.HasPrefix(v.Closure, "configure") {
				fmt.Fprintf(w, "  %s to close: %s\n", v.Name, v.Closure)
			}
		}
	}
	if len(d.FileGaps) > 0 {
		fmt.Fprintf(w, "\nfiles the app needs that the image lacks (not syscall gaps):\n")
		var rows [][]string
		for _, g := range d.FileGaps {
			rows = append(rows, []string{cut(oneLine(g.Path), 50), gapKind(g), g.NativeCall, strconv.Itoa(g.Calls) + "× " + g.Errno})
		}
		if err := renderTable(w, []string{"path", "what lacks it", "found natively by", "unikernel"}, rows, nil, []bool{false, false, false, false}); err != nil {
			return err
		}
	}
	if dv := d.First; dv != nil {
		fmt.Fprintf(w, "\nfirst divergence: native #%d, unikernel #%d\n", dv.NativeAt, dv.UnikernelAt)
		printSide(w, "native", dv.Native, dv.NativeMark)
		printSide(w, "unikernel", dv.Unikernel, dv.UnikernelMark)
	}
	if d.NeverReachedCalls > 0 {
		fmt.Fprintf(w, "\nnative calls the unikernel never reached: %d (%s)\n", d.NeverReachedCalls, countsList(d.NeverReached, 5))
	}
	for _, c := range d.ForkChildren {
		fmt.Fprintf(w, "native fork child pid %d: %d syscalls%s (the unikernel has one address space)\n", c.PID, c.Calls, forkedSuffix(c.ForkPos))
	}
	if len(d.Ignored) > 0 {
		fmt.Fprintf(w, "set aside before aligning (start-up noise, vDSO): %s\n", countsList(d.Ignored, 6))
	}
	return nil
}

func printSide(w io.Writer, side string, evs []analyze.DiffEvent, mark int) {
	fmt.Fprintf(w, "  %s:\n", side)
	for i, e := range evs {
		prefix := "    "
		if i == mark {
			prefix = "  > "
		}
		fmt.Fprintf(w, "%s%s\n", prefix, eventLine(e))
	}
	if mark < 0 {
		fmt.Fprintf(w, "  > (the %s run has no more syscalls)\n", side)
	}
}

func probeTable(w io.Writer, p *analyze.ProbeReport) error {
	fmt.Fprintln(w, probeHead(p))
	var rows [][]string
	for _, r := range p.Results {
		rows = append(rows, []string{r.Name, strconv.Itoa(r.Calls), cut(runs(r.StubOK, r.StubRuns, r.StubReason), 26), cut(runs(r.FakeOK, r.FakeRuns, r.FakeReason), 26), string(r.Verdict) + flaky(r.Flaky)})
	}
	if err := renderTable(w, []string{"syscall", "calls", "stubbed (ENOSYS)", "faked (0)", "verdict"}, rows, nil, []bool{false, true, false, false, false}); err != nil {
		return err
	}
	for _, cb := range p.Combos {
		fmt.Fprintf(w, "all %d syscalls that work %s, %s together: %s\n", len(cb.Names), pastTense(cb.Kind), pastTense(cb.Kind), comboResult(cb))
	}
	if len(p.Skipped) > 0 {
		fmt.Fprintf(w, "not probed (they start or end the process): %s\n", strings.Join(p.Skipped, ", "))
	}
	return nil
}

func tablesTable(w io.Writer, tables []*analyze.SupportTable) error {
	var data [][]string
	for _, t := range tables {
		c := t.Counts(trace.ArchX86_64)
		data = append(data, []string{t.Name(), strconv.Itoa(c[analyze.Implemented]), strconv.Itoa(c[analyze.Stubbed]),
			strconv.Itoa(c[analyze.Partial]), strconv.Itoa(c[analyze.Disabled]), strconv.Itoa(c[analyze.Missing]), cut(t.Source, 40)})
	}
	return renderTable(w, []string{"table (x86_64)", "implemented", "stubbed", "partial", "disabled", "missing", "source"}, data, nil, []bool{false, true, true, true, true, true, false})
}

func tableDetailTable(w io.Writer, d TableDoc) error {
	t, arch := d.Table, d.Arch
	fmt.Fprintf(w, "%s (%s), from %s\n%s\n", t.Name(), arch, t.Source, configLine(t))
	tab := trace.Table(arch)
	var data [][]string
	for _, n := range d.names() {
		s := t.Arch[arch][n]
		data = append(data, []string{strconv.Itoa(tab.Number(n)), n, string(s.Level), cut(levelText(s), 40), cut(strings.Join(s.Libs, ","), 14), cut(strings.Join(s.Needs, " && "), 40)})
	}
	return renderTable(w, []string{"nr", "syscall", "level", "what it does", "lib", "kconfig"}, data, nil, []bool{true, false, false, false, false, false})
}

func tableDiffTable(w io.Writer, d TableDiffDoc) error {
	fmt.Fprintf(w, "%s\nfrom: %s\nto:   %s\n", d.title(), d.From.Source, d.To.Source)
	if len(d.Changes) == 0 {
		return nil
	}
	var data [][]string
	for _, c := range d.Changes {
		data = append(data, []string{c.Name, cut(sideText(c.From), 21), cut(sideText(c.To), 21), cut(strings.Join(c.What, "; "), 32)})
	}
	return renderTable(w, []string{"syscall", d.From.Name(), d.To.Name(), "what changed"}, data, nil, nil)
}

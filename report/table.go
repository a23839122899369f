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

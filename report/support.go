package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
)

// SupportTables lists support tables with their counts per level.
func SupportTables(w io.Writer, f Format, tables []*analyze.SupportTable) error {
	type row struct {
		Name    string                `json:"name"`
		Source  string                `json:"source"`
		Counts  map[analyze.Level]int `json:"x86_64"`
		Aarch64 map[analyze.Level]int `json:"aarch64"`
	}
	var rows []row
	for _, t := range tables {
		rows = append(rows, row{t.Name(), t.Source, t.Counts(trace.ArchX86_64), t.Counts(trace.ArchAarch64)})
	}
	switch f {
	case FormatHTML:
		return &FormatError{f, "kb list", "table, markdown or json"}
	case FormatJSON:
		return writeJSON(w, map[string]any{"schema": "syscov.kb-list/v1", "tables": rows})
	case FormatMarkdown:
		fmt.Fprintln(w, "| table | implemented | stubbed | partial | missing | source |")
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|---|")
		for _, r := range rows {
			fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %s |\n", mdCell(r.Name), r.Counts[analyze.Implemented], r.Counts[analyze.Stubbed], r.Counts[analyze.Partial], r.Counts[analyze.Missing], mdCell(r.Source))
		}
		return nil
	}
	var data [][]string
	for _, r := range rows {
		data = append(data, []string{r.Name, strconv.Itoa(r.Counts[analyze.Implemented]), strconv.Itoa(r.Counts[analyze.Stubbed]),
			strconv.Itoa(r.Counts[analyze.Partial]), strconv.Itoa(r.Counts[analyze.Missing]), cut(r.Source, 40)})
	}
	return renderTable(w, []string{"table (x86_64)", "implemented", "stubbed", "partial", "missing", "source"}, data, nil, []bool{false, true, true, true, true, false})
}

// SupportTableDetail prints every syscall of one table and architecture,
// or those at one level.
func SupportTableDetail(w io.Writer, f Format, t *analyze.SupportTable, arch trace.Arch, only analyze.Level) error {
	names := make([]string, 0, len(t.Arch[arch]))
	for name, s := range t.Arch[arch] {
		if only == "" || s.Level == only {
			names = append(names, name)
		}
	}
	tab := trace.Table(arch)
	sort.Slice(names, func(i, j int) bool { return tab.Number(names[i]) < tab.Number(names[j]) })
	switch f {
	case FormatHTML:
		return &FormatError{f, "kb show", "table, markdown or json"}
	case FormatJSON:
		sub := map[string]analyze.Support{}
		for _, n := range names {
			sub[n] = t.Arch[arch][n]
		}
		return writeJSON(w, map[string]any{"schema": "syscov.kb/v1", "table": t.Name(), "arch": arch, "source": t.Source, "syscalls": sub})
	case FormatMarkdown:
		fmt.Fprintf(w, "### %s (%s)\n\n| nr | syscall | level | note |\n|--:|---|---|---|\n", mdCell(t.Name()), arch)
		for _, n := range names {
			s := t.Arch[arch][n]
			fmt.Fprintf(w, "| %d | %s | %s | %s |\n", tab.Number(n), mdCell(n), s.Level, mdCell(s.Note))
		}
		return nil
	}
	fmt.Fprintf(w, "%s (%s), from %s\n", t.Name(), arch, t.Source)
	var data [][]string
	for _, n := range names {
		s := t.Arch[arch][n]
		data = append(data, []string{strconv.Itoa(tab.Number(n)), n, string(s.Level), cut(s.Note, 32), cut(strings.Join(s.Libs, ","), 14)})
	}
	return renderTable(w, []string{"nr", "syscall", "level", "note", "libs"}, data, nil, []bool{true, false, false, false, false})
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

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
		return writeJSON(w, map[string]any{"schema": "syscov.kb/v2", "table": t.Name(), "arch": arch, "source": t.Source, "config": t.Config, "syscalls": sub})
	case FormatMarkdown:
		fmt.Fprintf(w, "### %s (%s)\n\n%s\n\n| nr | syscall | level | what it does | where | Kconfig |\n|--:|---|---|---|---|---|\n", mdCell(t.Name()), arch, mdText(configLine(t)))
		for _, n := range names {
			s := t.Arch[arch][n]
			fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s |\n", tab.Number(n), mdCell(n), s.Level, mdCell(levelText(s)), mdCell(s.Where), mdCell(strings.Join(s.Needs, " && ")))
		}
		return nil
	}
	fmt.Fprintf(w, "%s (%s), from %s\n%s\n", t.Name(), arch, t.Source, configLine(t))
	var data [][]string
	for _, n := range names {
		s := t.Arch[arch][n]
		data = append(data, []string{strconv.Itoa(tab.Number(n)), n, string(s.Level), cut(levelText(s), 40), cut(strings.Join(s.Libs, ","), 14), cut(strings.Join(s.Needs, " && "), 40)})
	}
	return renderTable(w, []string{"nr", "syscall", "level", "what it does", "lib", "kconfig"}, data, nil, []bool{true, false, false, false, false, false})
}

// configLine says which configuration a table's levels are for.
func configLine(t *analyze.SupportTable) string {
	if t.Config == "" {
		return "levels: as the table was imported (no Kconfig knowledge)"
	}
	return "levels for: " + t.Config
}

// levelText is what a syscall does at its level, in a few words.
func levelText(s analyze.Support) string {
	switch {
	case s.Level == analyze.Stubbed && s.Returns != "":
		return "returns " + s.Returns
	case s.Level == analyze.Disabled:
		return s.Note
	}
	return s.Note
}

// SupportSyscalls shows a few syscalls in full: level, place, Kconfig,
// every implementation of the release and the uses rejected by argument.
func SupportSyscalls(w io.Writer, f Format, t *analyze.SupportTable, arch trace.Arch, names []string) error {
	if f == FormatJSON {
		sub := map[string]analyze.Support{}
		for _, n := range names {
			sub[n] = t.Lookup(arch, n)
		}
		return writeJSON(w, map[string]any{"schema": "syscov.kb/v2", "table": t.Name(), "arch": arch, "source": t.Source, "config": t.Config, "syscalls": sub})
	}
	if f == FormatHTML {
		return &FormatError{f, "kb show", "table, markdown or json"}
	}
	md := f == FormatMarkdown
	line := func(format string, a ...any) {
		text := fmt.Sprintf(format, a...)
		if md {
			text = "- " + mdText(text)
		} else {
			text = "  " + text
		}
		fmt.Fprintln(w, text)
	}
	for i, n := range names {
		s := t.Lookup(arch, n)
		if i > 0 {
			fmt.Fprintln(w)
		}
		if md {
			fmt.Fprintf(w, "### %s: %s\n\n", mdCell(n), s.Level)
		} else {
			fmt.Fprintf(w, "%s: %s (%s, %s)\n", n, s.Level, t.Name(), arch)
		}
		line("%s", configLine(t))
		if text := levelText(s); text != "" {
			line("%s", text)
		}
		if s.Where != "" {
			line("code: %s (%s)", s.Where, strings.Join(s.Libs, ", "))
		}
		if len(s.Needs) > 0 {
			line("needs: %s", strings.Join(s.Needs, " && "))
		}
		for _, r := range s.Rules {
			var tests []string
			for _, c := range r.When {
				tests = append(tests, argTestText(c))
			}
			unless := ""
			if len(r.Needs) > 0 {
				unless = " (unless " + strings.Join(r.Needs, ", ") + " is on)"
			}
			line("rejects %s: when %s → %s%s", r.Use, strings.Join(tests, " and "), r.Answer, unless)
		}
		if len(s.Impls) > 1 || len(s.Impls) == 1 && s.Impls[0].Where() != s.Where {
			line("implementations in the release:")
			for _, im := range s.Impls {
				text := fmt.Sprintf("  %s %s: %s", im.Lib, im.Where(), im.Level)
				if im.Returns != "" {
					text += ", returns " + im.Returns
				}
				if len(im.Needs) > 0 {
					text += "; needs " + strings.Join(im.Needs, " && ")
				}
				line("%s", text)
			}
		}
		for _, im := range s.Impls {
			if im.Override != "" {
				line("set by hand (%s): %s", im.Where(), im.Override)
			}
		}
		if s.Level == analyze.Missing && len(s.Impls) == 0 {
			line("no code for it in this release: implement")
		}
	}
	return nil
}

// argTestText writes an argument test for people: "arg1 not one of
// FUTEX_WAIT, FUTEX_WAKE".
func argTestText(c analyze.ArgTest) string {
	a := fmt.Sprintf("arg%d", c.Arg)
	if c.Arg < 0 {
		a = "the last argument"
	}
	var parts []string
	if len(c.In) > 0 {
		parts = append(parts, a+" is "+strings.Join(c.In, " or "))
	}
	if len(c.NotIn) > 0 {
		parts = append(parts, a+" is not one of "+strings.Join(c.NotIn, ", "))
	}
	if len(c.Has) > 0 {
		parts = append(parts, a+" has "+strings.Join(c.Has, " or "))
	}
	if len(c.Lacks) > 0 {
		parts = append(parts, a+" lacks "+strings.Join(c.Lacks, " and "))
	}
	if c.NotNull {
		parts = append(parts, a+" is not NULL")
	}
	return strings.Join(parts, " and ")
}

// SupportDiff shows what changed between two support tables.
func SupportDiff(w io.Writer, f Format, a, b *analyze.SupportTable, arch trace.Arch, changes []analyze.Change) error {
	switch f {
	case FormatHTML:
		return &FormatError{f, "kb diff", "table, markdown or json"}
	case FormatJSON:
		type side struct {
			Level   analyze.Level `json:"level"`
			Note    string        `json:"note,omitempty"`
			Returns string        `json:"returns,omitempty"`
			Where   string        `json:"where,omitempty"`
		}
		type change struct {
			Syscall string `json:"syscall"`
			From    side   `json:"from"`
			To      side   `json:"to"`
		}
		out := []change{}
		for _, c := range changes {
			out = append(out, change{c.Name, side{c.From.Level, c.From.Note, c.From.Returns, c.From.Where}, side{c.To.Level, c.To.Note, c.To.Returns, c.To.Where}})
		}
		return writeJSON(w, map[string]any{"schema": "syscov.kbdiff/v1", "from": a.Name(), "to": b.Name(), "from_source": a.Source, "to_source": b.Source, "arch": arch, "changes": out})
	}
	title := fmt.Sprintf("%s → %s (%s): %d syscalls changed", a.Name(), b.Name(), arch, len(changes))
	if f == FormatMarkdown {
		fmt.Fprintf(w, "### %s\n\n| syscall | %s | %s |\n|---|---|---|\n", mdText(title), mdCell(a.Name()), mdCell(b.Name()))
		for _, c := range changes {
			fmt.Fprintf(w, "| %s | %s | %s |\n", mdCell(c.Name), mdCell(sideText(c.From)), mdCell(sideText(c.To)))
		}
		return nil
	}
	fmt.Fprintf(w, "%s\nfrom: %s\nto:   %s\n", title, a.Source, b.Source)
	if len(changes) == 0 {
		return nil
	}
	var data [][]string
	for _, c := range changes {
		data = append(data, []string{c.Name, cut(sideText(c.From), 48), cut(sideText(c.To), 48)})
	}
	return renderTable(w, []string{"syscall", a.Name(), b.Name()}, data, nil, nil)
}

func sideText(s analyze.Support) string {
	text := string(s.Level)
	if t := levelText(s); t != "" {
		text += ": " + t
	}
	if s.Where != "" {
		text += " (" + s.Where + ")"
	}
	return text
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

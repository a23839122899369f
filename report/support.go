package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
)

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

// names are the syscalls a TableDoc shows, by number.
func (d TableDoc) names() []string {
	names := make([]string, 0, len(d.Table.Arch[d.Arch]))
	for name, s := range d.Table.Arch[d.Arch] {
		if d.Only == "" || s.Level == d.Only {
			names = append(names, name)
		}
	}
	tab := trace.Table(d.Arch)
	sort.Slice(names, func(i, j int) bool { return tab.Number(names[i]) < tab.Number(names[j]) })
	return names
}

func (d TableDiffDoc) title() string {
	return fmt.Sprintf("%s → %s (%s): %d syscalls changed", d.From.Name(), d.To.Name(), d.Arch, len(d.Changes))
}

// syscallsText shows a few syscalls in full, as text or Markdown (the
// same lines, one a list).
func syscallsText(w io.Writer, d SyscallsDoc, md bool) error {
	t, arch, names := d.Table, d.Arch, d.Names
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

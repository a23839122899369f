package uksource

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// What a library's Makefile.uk says about when its code is built: the
// option that turns the library on (addlib_s), the options each source
// file is built under (LIBX_SRCS-$(CONFIG_Y) += file.c, inside any
// ifeq/ifneq), and the syscalls it registers, with theirs.
type makefile struct {
	dir string // the directory of the Makefile.uk
	lib string // the library's name (lib/posix-process → posix-process)
	// libNeeds is the library's own option (CONFIG_LIBPOSIX_PROCESS),
	// "" when the Makefile does not say.
	libNeeds string
	// srcs maps a source path relative to dir (path.Match patterns:
	// arch/*/clone.c) to the conditions it is built under.
	srcs []srcRule
}

type srcRule struct {
	pattern string
	needs   []string
}

var (
	addlibRE  = regexp.MustCompile(`\$\(call\s+addlib(?:_s)?\s*,\s*[a-z0-9_]+\s*(?:,\s*\$\((CONFIG_[A-Z0-9_]+)\))?\s*\)`)
	srcsRE    = regexp.MustCompile(`^\s*[A-Z0-9_]+_SRCS-(?:y|\$\((CONFIG_[A-Z0-9_]+)\))\s*\+=\s*(.*)$`)
	provideRE = regexp.MustCompile(`^\s*UK_PROVIDED_SYSCALLS-(?:y|\$\((CONFIG_[A-Z0-9_]+)\))\s*\+=\s*(.*)$`)
	entryRE   = regexp.MustCompile(`^([a-z0-9_]+)-[0-9]+e?$`)
	ifeqRE    = regexp.MustCompile(`^\s*if(n?)eq\s*\(\s*\$\((CONFIG_[A-Z0-9_]+)\)\s*,\s*y\s*\)`)
	ifFilter  = regexp.MustCompile(`^\s*ifneq\s*\(\s*\$\(filter\s+y\s*,(.*)\)\s*,\s*\)`)
	configRE  = regexp.MustCompile(`CONFIG_[A-Z0-9_]+`)
)

// scanMakefile reads a Makefile.uk: its build rules, and a finding for
// every syscall it registers (UK_PROVIDED_SYSCALLS, several per line).
func scanMakefile(fsys fs.FS, p string) (*makefile, []Finding, error) {
	data, err := readFile(fsys, p)
	if err != nil {
		return nil, nil, err
	}
	mk := &makefile{dir: path.Dir(p), lib: libOf(p)}
	var out []Finding
	var stack []string // conditions of the enclosing ifeq/ifneq blocks
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "ifeq") || strings.HasPrefix(trimmed, "ifneq") ||
			strings.HasPrefix(trimmed, "ifdef") || strings.HasPrefix(trimmed, "ifndef"):
			stack = append(stack, makeCondition(trimmed))
			continue
		case trimmed == "else" || strings.HasPrefix(trimmed, "else "):
			if len(stack) > 0 {
				stack[len(stack)-1] = negate(stack[len(stack)-1])
			}
			continue
		case trimmed == "endif" || strings.HasPrefix(trimmed, "endif "):
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if m := addlibRE.FindStringSubmatch(line); m != nil && mk.libNeeds == "" {
			mk.libNeeds = m[1]
			continue
		}
		if m := srcsRE.FindStringSubmatch(line); m != nil {
			needs := withCondition(stack, m[1])
			for _, f := range strings.Fields(m[2]) {
				f, _, _ = strings.Cut(f, "|")
				if i := strings.Index(f, "_BASE)/"); i >= 0 {
					f = f[i+len("_BASE)/"):]
				} else {
					continue // built files ($(X_BUILD)/...), not sources
				}
				f = strings.ReplaceAll(f, "$(CONFIG_UK_ARCH)", "*")
				f = strings.ReplaceAll(f, "$(CONFIG_ARCH)", "*")
				mk.srcs = append(mk.srcs, srcRule{pattern: f, needs: needs})
			}
			continue
		}
		if m := provideRE.FindStringSubmatch(line); m != nil {
			needs := withCondition(stack, m[1])
			for _, e := range strings.Fields(m[2]) {
				if em := entryRE.FindStringSubmatch(e); em != nil {
					out = append(out, Finding{Name: em[1], Kind: Provided, Lib: mk.lib, File: p, Line: n, Needs: needs})
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return mk, out, fmt.Errorf("%s: %w", p, err)
	}
	return mk, out, nil
}

// makeCondition turns a Make conditional into a condition over options:
// ifeq ($(CONFIG_X),y) → CONFIG_X, ifneq → !CONFIG_X, ifneq ($(filter
// y,$(CONFIG_A) $(CONFIG_B)),) → (CONFIG_A || CONFIG_B); anything else
// is kept as written (it evaluates as unknown, i.e. true).
func makeCondition(s string) string {
	if m := ifeqRE.FindStringSubmatch(s); m != nil {
		if m[1] == "n" {
			return "!" + m[2]
		}
		return m[2]
	}
	if m := ifFilter.FindStringSubmatch(s); m != nil {
		opts := configRE.FindAllString(m[1], -1)
		if len(opts) == 1 {
			return opts[0]
		}
		if len(opts) > 1 {
			return "(" + strings.Join(opts, " || ") + ")"
		}
	}
	return "[" + s + "]"
}

func negate(c string) string {
	switch {
	case strings.HasPrefix(c, "!") && !strings.ContainsAny(c[1:], " ()"):
		return c[1:]
	case !strings.ContainsAny(c, " ()!"):
		return "!" + c
	}
	return "!(" + c + ")"
}

// withCondition is the conditions of a stack plus one option (when set),
// dropping the unknown ones.
func withCondition(stack []string, opt string) []string {
	var out []string
	for _, c := range stack {
		if !strings.HasPrefix(c, "[") && !strings.HasPrefix(c, "![") && !strings.HasPrefix(c, "!([") {
			out = append(out, c)
		}
	}
	if opt != "" {
		out = append(out, opt)
	}
	return out
}

// needsOf is the conditions a source file of the library is built under:
// the library's option and its SRCS rule. ok is false when the Makefile
// does not build the file at all (a test, another architecture's copy).
func (mk *makefile) needsOf(p string) (needs []string, ok bool) {
	rel := strings.TrimPrefix(p, mk.dir+"/")
	if mk.libNeeds != "" {
		needs = append(needs, mk.libNeeds)
	}
	if strings.HasSuffix(rel, ".h") {
		return needs, true // headers are built where they are included
	}
	for _, r := range mk.srcs {
		if match, _ := path.Match(r.pattern, rel); match {
			return appendNew(needs, r.needs...), true
		}
	}
	return needs, len(mk.srcs) == 0
}

func appendNew(s []string, more ...string) []string {
	for _, m := range more {
		found := false
		for _, x := range s {
			found = found || x == m
		}
		if !found {
			s = append(s, m)
		}
	}
	return s
}

// ppConditions walks the preprocessor lines of a C file and returns, for
// every line, the conditions that mention a Kconfig option of the
// #if/#ifdef/#ifndef/#elif/#else blocks around it (nil outside any).
func ppConditions(text string) func(line int) []string {
	type frame struct {
		cond string   // the active branch's condition
		prev []string // the conditions of the branches before it, as written
		raw  string   // the active branch's own condition, as written
	}
	var stack []frame
	var changes []int     // line numbers where the stack changes
	var states [][]string // the conditions from that line on
	current := func() []string {
		var out []string
		for _, f := range stack {
			if strings.Contains(f.cond, "CONFIG_") {
				out = append(out, f.cond)
			}
		}
		return out
	}
	n := 0
	for line := range strings.SplitSeq(text, "\n") {
		n++
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "#") {
			continue
		}
		t = strings.TrimSpace(t[1:])
		word, rest, _ := strings.Cut(t, " ")
		if i := strings.Index(word, "\t"); i >= 0 {
			word, rest = word[:i], word[i+1:]+" "+rest
		}
		rest = cleanExpr(rest)
		switch word {
		case "if", "ifdef":
			stack = append(stack, frame{cond: rest, raw: rest})
		case "ifndef":
			stack = append(stack, frame{cond: negate(rest), raw: negate(rest)})
		case "elif":
			if len(stack) > 0 {
				f := &stack[len(stack)-1]
				f.prev = append(f.prev, f.raw)
				f.raw = rest
				var parts []string
				for _, p := range f.prev {
					parts = append(parts, negate(p))
				}
				f.cond = strings.Join(append(parts, rest), " && ")
			}
		case "else":
			if len(stack) > 0 {
				f := &stack[len(stack)-1]
				f.prev = append(f.prev, f.raw)
				var parts []string
				for _, p := range f.prev {
					parts = append(parts, negate(p))
				}
				f.cond = strings.Join(parts, " && ")
			}
		case "endif":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		default:
			continue
		}
		changes = append(changes, n+1)
		states = append(states, current())
	}
	return func(line int) []string {
		var out []string
		for i, at := range changes {
			if at > line {
				break
			}
			out = states[i]
		}
		return out
	}
}

var definedRE = regexp.MustCompile(`defined\s*\(?\s*([A-Za-z0-9_]+)\s*\)?`)

// cleanExpr drops comments from a preprocessor expression and writes
// defined(X) as X.
func cleanExpr(s string) string {
	if i := strings.Index(s, "/*"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "//"); i >= 0 {
		s = s[:i]
	}
	s = definedRE.ReplaceAllString(s, "$1")
	return strings.Join(strings.Fields(s), " ")
}

var (
	kconfigRE = regexp.MustCompile(`^\s*(?:menu)?config\s+([A-Z0-9_]+)\s*$`)
	dependsRE = regexp.MustCompile(`^\s*depends\s+on\s+(.*)$`)
	negatedRE = regexp.MustCompile(`!\s*([A-Z][A-Z0-9_]*)`)
)

// scanKconfig reads a Config.uk for the options that cannot be on
// together: "config LIBUKMMAP ... depends on !LIBPOSIX_MMAP".
func scanKconfig(fsys fs.FS, p string) ([]Finding, error) {
	data, err := readFile(fsys, p)
	if err != nil {
		return nil, err
	}
	var out []Finding
	current := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := kconfigRE.FindStringSubmatch(line); m != nil {
			current = m[1]
			continue
		}
		m := dependsRE.FindStringSubmatch(line)
		if m == nil || current == "" {
			continue
		}
		// Only a plain "!OTHER" term of an && chain excludes OTHER.
		if strings.Contains(m[1], "||") {
			continue
		}
		for _, neg := range negatedRE.FindAllStringSubmatch(m[1], -1) {
			out = append(out, Finding{Name: "CONFIG_" + current, Kind: Excludes, Lib: libOf(p), File: p, Line: n, Note: "CONFIG_" + neg[1]})
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("%s: %w", p, err)
	}
	return out, nil
}

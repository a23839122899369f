package uksource

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// The Kconfig language of the Config.uk files, read far enough to resolve
// a defconfig the way `make defconfig` does, without Unikraft's build
// system: each option's type, prompts, defaults, dependencies (its own
// "depends on" and the if/menu blocks around it), select and imply, and
// the choices. Unikraft sources its Config.uk files through generated
// menus; syscov reads every Config.uk of the trees it is given instead,
// which names the same options. The semantics followed are those of the
// kernel's Documentation/kbuild/kconfig-language.rst: a select forces y
// whatever the dependencies, an imply is a select the user (or an unmet
// dependency) can refuse, an option without a prompt takes only its
// defaults, the user's value counts only where the prompt is visible, and
// one member of a choice whose dependencies hold is y.

// KconfigTree is the options of one or more trees' Config.uk files.
type KconfigTree struct {
	syms    map[string]*ksym
	order   []string // names in the order they were first read
	choices []*kchoice
	// files: what each Config.uk defines and sources, to give what a
	// file defines the dependencies of the blocks it is sourced in.
	files map[string]*kfile
}

type kfile struct {
	defs    []*kdef
	choices []*kchoice
	sources []ksource
}

// ksource is a `source "$(UK_BASE)/arch/x86/x86_64/Config.uk"` line and
// the dependencies of the blocks around it.
type ksource struct {
	path string // as a file name of the tree ("unikraft/arch/…")
	deps string
}

type kcond struct {
	expr string // "" is true
	cond string // the "if" after it, "" is none
}

type kdef struct {
	deps     string // the definition's dependencies: enclosing blocks and "depends on"
	typ      string // bool, tristate, string, int, hex
	prompt   bool
	promptIf string
	defaults []kcond
	file     string
	line     int
}

type ksym struct {
	name    string
	defs    []*kdef
	selects []kcond // by whom (expr: the selecting option), under which condition
	implies []kcond
	choice  *kchoice
}

type kchoice struct {
	deps     string
	members  []string
	defaults []kcond
	optional bool
}

// Has reports whether the trees define the option (without CONFIG_).
func (k *KconfigTree) Has(name string) bool {
	_, ok := k.syms[strings.TrimPrefix(name, "CONFIG_")]
	return ok
}

// Where is the file:line an option is first defined at ("" if nowhere).
func (k *KconfigTree) Where(name string) string {
	s := k.syms[strings.TrimPrefix(name, "CONFIG_")]
	if s == nil || len(s.defs) == 0 {
		return ""
	}
	return fmt.Sprintf("%s:%d", s.defs[0].file, s.defs[0].line)
}

// Options lists every option the trees define, with CONFIG_, sorted.
func (k *KconfigTree) Options() []string {
	var out []string
	for n := range k.syms {
		out = append(out, "CONFIG_"+n)
	}
	sort.Strings(out)
	return out
}

// ReadKconfig reads every Config.uk under each tree (as Scan walks them:
// regular files, no .git, build, doc or support). prefix names each tree
// in the places recorded (one per tree, may be "").
func ReadKconfig(trees []fs.FS, prefixes []string) (*KconfigTree, error) {
	k := &KconfigTree{syms: map[string]*ksym{}, files: map[string]*kfile{}}
	for i, fsys := range trees {
		prefix := ""
		if i < len(prefixes) {
			prefix = prefixes[i]
		}
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				switch d.Name() {
				case ".git", "build", "doc", "support":
					return fs.SkipDir
				}
				return nil
			}
			if d.Name() != "Config.uk" || !d.Type().IsRegular() {
				return nil
			}
			data, err := readFile(fsys, p)
			if err != nil {
				return err
			}
			name := p
			if prefix != "" {
				name = prefix + "/" + p
			}
			return k.parse(name, prefix, data)
		})
		if err != nil {
			return nil, err
		}
	}
	// A file sourced inside "if ARCH_X86_64" has that dependency too (and
	// those of the file that sources it).
	inherited := map[string]string{}
	var of func(file string, seen map[string]bool) string
	of = func(file string, seen map[string]bool) string {
		if d, ok := inherited[file]; ok {
			return d
		}
		if seen[file] {
			return ""
		}
		seen[file] = true
		deps := ""
		for name, f := range k.files {
			for _, src := range f.sources {
				if src.path == file {
					deps = and(and(of(name, seen), src.deps), deps)
				}
			}
		}
		inherited[file] = deps
		return deps
	}
	for name, f := range k.files {
		if d := of(name, map[string]bool{}); d != "" {
			for _, def := range f.defs {
				def.deps = and(d, def.deps)
			}
			for _, c := range f.choices {
				c.deps = and(d, c.deps)
			}
		}
	}
	return k, nil
}

// sourcedPath turns the argument of a source line into a file of the
// tree: "$(UK_BASE)/arch/Config.uk" → prefix/arch/Config.uk. The menus
// Unikraft generates ($(shell,…)) are "" (they add no dependency).
func sourcedPath(arg, prefix string) string {
	arg = strings.Trim(strings.TrimSpace(arg), "\"")
	if strings.HasPrefix(arg, "$(shell") {
		return ""
	}
	for base, dir := range map[string]string{"$(UK_BASE)/": "", "$(KCONFIG_DRIV_BASE)/": "drivers/", "$(KCONFIG_LIB_BASE)/": "lib/", "$(KCONFIG_PLAT_BASE)/": "plat/"} {
		if rest, ok := strings.CutPrefix(arg, base); ok {
			arg = dir + rest
			if prefix != "" {
				arg = prefix + "/" + arg
			}
			return arg
		}
	}
	return ""
}

func (k *KconfigTree) sym(name string) *ksym {
	s := k.syms[name]
	if s == nil {
		s = &ksym{name: name}
		k.syms[name] = s
		k.order = append(k.order, name)
	}
	return s
}

// indentOf counts a line's leading white space, a tab to the next 8.
func indentOf(line string) int {
	n := 0
	for _, c := range line {
		switch c {
		case ' ':
			n++
		case '\t':
			n = n/8*8 + 8
		default:
			return n
		}
	}
	return -1 // blank
}

// splitIf cuts "EXPR if COND" at its last top-level " if ".
func splitIf(s string) (string, string) {
	depth, inStr := 0, false
	cut := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && i+4 <= len(s) && s[i:i+4] == " if " || depth == 0 && i+4 <= len(s) && s[i:i+4] == "\tif ":
			cut = i
		}
	}
	if cut < 0 {
		return strings.TrimSpace(s), ""
	}
	return strings.TrimSpace(s[:cut]), strings.TrimSpace(s[cut+4:])
}

func and(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return "(" + a + ") && (" + b + ")"
}

// parse reads one Config.uk. A line it cannot read is an error naming
// file:line; the blocks must balance.
func (k *KconfigTree) parse(file, prefix string, data []byte) error {
	kf := &kfile{}
	k.files[file] = kf
	type block struct {
		kind string // if, menu, choice
		deps string
	}
	var blocks []block
	blockDeps := func() string {
		d := ""
		for _, b := range blocks {
			d = and(d, b.deps)
		}
		return d
	}
	var cur *kdef    // the option being read
	var curSym *ksym // its symbol
	var curChoice *kchoice
	inMenu := false  // "depends on" right after menu applies to the menu
	helpIndent := -2 // >= -1 while in help text: its first line's indent, -1 before it
	helpOf := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	endEntry := func() {
		if cur != nil && curSym != nil {
			cur.deps = and(blockDeps(), cur.deps)
			curSym.defs = append(curSym.defs, cur)
			kf.defs = append(kf.defs, cur)
		}
		cur, curSym = nil, nil
	}
	for sc.Scan() {
		n++
		raw := sc.Text()
		if helpIndent >= -1 {
			ind := indentOf(raw)
			if ind < 0 {
				continue
			}
			if helpIndent == -1 {
				// The first line sets the indentation of the text
				// (often the help keyword's own, in spaces).
				if ind > 0 && (ind > helpOf || !isKeywordLine(raw)) {
					helpIndent = ind
					continue
				}
			} else if ind >= helpIndent {
				continue
			}
			helpIndent = -2
		}
		line := raw
		if i := strings.IndexByte(line, '#'); i >= 0 && !strings.Contains(line[:i], "\"") {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		for strings.HasSuffix(line, "\\") && sc.Scan() {
			n++
			line = strings.TrimSuffix(line, "\\") + " " + strings.TrimSpace(sc.Text())
		}
		word, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(word, '\t'); i >= 0 {
			word, rest = word[:i], word[i+1:]+" "+rest
		}
		rest = strings.TrimSpace(rest)
		switch word {
		case "config", "menuconfig":
			endEntry()
			inMenu = false
			if rest == "" || strings.ContainsAny(rest, " \t") {
				return fmt.Errorf("%s:%d: %s without one option name", file, n, word)
			}
			curSym = k.sym(rest)
			cur = &kdef{file: file, line: n}
			if curChoice != nil {
				curSym.choice = curChoice
				curChoice.members = append(curChoice.members, rest)
			}
			continue
		case "choice":
			endEntry()
			curChoice = &kchoice{deps: blockDeps()}
			k.choices = append(k.choices, curChoice)
			kf.choices = append(kf.choices, curChoice)
			blocks = append(blocks, block{kind: "choice"})
			continue
		case "endchoice":
			endEntry()
			if len(blocks) == 0 || blocks[len(blocks)-1].kind != "choice" {
				return fmt.Errorf("%s:%d: endchoice without choice", file, n)
			}
			blocks = blocks[:len(blocks)-1]
			curChoice = nil
			continue
		case "if":
			endEntry()
			inMenu = false
			blocks = append(blocks, block{kind: "if", deps: rest})
			continue
		case "endif":
			endEntry()
			inMenu = false
			if len(blocks) == 0 || blocks[len(blocks)-1].kind != "if" {
				return fmt.Errorf("%s:%d: endif without if", file, n)
			}
			blocks = blocks[:len(blocks)-1]
			continue
		case "menu":
			endEntry()
			blocks = append(blocks, block{kind: "menu"})
			inMenu = true
			continue
		case "endmenu":
			endEntry()
			inMenu = false
			if len(blocks) == 0 || blocks[len(blocks)-1].kind != "menu" {
				return fmt.Errorf("%s:%d: endmenu without menu", file, n)
			}
			blocks = blocks[:len(blocks)-1]
			continue
		case "source", "osource":
			endEntry()
			inMenu = false
			if p := sourcedPath(rest, prefix); p != "" {
				kf.sources = append(kf.sources, ksource{path: p, deps: blockDeps()})
			}
			continue
		case "comment", "rsource", "orsource", "mainmenu":
			endEntry()
			inMenu = false
			continue
		case "help", "---help---":
			helpIndent, helpOf = -1, indentOf(raw)
			continue
		}
		// A property: of the option, the choice, or the menu.
		switch {
		case cur != nil:
			if err := k.property(cur, curSym, word, rest); err != nil {
				return fmt.Errorf("%s:%d: %w", file, n, err)
			}
		case curChoice != nil && len(blocks) > 0 && blocks[len(blocks)-1].kind == "choice":
			switch word {
			case "prompt", "bool", "tristate":
			case "default":
				e, c := splitIf(rest)
				curChoice.defaults = append(curChoice.defaults, kcond{expr: e, cond: c})
			case "depends":
				curChoice.deps = and(curChoice.deps, strings.TrimSpace(strings.TrimPrefix(rest, "on")))
			case "optional":
				curChoice.optional = true
			}
		case inMenu && word == "depends":
			blocks[len(blocks)-1].deps = and(blocks[len(blocks)-1].deps, strings.TrimSpace(strings.TrimPrefix(rest, "on")))
		}
	}
	endEntry()
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if len(blocks) > 0 {
		return fmt.Errorf("%s: %d unclosed block(s), the last a %s", file, len(blocks), blocks[len(blocks)-1].kind)
	}
	return nil
}

// isKeywordLine: a line that starts with a Kconfig keyword (the end of
// an empty help text).
func isKeywordLine(raw string) bool {
	w, _, _ := strings.Cut(strings.TrimSpace(raw), " ")
	switch strings.TrimSpace(w) {
	case "config", "menuconfig", "choice", "endchoice", "if", "endif", "menu", "endmenu", "comment", "source",
		"bool", "tristate", "string", "int", "hex", "default", "depends", "select", "imply", "prompt", "def_bool":
		return true
	}
	return false
}

func (k *KconfigTree) property(d *kdef, s *ksym, word, rest string) error {
	switch word {
	case "bool", "tristate", "string", "int", "hex":
		d.typ = word
		if rest != "" {
			_, c := splitIf(rest)
			d.prompt, d.promptIf = true, c
		}
	case "def_bool", "def_tristate":
		d.typ = strings.TrimPrefix(word, "def_")
		e, c := splitIf(rest)
		d.defaults = append(d.defaults, kcond{expr: e, cond: c})
	case "prompt":
		_, c := splitIf(rest)
		d.prompt, d.promptIf = true, c
	case "default":
		e, c := splitIf(rest)
		d.defaults = append(d.defaults, kcond{expr: e, cond: c})
	case "depends":
		d.deps = and(d.deps, strings.TrimSpace(strings.TrimPrefix(rest, "on")))
	case "select", "imply":
		target, c := splitIf(rest)
		if target == "" || strings.ContainsAny(target, " \t") {
			return fmt.Errorf("%s of %q: want one option", word, rest)
		}
		t := k.sym(target)
		entry := kcond{expr: s.name, cond: c}
		if word == "select" {
			t.selects = append(t.selects, entry)
		} else {
			t.implies = append(t.implies, entry)
		}
	case "range", "visible", "option", "modules", "transitional", "optional":
	default:
		return fmt.Errorf("unknown Kconfig keyword %q", word)
	}
	return nil
}

// Resolved is a configuration resolved from a defconfig: every option's
// value ("y", "n", a string or number), and what could not be applied.
type Resolved struct {
	Values map[string]string // by name without CONFIG_
	// Unknown are the options the defconfig sets that no Config.uk of the
	// trees defines (renamed or removed in this release, or of a library
	// not given), with CONFIG_.
	Unknown []string
	// Refused are the options the defconfig turns on that end up off
	// (a dependency is not met), with CONFIG_.
	Refused []string
}

// On lists the options that are set (y, or a value), with CONFIG_, as a
// .config has them.
func (r *Resolved) On() []string {
	var out []string
	for n, v := range r.Values {
		if v != "n" && v != "" {
			out = append(out, "CONFIG_"+n)
		}
	}
	sort.Strings(out)
	return out
}

// Config writes the resolved configuration as .config lines.
func (r *Resolved) Config() []byte {
	var b bytes.Buffer
	names := make([]string, 0, len(r.Values))
	for n := range r.Values {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		switch v := r.Values[n]; v {
		case "n", "":
			fmt.Fprintf(&b, "# CONFIG_%s is not set\n", n)
		default:
			fmt.Fprintf(&b, "CONFIG_%s=%s\n", n, v)
		}
	}
	return b.Bytes()
}

// ParseDefconfig reads the options a defconfig sets: CONFIG_X=value, and
// "# CONFIG_X is not set" as n. Another line that is not a comment is an
// error naming name:line.
func ParseDefconfig(name string, data []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "# CONFIG_") && strings.HasSuffix(line, " is not set") {
			out[strings.TrimSuffix(strings.TrimPrefix(line, "# CONFIG_"), " is not set")] = "n"
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(key, "CONFIG_") || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("%s:%d: not a Kconfig line (want CONFIG_NAME=value): %.60q", name, n, line)
		}
		out[strings.TrimPrefix(key, "CONFIG_")] = val
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// Resolve gives every option of the trees its value for a defconfig (set:
// name without CONFIG_ → value), as `make defconfig` would: values are
// recomputed until none changes (select, imply and defaults may refer to
// any option, in any file).
func (k *KconfigTree) Resolve(set map[string]string) *Resolved {
	vals := map[string]string{}
	for _, n := range k.order {
		vals[n] = "n"
		if s := k.syms[n]; len(s.defs) > 0 && s.defs[0].typ == "string" {
			vals[n] = `""`
		}
	}
	ev := func(e string) bool { return evalKconfig(e, vals) }
	for round := 0; round < 64; round++ {
		changed := false
		setv := func(n, v string) {
			if vals[n] != v {
				vals[n], changed = v, true
			}
		}
		for _, n := range k.order {
			s := k.syms[n]
			if s.choice != nil {
				continue
			}
			setv(n, k.value(s, set, vals, ev))
		}
		for _, c := range k.choices {
			chosen := ""
			if c.deps == "" || ev(c.deps) {
				var visible []string
				for _, m := range c.members {
					if s := k.syms[m]; s != nil && k.visible(s, ev) {
						visible = append(visible, m)
					}
				}
				for _, m := range visible {
					if set[m] == "y" {
						chosen = m
					}
				}
				if chosen == "" {
					for _, d := range c.defaults {
						if (d.cond == "" || ev(d.cond)) && contains(visible, d.expr) {
							chosen = d.expr
							break
						}
					}
				}
				if chosen == "" && len(visible) > 0 && !c.optional {
					chosen = visible[0]
				}
			}
			for _, m := range c.members {
				v := "n"
				if m == chosen {
					v = "y"
				}
				setv(m, v)
			}
		}
		if !changed {
			break
		}
	}
	r := &Resolved{Values: map[string]string{}}
	for n, v := range vals {
		s := k.syms[n]
		if len(s.defs) == 0 {
			continue // only selected or implied: not an option of these trees
		}
		if typ := s.defs[0].typ; (typ == "string" || typ == "int" || typ == "hex") && v == "n" {
			continue
		}
		if strings.Contains(v, "$(") {
			continue // the build's environment ($(UK_FULLVERSION)): not known here
		}
		if v == `""` && !k.visible(s, func(e string) bool { return evalKconfig(e, vals) }) {
			continue // an invisible string without a value: not written
		}
		r.Values[n] = v
	}
	for n, v := range set {
		s := k.syms[n]
		switch {
		case s == nil || len(s.defs) == 0:
			r.Unknown = append(r.Unknown, "CONFIG_"+n)
		case v == "y" && vals[n] != "y":
			r.Refused = append(r.Refused, "CONFIG_"+n)
		}
	}
	sort.Strings(r.Unknown)
	sort.Strings(r.Refused)
	return r
}

// visible: a definition's dependencies and prompt condition hold.
func (k *KconfigTree) visible(s *ksym, ev func(string) bool) bool {
	for _, d := range s.defs {
		if d.prompt && (d.deps == "" || ev(d.deps)) && (d.promptIf == "" || ev(d.promptIf)) {
			return true
		}
	}
	return false
}

func (k *KconfigTree) value(s *ksym, set map[string]string, vals map[string]string, ev func(string) bool) string {
	if len(s.defs) == 0 {
		return "n"
	}
	typ := s.defs[0].typ
	deps := false
	for _, d := range s.defs {
		deps = deps || d.deps == "" || ev(d.deps)
	}
	bool_ := typ == "bool" || typ == "tristate" || typ == ""
	for _, sel := range s.selects {
		if bool_ && vals[sel.expr] == "y" && (sel.cond == "" || ev(sel.cond)) {
			return "y" // a select wins over everything
		}
	}
	if !deps {
		return "n"
	}
	if v, ok := set[s.name]; ok && k.visible(s, ev) {
		if bool_ && v == "m" {
			v = "y"
		}
		return v
	}
	if bool_ {
		for _, im := range s.implies {
			if vals[im.expr] == "y" && (im.cond == "" || ev(im.cond)) {
				return "y"
			}
		}
	}
	for _, d := range s.defs {
		if d.deps != "" && !ev(d.deps) {
			continue
		}
		for _, df := range d.defaults {
			if df.cond != "" && !ev(df.cond) {
				continue
			}
			if bool_ {
				if ev(df.expr) {
					return "y"
				}
				return "n"
			}
			v := df.expr
			if w, ok := vals[v]; ok && !strings.HasPrefix(v, "\"") {
				v = w
			}
			return v
		}
	}
	if typ == "string" {
		return `""`
	}
	return "n"
}

// evalKconfig evaluates a Kconfig expression (bare option names, y n m,
// quoted strings, = != < > <= >=, ! && || and parentheses) over vals. A
// $(macro) or anything unreadable is false.
func evalKconfig(expr string, vals map[string]string) bool {
	p := &kexpr{toks: ktokens(expr), vals: vals}
	v, ok := p.or()
	return ok && p.i == len(p.toks) && v
}

func ktokens(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			out = append(out, s[i:min(j+1, len(s))])
			i = j + 1
		case c == '&' || c == '|':
			j := i
			for j < len(s) && s[j] == c {
				j++
			}
			out = append(out, s[i:j])
			i = j
		case c == '!' || c == '<' || c == '>' || c == '=':
			if i+1 < len(s) && s[i+1] == '=' {
				out = append(out, s[i:i+2])
				i += 2
			} else {
				out = append(out, s[i:i+1])
				i++
			}
		case c == '(' || c == ')':
			out = append(out, s[i:i+1])
			i++
		case c == '$':
			// $(shell,…) and friends: one unknown token, parentheses
			// balanced.
			j, depth := i+1, 0
			for ; j < len(s); j++ {
				if s[j] == '(' {
					depth++
				} else if s[j] == ')' {
					depth--
					if depth == 0 {
						j++
						break
					}
				}
			}
			out = append(out, "$")
			i = j
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t&|!()=<>\"", rune(s[j])) {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out
}

type kexpr struct {
	toks []string
	i    int
	vals map[string]string
}

func (p *kexpr) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *kexpr) or() (bool, bool) {
	v, ok := p.and()
	for ok && p.peek() == "||" {
		p.i++
		var w bool
		w, ok = p.and()
		v = v || w
	}
	return v, ok
}

func (p *kexpr) and() (bool, bool) {
	v, ok := p.unary()
	for ok && p.peek() == "&&" {
		p.i++
		var w bool
		w, ok = p.unary()
		v = v && w
	}
	return v, ok
}

func (p *kexpr) unary() (bool, bool) {
	switch p.peek() {
	case "!":
		p.i++
		v, ok := p.unary()
		return !v, ok
	case "(":
		p.i++
		v, ok := p.or()
		if !ok || p.peek() != ")" {
			return false, false
		}
		p.i++
		return v, true
	}
	a, ok := p.atom()
	if !ok {
		return false, false
	}
	switch op := p.peek(); op {
	case "=", "!=", "<", ">", "<=", ">=":
		p.i++
		b, ok := p.atom()
		if !ok {
			return false, false
		}
		switch op {
		case "=":
			return a == b, true
		case "!=":
			return a != b, true
		}
		var x, y int
		fmt.Sscan(a, &x)
		fmt.Sscan(b, &y)
		switch op {
		case "<":
			return x < y, true
		case ">":
			return x > y, true
		case "<=":
			return x <= y, true
		}
		return x >= y, true
	}
	return a == "y" || a == "m", true
}

// atom is the value of a symbol, a constant or a string.
func (p *kexpr) atom() (string, bool) {
	t := p.peek()
	switch t {
	case "", ")", "&&", "||", "=", "!=", "<", ">", "<=", ">=", "!", "(":
		return "", false
	}
	p.i++
	switch {
	case t == "$":
		return "", true
	case strings.HasPrefix(t, "\""):
		return strings.Trim(t, "\""), true
	case t == "y" || t == "n" || t == "m":
		return t, true
	}
	if v, ok := p.vals[t]; ok {
		return strings.Trim(v, "\""), true
	}
	// A number, or an option of no tree given: a constant, its own name
	// (as Kconfig has it).
	return t, true
}

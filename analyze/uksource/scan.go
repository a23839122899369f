// Package uksource reads a Unikraft source tree (core and whatever
// libraries are present) for the syscalls it implements: the
// UK_SYSCALL_*DEFINE / UK_LLSYSCALL_*DEFINE macro family, the shim's
// provided-syscall lists (UK_PROVIDED_SYSCALLS in Makefile.uk), and the
// stubs among them (UK_WARN_STUBBED) or partial ones (messages such as
// "Unsupported clone flags"), with the Kconfig conditions of each. It
// belongs to the analyze stage, which turns its findings into support
// tables; it imports no syscov package.
package uksource

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
)

// Kind is what a finding says of a syscall.
type Kind string

const (
	Defined  Kind = "defined"  // a UK_*SYSCALL*_DEFINE implements it
	Provided Kind = "provided" // a library lists it in UK_PROVIDED_SYSCALLS
	Stubbed  Kind = "stubbed"  // its implementation warns that it is a stub
	Partial  Kind = "partial"  // its implementation rejects some uses
	// Excludes: a Kconfig option cannot be on with another (Config.uk:
	// "depends on !OTHER"); Name is the option, Note the other.
	Excludes Kind = "excludes"
	// CloneFlag: posix-process handles a clone flag (a
	// UK_POSIX_CLONE_HANDLER registers it; Name is the flag): a clone
	// asking for a flag no handler takes answers -ENOTSUP.
	CloneFlag Kind = "clone-flag"
)

// Finding is one fact about one syscall, with where it was found.
type Finding struct {
	Name string
	Kind Kind
	// Lib is the library directory (lib/posix-process → posix-process).
	Lib  string
	File string
	Line int
	// Note says why a syscall is partial: the message its code prints,
	// or the conditions under which it answers -ENOSYS.
	Note string
	// Needs are the Kconfig conditions the finding holds under, each an
	// expression over CONFIG_ options ("CONFIG_LIBPOSIX_PROCESS",
	// "!CONFIG_LIBUKMMAP", "(CONFIG_A || CONFIG_B)"): the library's
	// option, the source file's build rule, the #if blocks around it.
	Needs []string
	// Returns is, for a stub, the constants it returns ("0", "-ENOSYS",
	// "-EINVAL, 0").
	Returns string
}

var (
	// Every variant of the DEFINE family: UK_SYSCALL_DEFINE, _R_, _E_,
	// _R_E_, app-elfloader's _R_U_ … (not EXECENV_PROLOGUE_DEFINE).
	defineRE  = regexp.MustCompile(`\bUK_(?:LL)?SYSCALL_(?:(?:R|E|U)_)*DEFINE\s*\(\s*[^,()]+(?:\([^)]*\))?[^,]*,\s*([a-z0-9_]+)\s*[,)]`)
	messageRE = regexp.MustCompile(`"([^"\n]*(?:[Uu]nsupported|not supported|not implemented|[Uu]nimplemented|UNIMPLEMENTED|STUB)[^"\n]*)"`)
)

// Scan walks fsys (the root of a Unikraft tree, or a library) and returns
// its findings sorted by name, kind and place. Makefiles are read first:
// a source file's findings hold under its library's option and its build
// rule, and a file no rule builds (a test, a disabled variant) is skipped.
func Scan(fsys fs.FS) ([]Finding, error) {
	var out []Finding
	var sources []string
	makefiles := map[string]*makefile{} // by directory
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
		// Regular files only: a symlink (inside the tree or out of it) is
		// not followed, a FIFO or a device is not opened.
		if !d.Type().IsRegular() {
			return nil
		}
		name := d.Name()
		switch {
		case name == "Config.uk":
			f, err := scanKconfig(fsys, p)
			out = append(out, f...)
			return err
		case name == "Makefile.uk":
			mk, f, err := scanMakefile(fsys, p)
			if mk != nil {
				makefiles[mk.dir] = mk
			}
			out = append(out, f...)
			return err
		case strings.HasSuffix(name, ".c") || strings.HasSuffix(name, ".h"):
			if strings.HasPrefix(p, "lib/syscall_shim/include/") {
				return nil // the macros' own definitions
			}
			sources = append(sources, p)
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	for _, p := range sources {
		var mk *makefile
		for dir := path.Dir(p); mk == nil; dir = path.Dir(dir) {
			mk = makefiles[dir]
			if dir == "." || dir == "/" {
				break
			}
		}
		f, err := scanSource(fsys, p, mk)
		out = append(out, f...)
		if err != nil {
			return out, err
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return out, nil
}

// libOf names the library a path belongs to.
func libOf(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if (part == "lib" || part == "plat" || part == "arch" || part == "libs") && i+1 < len(parts)-1 {
			return parts[i+1]
		}
	}
	if len(parts) > 1 && parts[0] != "syscalls" {
		return parts[0]
	}
	return "" // the tree's own code: the caller names the tree
}

// MaxFile is the largest file the scanner reads: no Unikraft source is
// near it, and an untrusted tree may hold anything.
const MaxFile = 8 << 20

// readFile reads a regular file of the tree, at most MaxFile bytes; errors
// name the file.
func readFile(fsys fs.FS, p string) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if len(data) > MaxFile {
		return nil, fmt.Errorf("%s: larger than %d MiB: not a source file syscov reads", p, MaxFile>>20)
	}
	return data, nil
}

// scanSource finds the DEFINEs of a C file; the body of each (up to the
// next DEFINE) is searched for stub warnings and "unsupported" messages.
func scanSource(fsys fs.FS, p string, mk *makefile) ([]Finding, error) {
	var fileNeeds []string
	if mk != nil {
		var built bool
		if fileNeeds, built = mk.needsOf(p); !built {
			return nil, nil // no rule builds it: a test, another variant
		}
	}
	data, err := readFile(fsys, p)
	if err != nil {
		return nil, err
	}
	text := string(data)
	var handlers []Finding
	if strings.Contains(text, "UK_POSIX_CLONE_HANDLER(") {
		handlers = cloneHandlers(text, p, fileNeeds)
	}
	if !strings.Contains(text, "SYSCALL_") {
		return handlers, nil
	}
	locs := defineRE.FindAllStringSubmatchIndex(text, -1)
	if len(locs) == 0 {
		return handlers, nil
	}
	conds := ppConditions(text)
	lib := libOf(p)
	out := handlers
	var helpers map[string][]int // found once per file, when needed
	line, lineAt := 1, 0
	for k, loc := range locs {
		name := text[loc[2]:loc[3]]
		line += strings.Count(text[lineAt:loc[0]], "\n")
		lineAt = loc[0]
		// A body ends where the next DEFINE starts, at the latest: an
		// unbalanced brace costs one body, not the rest of the file.
		end := len(text)
		if k+1 < len(locs) {
			end = locs[k+1][0]
		}
		body := functionBody(text[:end], loc[1])
		// "return uk_sys_NAME(...)": the work is in the helper; a stub
		// is judged on the helper's body.
		judged := body
		params := signatureNames(text[loc[0]:min(len(text), loc[0]+2048)])
		if helper := "uk_sys_" + name + "("; strings.Contains(body, helper) {
			if helpers == nil {
				helpers = helperDefinitions(text)
			}
			for _, def := range helpers["uk_sys_"+name] {
				h := functionBody(text[:min(len(text), def+maxBody)], def)
				for k := range signatureNames(text[def:min(len(text), def+2048)]) {
					params[k] = true
				}
				body += h
				judged = h
			}
		}
		needs := appendNew(append([]string(nil), fileNeeds...), conds(line)...)
		at := Finding{Name: name, Lib: lib, File: p, Line: line, Needs: needs}
		add := func(kind Kind, note, returns string) {
			f := at
			f.Kind, f.Note, f.Returns = kind, note, returns
			out = append(out, f)
		}
		add(Defined, "", "")
		warned := strings.Contains(body, "UK_WARN_STUBBED")
		if consts, ok := constantReturns(judged); ok {
			add(Stubbed, "", strings.Join(consts, ", "))
			continue
		}
		// A stub warning first thing, or in a short body: a stub (what it
		// does after the warning pretends).
		if warned && (strings.Count(body, "\n") < 12 || strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(stripCode(judged)), "{")), "UK_WARN_STUBBED")) {
			add(Stubbed, "", "")
			continue
		}
		var notes []string
		m := messageRE.FindStringSubmatch(body)
		if base := strings.TrimSuffix(path.Base(p), ".c"); m == nil && strings.TrimRight(name, "0123456789") == base {
			// A file named after the syscall (clone.c for clone and
			// clone3) is all about it: its messages that name the
			// syscall apply, wherever its code checks (Unikraft checks
			// clone flags in hooks); poll.c's "ppoll no sigmask" is not
			// poll's.
			word := regexp.MustCompile(`\b` + regexp.QuoteMeta(base) + `\b`)
			for _, mm := range messageRE.FindAllStringSubmatch(text, -1) {
				if word.MatchString(mm[1]) {
					m = mm
					break
				}
			}
		}
		if m != nil {
			notes = append(notes, strings.TrimSpace(strings.TrimSuffix(m[1], "\\n")))
		}
		notes = append(notes, unsupportedWhen(body, params)...)
		if len(notes) == 0 && warned {
			notes = append(notes, "a stub for some of its uses (UK_WARN_STUBBED)")
		}
		if len(notes) > 0 {
			add(Partial, strings.Join(notes, "; "), "")
		}
	}
	return out, nil
}

// signatureNames returns the identifiers of the parameter list that
// starts at the first '(' of text (types and names alike: a condition
// that names one tests the call's arguments).
func signatureNames(text string) map[string]bool {
	out := map[string]bool{}
	open := strings.IndexByte(text, '(')
	if open < 0 {
		return out
	}
	depth := 0
	for i := open; i < len(text); i++ {
		switch text[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				for _, id := range identRE.FindAllString(text[open+1:i], -1) {
					out[id] = true
				}
				return out
			}
		}
	}
	return out
}

// functionBody returns the brace-balanced body of the function whose
// definition starts before from: from the first '{' after it to its match.
// Strings, characters and comments are skipped.
func functionBody(text string, from int) string {
	open := strings.IndexByte(text[from:], '{')
	if open < 0 {
		return ""
	}
	start := from + open
	depth := 0
	for i := start; i < len(text); i++ {
		switch c := text[i]; c {
		case '"', '\'':
			for i++; i < len(text) && text[i] != c; i++ {
				if text[i] == '\\' {
					i++
				}
			}
		case '/':
			if i+1 < len(text) && text[i+1] == '*' {
				if end := strings.Index(text[i+2:], "*/"); end >= 0 {
					i += end + 3
				}
			} else if i+1 < len(text) && text[i+1] == '/' {
				if end := strings.IndexByte(text[i:], '\n'); end >= 0 {
					i += end
				}
			}
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return text[start : i+1]
			}
		}
	}
	return text[start:]
}

// maxBody bounds the body of a helper function read after its name.
const maxBody = 64 << 10

// helperDefinitions finds, in one pass, where functions named uk_sys_*
// are defined in text (the name followed by '(' and, before any ';', a
// '{', on a line that neither returns nor assigns), by name.
func helperDefinitions(text string) map[string][]int {
	out := map[string][]int{}
	for off := 0; ; {
		i := strings.Index(text[off:], "uk_sys_")
		if i < 0 {
			return out
		}
		at := off + i
		j := at + len("uk_sys_")
		for j < len(text) && (text[j] == '_' || text[j] >= 'a' && text[j] <= 'z' || text[j] >= '0' && text[j] <= '9') {
			j++
		}
		off = j
		if j >= len(text) || text[j] != '(' {
			continue
		}
		// A definition: the next of ';' and '{' (within reach) is '{'.
		rest := text[j:min(len(text), j+4096)]
		semi := strings.IndexByte(rest, ';')
		brace := strings.IndexByte(rest, '{')
		lineStart := strings.LastIndexByte(text[:at], '\n') + 1
		if brace >= 0 && (semi < 0 || brace < semi) && !strings.Contains(text[lineStart:at], "return") && !strings.Contains(text[lineStart:at], "=") {
			out[text[at:j]] = append(out[text[at:j]], at)
		}
	}
}

// cloneHandlerRE is a registration of posix-process's clone handler
// table: UK_POSIX_CLONE_HANDLER(CLONE_SIGHAND | CLONE_CLEAR_SIGHAND, …).
var cloneHandlerRE = regexp.MustCompile(`\bUK_POSIX_CLONE_HANDLER\(\s*([A-Z0-9_|\s]+?)\s*,`)

// cloneHandlers are the clone flags a file's handlers take, each a
// finding under the conditions of its line (not the macro's definition).
func cloneHandlers(text, p string, fileNeeds []string) []Finding {
	conds := ppConditions(text)
	var out []Finding
	for _, loc := range cloneHandlerRE.FindAllStringSubmatchIndex(text, -1) {
		if strings.Contains(text[max(0, loc[0]-64):loc[0]], "#define") {
			continue
		}
		line := 1 + strings.Count(text[:loc[0]], "\n")
		needs := appendNew(append([]string(nil), fileNeeds...), conds(line)...)
		for _, f := range strings.Split(text[loc[2]:loc[3]], "|") {
			if f = strings.TrimSpace(f); strings.HasPrefix(f, "CLONE_") {
				out = append(out, Finding{Name: f, Kind: CloneFlag, Lib: libOf(p), File: p, Line: line, Needs: needs})
			}
		}
	}
	return out
}

// Package uksource reads a Unikraft source tree (core and whatever
// libraries are present) for the syscalls it implements: the
// UK_SYSCALL_*DEFINE / UK_LLSYSCALL_*DEFINE macro family, the shim's
// provided-syscall lists (UK_PROVIDED_SYSCALLS in Makefile.uk), and the
// stubs among them (UK_WARN_STUBBED) or partial ones (messages such as
// "Unsupported clone flags"). It is a reader of the trace stage; analyze
// turns its findings into a support table.
package uksource

import (
	"bufio"
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
)

// Finding is one fact about one syscall, with where it was found.
type Finding struct {
	Name string
	Kind Kind
	// Lib is the library directory (lib/posix-process → posix-process).
	Lib  string
	File string
	Line int
	// Note says why a syscall is partial: the message its code prints.
	Note string
}

var (
	defineRE   = regexp.MustCompile(`\bUK_(?:LL)?SYSCALL_(?:R_E_|R_|E_)?DEFINE\s*\(\s*[^,()]+(?:\([^)]*\))?[^,]*,\s*([a-z0-9_]+)\s*[,)]`)
	providedRE = regexp.MustCompile(`^\s*UK_PROVIDED_SYSCALLS-\$\([A-Z0-9_]+\)\s*\+=\s*([a-z0-9_]+)-\d+`)
	messageRE  = regexp.MustCompile(`"([^"]*(?:[Uu]nsupported|not supported|not implemented)[^"]*)"`)
)

// Scan walks fsys (the root of a Unikraft tree, or a library) and returns
// its findings sorted by name, kind and place.
func Scan(fsys fs.FS) ([]Finding, error) {
	var out []Finding
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
		name := d.Name()
		switch {
		case name == "Makefile.uk":
			f, err := scanMakefile(fsys, p)
			out = append(out, f...)
			return err
		case strings.HasSuffix(name, ".c") || strings.HasSuffix(name, ".h"):
			if strings.HasPrefix(p, "lib/syscall_shim/include/") {
				return nil // the macros' own definitions
			}
			f, err := scanSource(fsys, p)
			out = append(out, f...)
			return err
		}
		return nil
	})
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
	return out, err
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

func scanMakefile(fsys fs.FS, p string) ([]Finding, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Finding
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if m := providedRE.FindStringSubmatch(sc.Text()); m != nil {
			out = append(out, Finding{Name: m[1], Kind: Provided, Lib: libOf(p), File: p, Line: n})
		}
	}
	return out, sc.Err()
}

// scanSource finds the DEFINEs of a C file; the body of each (up to the
// next DEFINE) is searched for stub warnings and "unsupported" messages.
func scanSource(fsys fs.FS, p string) ([]Finding, error) {
	data, err := fs.ReadFile(fsys, p)
	if err != nil {
		return nil, err
	}
	text := string(data)
	if !strings.Contains(text, "SYSCALL_") {
		return nil, nil
	}
	locs := defineRE.FindAllStringSubmatchIndex(text, -1)
	var out []Finding
	for _, loc := range locs {
		name := text[loc[2]:loc[3]]
		line := 1 + strings.Count(text[:loc[0]], "\n")
		body := functionBody(text, loc[1])
		// "return uk_sys_NAME(...)": the work is in the helper.
		if helper := "uk_sys_" + name + "("; strings.Contains(body, helper) {
			for _, def := range helperDefs(text, "uk_sys_"+name) {
				body += functionBody(text, def)
			}
		}
		out = append(out, Finding{Name: name, Kind: Defined, Lib: libOf(p), File: p, Line: line})
		if strings.Contains(body, "UK_WARN_STUBBED") && strings.Count(body, "\n") < 12 {
			out = append(out, Finding{Name: name, Kind: Stubbed, Lib: libOf(p), File: p, Line: line})
		}
		m := messageRE.FindStringSubmatch(body)
		if base := strings.TrimSuffix(path.Base(p), ".c"); m == nil && strings.HasPrefix(name, base) {
			// A file named after the syscall (clone.c for clone and
			// clone3) is all about it: its messages apply, wherever its
			// code checks (Unikraft checks clone flags in hooks).
			m = messageRE.FindStringSubmatch(text)
		}
		if m != nil {
			out = append(out, Finding{Name: name, Kind: Partial, Lib: libOf(p), File: p, Line: line, Note: strings.TrimSpace(strings.TrimSuffix(m[1], "\\n"))})
		} else if strings.Contains(body, "UK_WARN_STUBBED") && strings.Count(body, "\n") >= 12 {
			out = append(out, Finding{Name: name, Kind: Partial, Lib: libOf(p), File: p, Line: line, Note: "a stub for some of its uses (UK_WARN_STUBBED)"})
		}
	}
	return out, nil
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

// helperDefs finds where functions named fn are defined in text (a line
// that names fn followed by '(' and does not end in ';').
func helperDefs(text, fn string) []int {
	var out []int
	for off := 0; ; {
		i := strings.Index(text[off:], fn+"(")
		if i < 0 {
			return out
		}
		at := off + i
		off = at + len(fn)
		// A definition: the next of ';' and '{' is '{'.
		semi := strings.IndexByte(text[at:], ';')
		brace := strings.IndexByte(text[at:], '{')
		lineStart := strings.LastIndexByte(text[:at], '\n') + 1
		if brace >= 0 && (semi < 0 || brace < semi) && !strings.Contains(text[lineStart:at], "return") && !strings.Contains(text[lineStart:at], "=") {
			out = append(out, at)
		}
	}
}

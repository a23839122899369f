package analyze

import (
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/syscov/syscov/trace"
)

// pathCalls are the syscalls whose first string argument is a path the
// call looks up (the open, stat, access, readlink and exec families).
var pathCalls = map[string]bool{
	"open": true, "openat": true, "openat2": true, "creat": true,
	"stat": true, "lstat": true, "newfstatat": true, "statx": true, "fstatat64": true,
	"access": true, "faccessat": true, "faccessat2": true,
	"readlink": true, "readlinkat": true, "execve": true, "execveat": true,
}

// FileUse is one path an app looked up.
type FileUse struct {
	Path string
	// First is the first call that found it (or, when none did, the first
	// that looked it up).
	First trace.Pos
	Call  string
	// Found: some call found it; Created: an open with O_CREAT may have
	// made it; Written: it was opened for writing.
	Found, Created, Written bool
	// Errno is what the first failing lookup answered, when none found it.
	Errno string
	// Rel is the path as the call named it when relative ("t.db"): in
	// the guest it is found from the guest's working directory.
	Rel string
}

// FileUses collects the paths an app's syscalls name: what a root
// filesystem for it must hold, and which directories it writes into.
type FileUses struct {
	uses map[string]*FileUse
	dirs map[string]bool
	cwd  Cwds
	// StartDir is the working directory the command started in (every
	// process's until it changes directory): relative paths resolve
	// against it.
	StartDir string
	// listed are the directories the app read the entries of
	// (getdents), dirFDs the directories open by process and fd.
	listed map[string]bool
	dirFDs map[[2]int]string
}

// NewFileUses starts an empty collection.
func NewFileUses() *FileUses {
	return &FileUses{uses: map[string]*FileUse{}, dirs: map[string]bool{}, cwd: Cwds{}, listed: map[string]bool{}, dirFDs: map[[2]int]string{}}
}

// Listed are the directories whose entries the app read (getdents on
// them), sorted: a root filesystem holds their entries too.
func (f *FileUses) Listed() []string {
	var out []string
	for d := range f.listed {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// Cwds follows the working directory of each process through its chdir
// calls, to resolve relative paths (unknown until a chdir to an absolute
// path).
type Cwds map[int]string

// Add looks at one event; it returns whether it was a chdir.
func (c Cwds) Add(ev *trace.Event) bool {
	if ev.Kind != trace.KindSyscall || ev.Name != "chdir" || ev.Status != trace.StatusOK {
		return false
	}
	if p, ok := c.Path(ev); ok {
		c[ev.PID] = p
	}
	return true
}

// Path is the absolute path a call names: its first quoted argument,
// resolved against the process's working directory when relative and
// known. Paths cut by the tracer ("…"...) are left out.
func (c Cwds) Path(ev *trace.Event) (string, bool) {
	args := ev.Args
	i := strings.IndexByte(args, '"')
	if i < 0 {
		return "", false
	}
	p, rest, ok := quotedAt(args)
	if !ok || !strings.Contains(args[i+1:], `"`) || strings.HasPrefix(rest, "...") || p == "" {
		return "", false
	}
	if !strings.HasPrefix(p, "/") {
		// Relative to AT_FDCWD (or a plain path call) only.
		if i > 0 && !strings.HasPrefix(args, "AT_FDCWD") && !strings.HasPrefix(args, "0xffffff9c") {
			return "", false
		}
		dir, ok := c[ev.PID]
		if !ok {
			return "", false
		}
		p = dir + "/" + p
	}
	return path.Clean(p), true
}

// Add looks at one event.
func (f *FileUses) Add(ev *trace.Event) {
	if ev.Kind != trace.KindSyscall || f.cwd.Add(ev) {
		return
	}
	if f.StartDir != "" {
		if _, ok := f.cwd[ev.PID]; !ok {
			f.cwd[ev.PID] = f.StartDir
		}
	}
	switch ev.Name {
	case "getdents", "getdents64":
		if fd, err := strconv.Atoi(strings.TrimSpace(trace.Arg(ev.Args, 0))); err == nil && ev.Status == trace.StatusOK {
			if d, ok := f.dirFDs[[2]int{ev.PID, fd}]; ok {
				f.listed[d] = true
			}
		}
		return
	case "close":
		if fd, err := strconv.Atoi(strings.TrimSpace(trace.Arg(ev.Args, 0))); err == nil {
			delete(f.dirFDs, [2]int{ev.PID, fd})
		}
		return
	}
	switch ev.Name {
	case "mkdir", "mkdirat", "rename", "renameat", "renameat2", "unlink", "unlinkat", "rmdir", "link", "linkat", "symlink", "symlinkat":
		if p, ok := f.cwd.Path(ev); ok && ev.Status == trace.StatusOK {
			f.dirs[path.Dir(p)] = true
		}
		return
	}
	if !pathCalls[ev.Name] {
		return
	}
	p, ok := f.cwd.Path(ev)
	if !ok {
		return
	}
	u := f.uses[p]
	if u == nil {
		u = &FileUse{Path: p, First: ev.Pos, Call: ev.Name}
		if q, ok := callPathRaw(ev); ok && !strings.HasPrefix(q, "/") {
			u.Rel = path.Clean(q)
		}
		f.uses[p] = u
	}
	if (ev.Name == "openat" || ev.Name == "open") && ev.Status == trace.StatusOK && ev.RetVal >= 0 && strings.Contains(ev.Args, "O_DIRECTORY") {
		f.dirFDs[[2]int{ev.PID, int(ev.RetVal)}] = p
	}
	switch {
	case ev.Status == trace.StatusOK:
		if !u.Found {
			u.Found, u.First, u.Call, u.Errno = true, ev.Pos, ev.Name, ""
		}
		if strings.Contains(ev.Args, "O_CREAT") {
			u.Created = true
			f.dirs[path.Dir(p)] = true
		}
		if strings.Contains(ev.Args, "O_WRONLY") || strings.Contains(ev.Args, "O_RDWR") {
			u.Written = true
		}
	case !u.Found && u.Errno == "":
		u.Errno = ev.Errno
	}
}

// callPathRaw is the path a call names as written (relative or not).
func callPathRaw(ev *trace.Event) (string, bool) {
	p, rest, ok := quotedAt(ev.Args)
	if !ok || strings.HasPrefix(rest, "...") || p == "" {
		return "", false
	}
	return p, true
}

// callPath is the absolute path a call names, without following working
// directories.
func callPath(ev *trace.Event) (string, bool) { return Cwds{}.Path(ev) }

// FoundUnder returns the one path found that ends in /rel ("" when none
// or several do).
func (f *FileUses) FoundUnder(rel string) string {
	found := ""
	for p, u := range f.uses {
		if u.Found && strings.HasSuffix(p, "/"+rel) {
			if found != "" {
				return ""
			}
			found = p
		}
	}
	return found
}

// relativePath is the first quoted argument of a call when it is a
// relative path.
func relativePath(args string) (string, bool) {
	p, ok := firstQuoted(args)
	if !ok || p == "" || strings.HasPrefix(p, "/") {
		return "", false
	}
	return path.Clean(p), true
}

// Found are the paths some call found, sorted.
func (f *FileUses) Found() []*FileUse {
	var out []*FileUse
	for _, u := range f.uses {
		if u.Found {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Use returns what is known of a path.
func (f *FileUses) Use(p string) *FileUse { return f.uses[path.Clean(p)] }

// WrittenDirs are the directories the app created, renamed or removed
// files in, sorted.
func (f *FileUses) WrittenDirs() []string {
	var out []string
	for d := range f.dirs {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

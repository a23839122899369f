package analyze

import (
	"path"
	"strings"

	"github.com/syscov/syscov/trace"
)

// wrappers are programs that start the app rather than being it: shells,
// env and the like, and version managers.
var wrappers = map[string]bool{
	"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true, "mksh": true, "fish": true, "busybox": true,
	"env": true, "nice": true, "nohup": true, "stdbuf": true, "timeout": true, "setsid": true, "taskset": true,
	"ionice": true, "chrt": true, "time": true, "sudo": true, "runuser": true, "su": true, "xargs": true,
	"pyenv": true, "pyenv-exec": true, "rbenv": true, "rbenv-exec": true, "nodenv": true, "nodenv-exec": true,
	"asdf": true, "mise": true, "direnv": true,
}

// helpers are utilities that version managers' shims run on their way to
// the app (a pyenv shim runs uname, readlink, dirname ...): never the app
// once a shim has started; the app in any other case (sh -c 'cat x > y').
var helpers = map[string]bool{
	"uname": true, "dirname": true, "basename": true, "readlink": true, "realpath": true, "head": true, "tail": true,
	"cat": true, "sed": true, "tr": true, "cut": true, "grep": true, "awk": true, "mkdir": true, "ls": true,
	"id": true, "which": true, "sort": true, "wc": true, "date": true, "tty": true, "stty": true, "true": true, "false": true,
	"rm": true, "cp": true, "mv": true, "ln": true, "touch": true, "chmod": true, "chown": true, "sleep": true, "test": true,
	"[": true, "printf": true, "echo": true, "kill": true, "mktemp": true, "find": true, "tee": true, "install": true,
}

// IsWrapper reports whether a program path names a wrapper: a shell, env
// and its kin, or a version manager's shim (a path with a shims/ or
// libexec/ directory of pyenv, rbenv, nodenv).
func IsWrapper(p string) bool {
	if wrappers[path.Base(p)] {
		return true
	}
	return strings.Contains(p, "/shims/") || strings.Contains(p, "env/libexec/")
}

// doers are the wrappers that may be the app themselves: a shell running a
// script, busybox being httpd. Such a wrapper is set aside only when it
// execs the app without making a process first; one that forks is doing
// the work, and it and its whole tree are the app.
var doers = map[string]bool{"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true, "mksh": true, "fish": true, "busybox": true}

// holdLimit bounds the events held while a wrapper's fate is open: a
// wrapper that makes this many calls before it execs or forks is the app.
const holdLimit = 4096

// AppFilter tells the app's events from its wrappers'. The app is what
// the traced command runs: a launcher (env, nice, timeout, sudo, a pyenv
// shim …) or a shell that execs the app without forking (sh -c 'exec
// app') is followed through its execs to the first program that is not a
// wrapper; that process and every process and thread it makes are the
// app, and the wrapper's events are set aside and counted. A shell or
// busybox that makes a process before it execs is the app, with its
// whole tree (bash script.sh, busybox httpd): its events are held until
// that is known, then given in order. A trace that does not start with
// an execve (an attached strace, a unikernel) is all app.
type AppFilter struct {
	// Only, when set, picks the app by program name (the base name of the
	// execve'd path) in a larger tree instead.
	Only string

	started  bool // the first syscall was seen
	active   bool // the trace starts with an execve: filter
	chosen   bool
	app      map[int]bool // processes and threads of the app
	parent   map[int]int
	setAside map[string]int
	progOf   map[int]string
	rootPID  int  // the process of the first execve
	shim     bool // a version manager's shim or script ran
	// held are the root wrapper's events while its fate is open (it may
	// exec the app, or fork and be the app), and heldProg its program.
	held     []trace.Event
	heldProg string
	rootAll  bool // the root wrapper is the app: every process is
}

// isShim: a version manager's shim or one of its scripts.
func isShim(p string) bool {
	switch path.Base(p) {
	case "pyenv", "pyenv-exec", "rbenv", "rbenv-exec", "nodenv", "nodenv-exec", "asdf", "mise":
		return true
	}
	return strings.Contains(p, "/shims/") || strings.Contains(p, "env/libexec/")
}

// NewAppFilter starts a filter; only picks the app by name ("" for the
// program the command finally execs).
func NewAppFilter(only string) *AppFilter {
	return &AppFilter{Only: only, app: map[int]bool{}, parent: map[int]int{}, setAside: map[string]int{}, progOf: map[int]string{}}
}

// Admit passes each event of the app to use, in order: ev itself, or,
// when ev settles that a held wrapper is the app, the held events first.
// ev is not kept; held events are copies, valid during use.
func (f *AppFilter) Admit(ev *trace.Event, use func(*trace.Event)) {
	if ev.Kind != trace.KindSyscall {
		use(ev)
		return
	}
	if f.rootAll {
		use(ev)
		return
	}
	keep, hold := f.decide(ev)
	switch {
	case hold:
		c := *ev
		c.Stack = append([]trace.Frame(nil), ev.Stack...)
		f.held = append(f.held, c)
		if len(f.held) >= holdLimit {
			f.rootIsApp()
			f.Flush(use)
		}
	case f.rootAll:
		f.Flush(use)
		use(ev)
	case keep:
		use(ev)
	}
}

// dropHeld sets the held events aside: the wrapper execed on.
func (f *AppFilter) dropHeld() {
	if len(f.held) > 0 {
		f.setAside[f.heldProg] += len(f.held)
	}
	f.held, f.heldProg = nil, ""
}

// Flush ends an open wrapper's fate at the end of the input: a wrapper
// that neither execed the app nor forked did the work (busybox true, sh
// -c 'echo x'), and its held events are the app's.
func (f *AppFilter) Flush(use func(*trace.Event)) {
	if len(f.held) == 0 {
		return
	}
	f.rootIsApp()
	for i := range f.held {
		use(&f.held[i])
	}
	f.held = nil
}

func (f *AppFilter) rootIsApp() {
	f.rootAll, f.chosen = true, true
	f.app[f.rootPID] = true
	if f.progOf[f.rootPID] == "" {
		f.progOf[f.rootPID] = f.heldProg
	}
}

// Keep reports whether ev is the app's, for a trace without doers (it
// holds nothing: a doer's events are set aside as a launcher's).
func (f *AppFilter) Keep(ev *trace.Event) bool {
	keep := false
	f.Admit(ev, func(e *trace.Event) { keep = keep || e == ev })
	return keep
}

// decide is the filter's verdict on one syscall: keep it, hold it (a
// doer's event while its fate is open), or set it aside.
func (f *AppFilter) decide(ev *trace.Event) (keep, hold bool) {
	if !f.started {
		f.started = true
		f.active = ev.Name == "execve" || ev.Name == "execveat"
	}
	if !f.active {
		return true, false
	}
	pid := ev.TID
	if pid == 0 {
		pid = ev.PID
	}
	if isCreate(ev) && ev.RetVal > 0 {
		f.parent[int(ev.RetVal)] = pid
		// A doer that makes a process or a thread before it execs the
		// app is the app (a shim's script forks its helpers: not so).
		if !f.chosen && pid == f.rootPID && f.heldProg != "" && !f.shim && f.Only == "" {
			f.rootIsApp()
			return true, false
		}
	}
	if (ev.Name == "execve" || ev.Name == "execveat") && ev.Status == trace.StatusOK {
		prog, _ := firstQuoted(ev.Args)
		if f.rootPID == 0 {
			f.rootPID = pid
		}
		f.progOf[pid] = path.Base(prog)
		if isShim(prog) {
			f.shim = true
		}
		// What the command's own process finally execs is the app unless
		// it is a wrapper; a utility a wrapper forks is a helper.
		doer := doers[path.Base(prog)] && !f.shim && f.Only == ""
		if !f.chosen && pid == f.rootPID && !doer {
			f.dropHeld() // the wrapper execs on: it was not the app
		}
		if !f.chosen && f.isApp(prog, pid == f.rootPID) {
			f.chosen = true
			f.app[pid] = true
			return true, false
		}
		if !f.chosen && pid == f.rootPID && doer {
			f.heldProg = path.Base(prog)
		}
	}
	if f.chosen && (f.inApp(pid) || f.inApp(ev.PID)) {
		return true, false
	}
	if !f.chosen && pid == f.rootPID && f.heldProg != "" {
		return false, true
	}
	name := f.progOf[pid]
	if name == "" {
		name = f.progOf[f.parent[pid]]
	}
	if name == "" {
		name = ev.Comm
	}
	if name == "" {
		name = "(a wrapper's child before its exec)"
	}
	f.setAside[name]++
	return false, false
}

func (f *AppFilter) isApp(prog string, root bool) bool {
	if f.Only != "" {
		return path.Base(prog) == f.Only
	}
	return !IsWrapper(prog) && (root || !f.shim || !helpers[path.Base(prog)])
}

func (f *AppFilter) inApp(pid int) bool {
	for i := 0; i < 64 && pid > 0; i++ {
		if f.app[pid] {
			return true
		}
		p, ok := f.parent[pid]
		if !ok {
			return false
		}
		pid = p
	}
	return false
}

// App is the base name of the program taken for the app ("" before one
// is, or when the trace does not start with an execve).
func (f *AppFilter) App() string {
	for pid := range f.app {
		return f.progOf[pid]
	}
	return ""
}

// SetAside counts the set-aside events by program.
func (f *AppFilter) SetAside() []NameCount { return sortedCounts(f.setAside) }

// isCreate: a call that makes a process or a thread.
func isCreate(ev *trace.Event) bool {
	switch ev.Name {
	case "clone", "clone3", "fork", "vfork":
		return true
	}
	return false
}

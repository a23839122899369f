package analyze

import (
	"strings"

	"github.com/syscov/syscov/trace"
)

// families map syscalls that do the same job under names that differ
// between libcs and architectures to one family name, for alignment.
var families = map[string]string{
	"open": "open", "openat": "open", "openat2": "open", "creat": "open",
	"stat": "stat", "lstat": "stat", "fstat": "stat", "newfstatat": "stat", "statx": "stat", "fstatat64": "stat",
	"getdents": "getdents", "getdents64": "getdents",
	"select": "poll", "pselect6": "poll", "poll": "poll", "ppoll": "poll", "epoll_wait": "poll", "epoll_pwait": "poll", "epoll_pwait2": "poll",
	"dup2": "dup2", "dup3": "dup2",
	"pipe": "pipe", "pipe2": "pipe",
	"accept": "accept", "accept4": "accept",
	"fork": "fork", "vfork": "fork",
	"epoll_create": "epoll_create", "epoll_create1": "epoll_create",
	"eventfd": "eventfd", "eventfd2": "eventfd",
	"signalfd": "signalfd", "signalfd4": "signalfd",
	"inotify_init": "inotify_init", "inotify_init1": "inotify_init",
	"access": "access", "faccessat": "access", "faccessat2": "access",
	"readlink": "readlink", "readlinkat": "readlink",
	"rename": "rename", "renameat": "rename", "renameat2": "rename",
	"unlink": "unlink", "unlinkat": "unlink", "rmdir": "unlink",
	"mkdir": "mkdir", "mkdirat": "mkdir",
	"wait4": "wait", "waitid": "wait",
	"getrlimit": "prlimit", "setrlimit": "prlimit", "prlimit64": "prlimit",
	"chmod": "chmod", "fchmodat": "chmod",
	"chown": "chown", "lchown": "chown", "fchownat": "chown",
}

// Family returns the family of a syscall name (the name itself when it
// has none).
func Family(name string) string {
	if f, ok := families[name]; ok {
		return f
	}
	return name
}

// startupNoise are the loader's and libc's start-up calls that differ
// between a native run and a unikernel one without saying anything about
// the app: set aside by default before aligning (adjustable with --ignore).
var startupNoise = map[string]bool{
	"arch_prctl": true, "set_tid_address": true, "set_robust_list": true, "rseq": true, "brk": true,
	"prlimit64": true, "execve": true, "access": true, "getrandom": true, "mprotect": true, "munmap": true,
}

// DefaultIgnore lists the start-up noise set aside by default.
func DefaultIgnore() []string {
	var out []string
	for n := range startupNoise {
		out = append(out, n)
	}
	return out
}

// vdsoCalls never reach the kernel natively (the vDSO answers them), so
// strace does not show them, while a unikernel may log them.
var vdsoCalls = map[string]bool{"clock_gettime": true, "gettimeofday": true, "time": true, "getcpu": true, "clock_getres": true}

// multiUser are the calls that change the process's users and groups: a
// unikernel has one user (Unikraft's posix-user allows only its
// configured uid and gid), so a server that drops privileges to another
// user lacks multi-user support, not a syscall.
var multiUser = map[string]bool{"setuid": true, "setgid": true, "setgroups": true, "setresuid": true, "setresgid": true,
	"setreuid": true, "setregid": true, "setfsuid": true, "setfsgid": true, "capset": true}

// IsVDSO reports whether a syscall is answered by the vDSO natively.
func IsVDSO(name string) bool { return vdsoCalls[name] }

// IsForkLike reports whether a syscall event creates a new process (an
// address space of its own): fork, vfork, and clone/clone3 without
// CLONE_VM (glibc's fork() is clone(… SIGCHLD …)).
// A clone whose flags are unknown (the unikernel shim prints clone3's
// argument as a pointer) counts as fork-like: the stricter reading.
func IsForkLike(ev *trace.Event) bool {
	switch ev.Name {
	case "fork", "vfork":
		return true
	case "clone", "clone3":
		flags, ok := cloneFlags(ev)
		return !ok || flags&(trace.CloneVM|trace.CloneThread) == 0
	}
	return false
}

// IsThreadCreate reports whether a clone makes a thread.
func IsThreadCreate(ev *trace.Event) bool {
	if ev.Name != "clone" && ev.Name != "clone3" {
		return false
	}
	flags, ok := cloneFlags(ev)
	return ok && flags&trace.CloneThread != 0
}

// cloneFlags are the flags of a clone event: the number its reader or
// the tracer set, or, for an event made up of a name and text (a diff
// verdict), the text read once here.
func cloneFlags(ev *trace.Event) (uint64, bool) {
	if ev.HasCloneFlags {
		return ev.CloneFlags, true
	}
	return trace.ParseCloneFlags(ev.Name, ev.Args)
}

// Class names what a syscall event is used for, when that matters to a
// unikernel: the uses that Unikraft supports only in part.
func Class(ev *trace.Event) string {
	switch {
	case IsForkLike(ev):
		return forkClass(ev)
	case IsThreadCreate(ev):
		return "thread"
	case ev.Name == "socket" && strings.HasPrefix(strings.TrimSpace(ev.Args), "AF_"):
		return trace.Arg(ev.Args, 0) + " socket"
	case ev.Name == "mmap" && strings.Contains(ev.Args, "MAP_SHARED") && strings.Contains(ev.Args, "PROT_WRITE"):
		return "writable MAP_SHARED mmap"
	case ev.Name == "ioctl":
		return "ioctl " + trace.Arg(ev.Args, 1)
	case ev.Name == "fcntl":
		return "fcntl " + trace.Arg(ev.Args, 1)
	case multiUser[ev.Name]:
		return "multi-user (" + ev.Name + ")"
	case startupNoise[ev.Name]:
		return "start-up"
	case vdsoCalls[ev.Name]:
		return "vDSO"
	}
	return Family(ev.Name)
}

// NotSupported reports whether an errno means "this system does not
// support that": a verdict about the unikernel, not an ordinary failure.
func NotSupported(errno string) bool { return trace.IsNotSupported(errno) }

// forkClass names a fork-like call by what its stack says it is for: a
// background save only where a frame says so, else the app function that
// forks, else just "fork".
func forkClass(ev *trace.Event) string {
	for _, f := range ev.Stack {
		l := strings.ToLower(f.Func)
		if strings.Contains(l, "background") || strings.Contains(l, "bgsave") {
			return "fork (background save, " + f.Func + ")"
		}
	}
	if f := appFrame(ev); f != nil && f.Func != "" {
		return "fork (" + f.Func + ")"
	}
	return "fork"
}

// stopClock knows when syscov sent its stop signal, from the marker in
// the trace: a call is part of the shutdown when it started after that
// moment. (Calls recorded after the marker that started before it, their
// exit seen late on a busy host, are the app's work.) Without times, the
// order of the trace decides.
type stopClock struct {
	sent bool
	at   int64
}

func (c *stopClock) mark(ev *trace.Event) { c.sent, c.at = true, ev.Time }

func (c *stopClock) after(ev *trace.Event) bool {
	if !c.sent {
		return false
	}
	if c.at == trace.NoTime || ev.Time == trace.NoTime {
		return true
	}
	return ev.Time >= c.at
}

package trace

import (
	"strconv"
	"strings"
)

// Clone flags (linux/sched.h; the same on every architecture). The low
// byte of clone(2)'s flags is the signal sent to the parent at exit.
const (
	CloneVM     = 0x100
	CloneVfork  = 0x4000
	CloneThread = 0x10000
)

// CloneFlagNames are the clone flags by value, in strace's order.
var CloneFlagNames = []struct {
	Value uint64
	Name  string
}{
	{0x100, "CLONE_VM"}, {0x200, "CLONE_FS"}, {0x400, "CLONE_FILES"}, {0x800, "CLONE_SIGHAND"},
	{0x1000, "CLONE_PIDFD"}, {0x2000, "CLONE_PTRACE"}, {0x4000, "CLONE_VFORK"}, {0x8000, "CLONE_PARENT"},
	{0x10000, "CLONE_THREAD"}, {0x20000, "CLONE_NEWNS"}, {0x40000, "CLONE_SYSVSEM"}, {0x80000, "CLONE_SETTLS"},
	{0x100000, "CLONE_PARENT_SETTID"}, {0x200000, "CLONE_CHILD_CLEARTID"}, {0x400000, "CLONE_DETACHED"},
	{0x800000, "CLONE_UNTRACED"}, {0x1000000, "CLONE_CHILD_SETTID"}, {0x2000000, "CLONE_NEWCGROUP"},
	{0x4000000, "CLONE_NEWUTS"}, {0x8000000, "CLONE_NEWIPC"}, {0x10000000, "CLONE_NEWUSER"},
	{0x20000000, "CLONE_NEWPID"}, {0x40000000, "CLONE_NEWNET"}, {0x80000000, "CLONE_IO"},
}

// ParseCloneFlags reads the flags of a clone or clone3 call from its
// argument text, once, as the readers do: strace's "flags=CLONE_VM|…|
// SIGCHLD" (clone) or "{flags=…, exit_signal=SIGCHLD, …}" (clone3), or a
// clone whose first argument is a number (a shim that does not decode).
// ok is false when the text does not say (clone3's undecoded pointer).
func ParseCloneFlags(name, args string) (flags uint64, ok bool) {
	text := ""
	if i := strings.Index(args, "flags="); i >= 0 {
		text = args[i+len("flags="):]
		if j := strings.IndexAny(text, ",}"); j >= 0 {
			text = text[:j]
		}
	} else if name == "clone" {
		text = Arg(args, 0)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return 0, false
	}
	for _, word := range strings.Split(text, "|") {
		word = strings.TrimSpace(word)
		if v, err := strconv.ParseUint(word, 0, 64); err == nil {
			flags |= v
			continue
		}
		found := false
		for _, n := range CloneFlagNames {
			if n.Name == word {
				flags |= n.Value
				found = true
				break
			}
		}
		if !found {
			sig, known := signalNumbers[word]
			if !known {
				return 0, false
			}
			flags |= uint64(sig)
		}
	}
	if name == "clone3" {
		// clone3's exit signal is a field of its own; flags has none.
		if i := strings.Index(args, "exit_signal="); i >= 0 {
			s := args[i+len("exit_signal="):]
			if j := strings.IndexAny(s, ",}"); j >= 0 {
				s = s[:j]
			}
			if sig, known := signalNumbers[strings.TrimSpace(s)]; known {
				flags |= uint64(sig)
			}
		}
	}
	return flags, true
}

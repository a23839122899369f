package trace

import (
	"bytes"
	"os"
	"strconv"
)

// ThreadGroup returns the process (thread group id) of a live thread, read
// from /proc/TID/status; a thread that is gone keeps its own id. Tracers
// use it because ptrace and strace name threads by their tid.
func ThreadGroup(tid int) int {
	g, _ := LookupThreadGroup(tid)
	return g
}

// LookupThreadGroup is ThreadGroup that says whether /proc answered: a
// thread that is gone, or a ptraced thread that exited and waits to be
// reaped, has no status to read.
func LookupThreadGroup(tid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return tid, false
	}
	if i := bytes.Index(b, []byte("\nTgid:")); i >= 0 {
		line := b[i+6:]
		if j := bytes.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		if n, err := strconv.Atoi(string(bytes.TrimSpace(line))); err == nil {
			return n, true
		}
	}
	return tid, false
}

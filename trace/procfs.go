package trace

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"sync"
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

// ParentPID returns a process's parent, from /proc/PID/stat (0 when the
// process is gone). The command name in that line may hold spaces and
// parentheses: the fields are read after its last ')'.
func ParentPID(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(string(f[1]))
	return p
}

// ReserveThreads makes the Go runtime start n OS threads now and keep
// them idle: a traced fork bomb under a pid limit (a cgroup's pids.max,
// shared with syscov) leaves no room for a thread later, and a runtime
// that cannot start one aborts (pthread_create failed), leaving the app
// and its processes behind. Idle threads are reused, never given back.
func ReserveThreads(n int) {
	var locked, release sync.WaitGroup
	locked.Add(n)
	release.Add(1)
	var done sync.WaitGroup
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer done.Done()
			runtime.LockOSThread() // a thread of its own
			locked.Done()
			release.Wait()
			runtime.UnlockOSThread() // back to the idle pool, kept
		}()
	}
	locked.Wait()
	release.Done()
	done.Wait()
}

package native

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/ebpf"
	"github.com/syscov/syscov/trace/guard"
	"github.com/syscov/syscov/trace/ptrace"
)

func TestMain(m *testing.M) {
	guard.RunIfRequested()
	ptrace.RunHelperIfRequested()
	os.Exit(m.Run())
}

func need(t *testing.T, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s is not installed (apt-get install it; .ci/run does)", b)
		}
	}
}

// needBackend skips when a backend's real component is absent: the
// strace binary, or a kernel (BTF, BPF) and privileges that load syscov's
// eBPF program.
func needBackend(t *testing.T, b Backend) {
	t.Helper()
	switch b {
	case BackendStrace:
		need(t, "strace")
	case BackendEBPF:
		if err := ebpf.Check(); err != nil {
			t.Skipf("the eBPF backend cannot run here: %v", err)
		}
	}
}

func buildSysmix(t *testing.T) string {
	t.Helper()
	need(t, "gcc")
	out := filepath.Join(t.TempDir(), "sysmix")
	if b, err := exec.Command("gcc", "-O1", "-pthread", "-o", out, "../../fixtures/src/sysmix.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

// record runs cfg and returns copies of its events.
func record(t *testing.T, ctx context.Context, cfg Config) ([]trace.Event, *Result) {
	t.Helper()
	var mu sync.Mutex
	var evs []trace.Event
	cfg.OnEvent = func(ev *trace.Event) {
		mu.Lock()
		evs = append(evs, ev.Clone())
		mu.Unlock()
	}
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("%s backend: %v", cfg.Backend, err)
	}
	return evs, res
}

// roles names each task by the order it appeared in and its relation to
// the first process, so that two runs with different pids compare:
// "main", "main/thread1", "child1", "child1/thread1", ...
func roles(evs []trace.Event) map[[2]int]string {
	out := map[[2]int]string{}
	procs := map[int]string{}
	threads := map[int]int{}
	for _, ev := range evs {
		key := [2]int{ev.PID, ev.TID}
		if _, ok := out[key]; ok {
			continue
		}
		p, ok := procs[ev.PID]
		if !ok {
			if len(procs) == 0 {
				p = "main"
			} else {
				p = fmt.Sprintf("child%d", len(procs))
			}
			procs[ev.PID] = p
		}
		if ev.TID == ev.PID || ev.TID == 0 {
			out[key] = p
		} else {
			threads[ev.PID]++
			out[key] = fmt.Sprintf("%s/thread%d", p, threads[ev.PID])
		}
	}
	return out
}

// sequences are the syscall names of each role in order. futex is left
// out: whether pthread_join waits on it depends on whether the thread has
// already ended, which is up to the scheduler, not to the tracer.
func sequences(evs []trace.Event) map[string][]string {
	r := roles(evs)
	out := map[string][]string{}
	for _, ev := range evs {
		if ev.Kind == trace.KindSyscall && ev.Name != "futex" {
			role := r[[2]int{ev.PID, ev.TID}]
			result := ev.Errno
			if result == "" {
				result = string(ev.Status)
			}
			out[role] = append(out[role], ev.Name+"="+result)
		}
	}
	return out
}

func TestSysmixBothBackends(t *testing.T) {
	bin := buildSysmix(t)
	dir := t.TempDir()
	for _, f := range []string{"a", "b"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	env := append(os.Environ(), "SYSMIX_EXEC=/bin/true")
	// Every backend's trace has the same calls, in the same order, with the
	// same results (ok or the errno), for every process and thread.
	seqs := map[Backend]map[string][]string{}
	for _, backend := range []Backend{BackendPtrace, BackendStrace, BackendEBPF} {
		t.Run(string(backend), func(t *testing.T) {
			needBackend(t, backend)
			evs, res := record(t, context.Background(), Config{Backend: backend, Argv: []string{bin, dir}, Env: env})
			if res.ExitCode != 0 || res.Signal != "" {
				t.Fatalf("exit %d %s", res.ExitCode, res.Signal)
			}
			checkSysmix(t, evs)
			seqs[backend] = sequences(evs)
			if base, ok := seqs[BackendPtrace]; ok && backend != BackendPtrace {
				for role, a := range base {
					if b := seqs[backend][role]; !reflect.DeepEqual(a, b) {
						t.Errorf("%s differs:\nptrace %v\n%s %v", role, a, backend, b)
					}
				}
				for role := range seqs[backend] {
					if _, ok := base[role]; !ok {
						t.Errorf("%s only under %s", role, backend)
					}
				}
			}
		})
	}
}

// checkSysmix asserts what sysmix.c does is in the trace.
func checkSysmix(t *testing.T, evs []trace.Event) {
	t.Helper()
	main := evs[0].PID
	var forkChild, thread int
	seen := map[string]bool{}
	for _, ev := range evs {
		switch {
		case ev.Kind == trace.KindSyscall && ev.Name == "getdents64" && ev.RetVal > 0:
			seen["getdents64"] = true
		case ev.Kind == trace.KindSyscall && ev.Name == "openat" && ev.Errno == "ENOENT" && strings.Contains(ev.Args, "/nonexistent/syscov-sysmix"):
			seen["enoent"] = true
		case ev.Kind == trace.KindSyscall && ev.Name == "clone" && strings.Contains(ev.Args, "SIGCHLD") && !strings.Contains(ev.Args, "CLONE_VM"):
			forkChild = int(ev.RetVal)
		case ev.Kind == trace.KindSyscall && ev.Name == "clone3" && strings.Contains(ev.Args, "CLONE_THREAD"):
			thread = int(ev.RetVal)
		case ev.Kind == trace.KindSignal && ev.Signal == "SIGUSR1" && ev.PID == main:
			seen["sigusr1"] = true
		case ev.Kind == trace.KindSyscall && ev.Name == "wait4" && ev.PID == main:
			seen["wait4"] = true
		}
	}
	if forkChild == 0 || thread == 0 {
		t.Fatalf("fork child %d, thread %d", forkChild, thread)
	}
	for _, ev := range evs {
		switch {
		case ev.TID == thread && ev.Name == "getppid":
			if ev.PID != main {
				t.Errorf("thread %d has pid %d, want %d", thread, ev.PID, main)
			}
			seen["thread getppid"] = true
		case ev.PID == forkChild && ev.Name == "execve" && strings.Contains(ev.Args, "/bin/true") && ev.Status == trace.StatusOK:
			seen["child execve"] = true
		case ev.PID == forkChild && ev.Kind == trace.KindExit:
			seen["child exit"] = true
		case ev.PID == main && ev.TID == main && ev.Kind == trace.KindExit && ev.ExitCode == 0:
			seen["main exit"] = true
		}
	}
	for _, want := range []string{"getdents64", "enoent", "sigusr1", "wait4", "thread getppid", "child execve", "child exit", "main exit"} {
		if !seen[want] {
			t.Errorf("no %s in the trace", want)
		}
	}
}

func TestRedisBgsave(t *testing.T) {
	need(t, "redis-server", "redis-cli")
	for _, backend := range []Backend{BackendPtrace, BackendStrace, BackendEBPF} {
		t.Run(string(backend), func(t *testing.T) {
			needBackend(t, backend)
			dir := t.TempDir()
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
			l.Close()
			evs, res := record(t, context.Background(), Config{
				Backend: backend, Argv: []string{"redis-server", "--port", port, "--save", "", "--dir", dir},
				Ready: "tcp:" + port, Workload: "redis-cli -p " + port + " bgsave && sleep 1", Stacks: true,
				// eBPF records every call; ptrace stops only at these for their stacks.
				StackSyscalls: []string{"clone", "clone3", "fork", "vfork"},
			})
			if res.Backend != backend {
				t.Errorf("recorded by %s, want %s", res.Backend, backend)
			}
			if res.WorkloadErr != nil {
				t.Fatal(res.WorkloadErr)
			}
			if !res.Stopped {
				t.Error("syscov did not stop the app")
			}
			var child int
			for _, ev := range evs {
				if ev.Kind == trace.KindSyscall && ev.Name == "clone" && strings.Contains(ev.Args, "SIGCHLD") && !strings.Contains(ev.Args, "CLONE_VM") {
					child = int(ev.RetVal)
					// Who forks: Redis' background save, through libc's fork.
					found := false
					for _, f := range ev.Stack {
						found = found || f.Func == "rdbSaveBackground"
					}
					if !found {
						t.Errorf("the fork clone's stack has no rdbSaveBackground frame: %v", ev.Stack)
					}
				}
			}
			if child == 0 {
				t.Fatal("no fork-like clone for the BGSAVE")
			}
			renamed, threads := false, map[int]bool{}
			for _, ev := range evs {
				if ev.PID == child && ev.Name == "rename" && strings.Contains(ev.Args, "dump.rdb") && ev.Status == trace.StatusOK {
					renamed = true
				}
				if ev.TID != ev.PID && ev.PID == evs[0].PID {
					threads[ev.TID] = true
				}
			}
			if !renamed {
				t.Error("the BGSAVE child did not rename its RDB file in the trace")
			}
			if len(threads) < 3 {
				t.Errorf("%d server threads, want redis' bio threads", len(threads))
			}
		})
	}
}

func TestFilterSubset(t *testing.T) {
	bin := buildSysmix(t)
	want := []string{"clone", "clone3", "getdents64", "openat"}
	evs, _ := record(t, context.Background(), Config{Argv: []string{bin, "/etc"}, Trace: want})
	got := map[string]int{}
	for _, ev := range evs {
		if ev.Kind == trace.KindSyscall {
			got[ev.Name]++
		}
	}
	for name := range got {
		if !contains(want, name) {
			t.Errorf("%s traced, not in the filter", name)
		}
	}
	for _, name := range want {
		if got[name] == 0 {
			t.Errorf("%s not traced", name)
		}
	}
	checkDone := false
	for _, ev := range evs {
		if ev.Name == "openat" && ev.Errno == "ENOENT" {
			checkDone = true
		}
	}
	if !checkDone {
		t.Error("the failing openat is missing under the filter")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestExitStatus(t *testing.T) {
	for _, backend := range []Backend{BackendPtrace, BackendStrace, BackendEBPF} {
		t.Run(string(backend), func(t *testing.T) {
			needBackend(t, backend)
			_, res := record(t, context.Background(), Config{Backend: backend, Argv: []string{"/bin/sh", "-c", "exit 3"}})
			if res.ExitCode != 3 || res.Signal != "" {
				t.Errorf("exit 3: got %d %q", res.ExitCode, res.Signal)
			}
			_, res = record(t, context.Background(), Config{Backend: backend, Argv: []string{"/bin/sh", "-c", "kill -SEGV $$"}})
			if res.ExitCode != 128+11 || res.Signal != "SIGSEGV" {
				t.Errorf("SIGSEGV: got %d %q", res.ExitCode, res.Signal)
			}
		})
	}
}

func TestCommandNotFound(t *testing.T) {
	_, err := Run(context.Background(), Config{Argv: []string{"/nonexistent/syscov-no-such-program"}})
	if err == nil || !strings.Contains(err.Error(), "did not start") {
		t.Errorf("err = %v", err)
	}
}

// TestTimeoutLeavesNothingBehind: a run that the context ends kills the
// whole traced tree, grandchildren included.
func TestTimeoutLeavesNothingBehind(t *testing.T) {
	for _, backend := range []Backend{BackendPtrace, BackendStrace, BackendEBPF} {
		t.Run(string(backend), func(t *testing.T) {
			needBackend(t, backend)
			ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
			defer cancel()
			evs, res := record(t, ctx, Config{Backend: backend, Argv: []string{"/bin/sh", "-c", "sleep 100 & sleep 100 & wait"}})
			if !res.Canceled {
				t.Error("run not marked canceled")
			}
			var pids []int
			for _, ev := range evs {
				if ev.Kind == trace.KindSyscall && (ev.Name == "clone" || ev.Name == "fork" || ev.Name == "vfork") && ev.RetVal > 0 {
					pids = append(pids, int(ev.RetVal))
				}
			}
			if len(pids) < 2 {
				t.Fatalf("the two sleeps were not started: %v", pids)
			}
			time.Sleep(100 * time.Millisecond)
			for _, p := range append(pids, evs[0].PID) {
				if err := syscall.Kill(p, 0); err == nil {
					b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
					if !strings.Contains(string(b), ") Z ") {
						t.Errorf("pid %d is still alive: %s", p, b)
					}
				}
			}
		})
	}
}

// TestStacksAtTheEnd: with stacks, a short run's last events get theirs
// too (the eBPF backend pairs each with the stack ptrace recorded; the
// events still waiting when the run ends must not go without).
func TestStacksAtTheEnd(t *testing.T) {
	bin := buildSysmix(t)
	for _, backend := range []Backend{BackendPtrace, BackendEBPF} {
		t.Run(string(backend), func(t *testing.T) {
			needBackend(t, backend)
			want := []string{"getdents64", "clone", "clone3", "wait4"}
			evs, res := record(t, context.Background(), Config{Backend: backend, Argv: []string{bin, "/etc"}, Env: append(os.Environ(), "SYSMIX_EXEC=/bin/true"),
				Stacks: true, StackSyscalls: want})
			if res.Backend != backend {
				t.Fatalf("recorded by %s", res.Backend)
			}
			n := 0
			for _, ev := range evs {
				if ev.Kind == trace.KindSyscall && contains(want, ev.Name) {
					n++
					if len(ev.Stack) == 0 {
						t.Errorf("%s of tid %d has no stack", ev.Name, ev.TID)
					}
				}
			}
			if n < 4 {
				t.Errorf("%d calls of %v, want sysmix's getdents64, fork, thread and wait4", n, want)
			}
		})
	}
}

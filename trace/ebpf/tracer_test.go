//go:build amd64

package ebpf

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/guard"
	"github.com/syscov/syscov/trace/internal/argtest"
	"github.com/syscov/syscov/trace/ptrace"
)

func TestMain(m *testing.M) {
	guard.RunIfRequested() // the traced command runs under syscov's guard: this binary
	os.Exit(m.Run())
}

// needEBPF skips when the backend cannot run on this host (no BTF, not
// root), saying why.
func needEBPF(t testing.TB) {
	t.Helper()
	if err := Check(); err != nil {
		t.Skipf("the eBPF backend cannot run here: %v", err)
	}
}

func build(t *testing.T, src string, flags ...string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc is not installed (apt-get install it; .ci/run does)")
	}
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(src), ".c"))
	args := append(append([]string{"-O1", "-o", out}, flags...), src)
	if b, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

func traceAll(t testing.TB, argv []string, opts Options) ([]trace.Event, Result) {
	t.Helper()
	var evs []trace.Event
	opts.OnEvent = func(ev *trace.Event) { evs = append(evs, ev.Clone()) }
	tr, err := Start(argv, opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return evs, res
}

func count(evs []trace.Event, name string) int {
	n := 0
	for _, ev := range evs {
		if ev.Kind == trace.KindSyscall && ev.Name == name {
			n++
		}
	}
	return n
}

// TestCountExact: the trace of a getppid loop holds exactly the calls the
// loop made, in time order, and the header's count of lost events is 0.
func TestCountExact(t *testing.T) {
	needEBPF(t)
	loop := build(t, "../../bench/src/getppid_loop.c")
	const n = 300000
	evs, res := traceAll(t, []string{loop, strconv.Itoa(n)}, Options{})
	if got := count(evs, "getppid"); got != n || res.LostTotal() != 0 {
		t.Errorf("%d getppid in the trace, %d lost; the loop made %d", got, res.LostTotal(), n)
	}
	if res.ExitCode != 0 || res.Events != len(evs) {
		t.Errorf("exit %d, %d events counted, %d seen", res.ExitCode, res.Events, len(evs))
	}
	if evs[0].Name != "execve" || !strings.HasPrefix(evs[0].Args, strconv.Quote(loop)) {
		t.Errorf("the trace starts with %s(%s), not the command's execve", evs[0].Name, evs[0].Args)
	}
	for i := 1; i < len(evs); i++ {
		if end, prev := evs[i].Time+int64(max(evs[i].Duration, 0)), evs[i-1].Time+int64(max(evs[i-1].Duration, 0)); end < prev {
			t.Fatalf("event %d ends at %d, before event %d (%d)", i, end, i-1, prev)
		}
	}
}

// TestLostCounted: a ring buffer too small for a busy app loses records,
// and every lost one is counted: what the trace holds plus what was lost
// is what the app made.
func TestLostCounted(t *testing.T) {
	needEBPF(t)
	loop := build(t, "../../bench/src/getppid_loop.c")
	const n = 400000
	evs, res := traceAll(t, []string{loop, strconv.Itoa(n)}, Options{RingBuffer: 64 << 10})
	got := count(evs, "getppid")
	if got > n || uint64(got)+res.LostTotal() < n {
		t.Errorf("%d getppid in the trace and %d records lost (per CPU %v); the loop made %d", got, res.LostTotal(), res.Lost, n)
	}
	t.Logf("64 KiB ring: %d of %d calls traced, %d records lost (per CPU %v)", got, n, res.LostTotal(), res.Lost)
}

// TestThreadsAndExec: every thread's calls, each under its own tid and
// the process's pid, and an execve from a thread that is not the leader:
// the kernel gives it the leader's pid, and the program it runs is
// traced under that pid.
func TestThreadsAndExec(t *testing.T) {
	needEBPF(t)
	bin := build(t, "../../fixtures/src/threadexec.c", "-pthread")
	const threads, calls = 8, 2000
	evs, res := traceAll(t, []string{bin, strconv.Itoa(threads), strconv.Itoa(calls), "/bin/true"}, Options{})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d %s", res.ExitCode, res.Signal)
	}
	main := evs[0].PID
	perThread := map[int]int{}
	var execTID int
	superseded, trueExit := false, false
	for _, ev := range evs {
		if ev.PID != main {
			t.Errorf("%s of pid %d, not of the one process %d", ev.Name, ev.PID, main)
		}
		switch {
		case ev.Kind == trace.KindSyscall && ev.Name == "getppid":
			perThread[ev.TID]++
		case ev.Kind == trace.KindSyscall && ev.Name == "execve" && strings.Contains(ev.Args, `"/bin/true"`):
			if ev.Status == trace.StatusOK {
				execTID = ev.TID
			}
		case ev.Kind == trace.KindExit && strings.HasPrefix(ev.Text, "superseded by execve"):
			superseded = true
		case ev.Kind == trace.KindSyscall && ev.Name == "exit_group" && ev.TID == main && ev.Comm == "true":
			trueExit = true
		}
	}
	if len(perThread) != threads {
		t.Errorf("getppid from %d threads, want %d", len(perThread), threads)
	}
	for tid, n := range perThread {
		if n != calls || tid == main {
			t.Errorf("thread %d: %d getppid, want %d (from a thread, not the leader)", tid, n, calls)
		}
	}
	if execTID != main || !superseded || !trueExit {
		t.Errorf("execve from a thread: it returned in tid %d (want the leader %d), superseded exit %v, /bin/true's exit_group %v",
			execTID, main, superseded, trueExit)
	}
}

// TestArgumentsAsPtrace: the arguments the analysis reads (paths,
// flags, socket addresses, clone flags, execve's argv) are written the
// same by the eBPF backend, from what its program copied at the call, as
// by the ptrace backend, which reads the tracee's memory.
func TestArgumentsAsPtrace(t *testing.T) {
	needEBPF(t)
	argmix := build(t, "../../fixtures/src/argmix.c")
	sysmix := build(t, "../../fixtures/src/sysmix.c", "-pthread")
	dir := t.TempDir()
	for _, argv := range [][]string{{argmix}, {sysmix, dir}} {
		ours, _ := traceAll(t, argv, Options{Env: append(os.Environ(), "SYSMIX_EXEC=/bin/true")})
		var theirs []trace.Event
		pt, err := ptrace.Start(argv, ptrace.Options{Env: append(os.Environ(), "SYSMIX_EXEC=/bin/true"),
			OnEvent: func(ev *trace.Event) { theirs = append(theirs, ev.Clone()) }})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pt.Wait(); err != nil {
			t.Fatal(err)
		}
		got, want := argTexts(ours), argTexts(theirs)
		compared := 0
		for key, w := range want {
			g, ok := got[key]
			if !ok {
				t.Errorf("%s %s: not in the eBPF trace", filepath.Base(argv[0]), key)
				continue
			}
			compared++
			if strings.Join(g, " ") != strings.Join(w, " ") {
				t.Errorf("%s %s: eBPF %q, ptrace %q", filepath.Base(argv[0]), key, g, w)
			}
		}
		if compared < 12 {
			t.Errorf("%s: only %d arguments compared", filepath.Base(argv[0]), compared)
		}
		t.Logf("%s: %d arguments agree with the ptrace backend", filepath.Base(argv[0]), compared)
	}
}

// argTexts collects, per "syscall#position" of an argument read from
// memory or decoded from flags, the sorted set of its texts (pointers
// and numbers that differ from run to run are left out; so is futex,
// whose calls depend on the scheduler).
func argTexts(evs []trace.Event) map[string][]string {
	return argtest.Texts(evs, map[string]bool{"path": true, "open": true, "domain": true, "socktype": true, "prot": true,
		"mapflags": true, "sockaddr": true, "clone": true, "clone3": true, "argv": true, "atflags": true, "signal": true}, nil)
}

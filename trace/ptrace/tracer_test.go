package ptrace

import (
	"debug/elf"
	"io"
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
)

func TestMain(m *testing.M) {
	RunHelperIfRequested()
	os.Exit(m.Run())
}

// buildSysmix compiles fixtures/src/sysmix.c with the real gcc.
func buildSysmix(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc is not installed: cannot build the test program")
	}
	out := filepath.Join(t.TempDir(), "sysmix")
	cmd := exec.Command("gcc", "-O1", "-pthread", "-o", out, "../../fixtures/src/sysmix.c")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

func traceAll(t *testing.T, argv []string, opts Options) ([]trace.Event, Result) {
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

// TestStacks: with Stacks, getdents64 (a raw syscall() from sysmix's
// main) has its libc wrapper and main as frames, symbolised from the ELF
// symbol tables.
func TestStacks(t *testing.T) {
	bin := buildSysmix(t)
	evs, res := traceAll(t, []string{bin, "/etc"}, Options{Stacks: true})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d", res.ExitCode)
	}
	for _, ev := range evs {
		if ev.Name != "getdents64" {
			continue
		}
		var funcs []string
		for _, f := range ev.Stack {
			funcs = append(funcs, filepath.Base(f.Object)+":"+f.Func)
		}
		// libc is stripped: with its debug file (Debian's libc6-dbg) its
		// frames are named, without it they stay libc.so.6+offset — never
		// the nearest exported symbol (strace -k says __libc_init_first).
		want := []string{"libc.so.6:syscall", "sysmix:main", "libc.so.6:", "libc.so.6:", "sysmix:_start"}
		if libcDebugFile(ev.Stack) {
			want[2], want[3] = "libc.so.6:__libc_start_call_main", "libc.so.6:__libc_start_main_impl"
		}
		if !reflect.DeepEqual(funcs, want) {
			t.Errorf("getdents64 stack %v, want %v", funcs, want)
		}
		return
	}
	t.Fatal("no getdents64")
}

func TestSeccompActionsRoundTrip(t *testing.T) {
	in := map[int]Action{0: {Trace: true}, 56: {Trace: true}, 110: {Errno: 38}}
	enc := encodeActions(in)
	if enc != "0:t,110:e38,56:t" {
		t.Errorf("encoded %q", enc)
	}
	out, err := decodeActions(enc)
	if err != nil || len(out) != 3 || out[110].Errno != 38 || !out[56].Trace {
		t.Errorf("decoded %v, %v", out, err)
	}
	for _, bad := range []string{"x:t", "1:q", "1:e0", "1"} {
		if _, err := decodeActions(bad); err == nil {
			t.Errorf("decodeActions(%q) accepted", bad)
		}
	}
	// A small set and one larger than a conditional jump can span (the
	// calls check stops at for their stacks): every syscall number gets
	// its action, every other one is allowed, and so is another ABI.
	big := map[int]Action{}
	for nr := 0; nr < 400; nr += 1 + nr%2 {
		big[nr] = Action{Trace: true}
	}
	big[7], big[301] = Action{Errno: 1}, Action{Errno: 38}
	for _, set := range []map[int]Action{in, big} {
		prog, err := buildFilter(set)
		if err != nil {
			t.Fatal(err)
		}
		for nr := 0; nr < 512; nr++ {
			want := uint32(seccompRetAllow)
			if a, ok := set[nr]; ok {
				want = actionRet(a)
			}
			if got := runFilter(t, prog, auditArch, nr); got != want {
				t.Errorf("%d actions: syscall %d returns %#x, want %#x", len(set), nr, got, want)
			}
		}
		if got := runFilter(t, prog, 0x40000003, 0); got != seccompRetAllow {
			t.Errorf("another ABI returns %#x", got)
		}
	}
}

// runFilter runs a classic BPF seccomp program on (arch, nr), as the
// kernel would for the instructions buildFilter uses.
func runFilter(t *testing.T, prog []sockFilter, arch uint32, nr int) uint32 {
	t.Helper()
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case bpfLdWAbs:
			switch in.K {
			case 0:
				acc = uint32(nr)
			case 4:
				acc = arch
			default:
				t.Fatalf("load of offset %d", in.K)
			}
		case bpfJeqK:
			if acc == in.K {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case bpfJa:
			pc += int(in.K)
		case bpfRetK:
			return in.K
		default:
			t.Fatalf("instruction %#x", in.Code)
		}
	}
	t.Fatal("the program ran off its end")
	return 0
}

// TestInjection: Fail makes a traced syscall fail without running it, Fake
// makes one succeed with a made-up value; an untraced Fail fails in the
// seccomp filter. sysmix's exit status shows what its calls saw: it exits 2
// when getdents64 fails.
func TestInjection(t *testing.T) {
	bin := buildSysmix(t)
	evs, res := traceAll(t, []string{bin, "/etc"}, Options{Trace: []string{"getppid", "getdents64"}, Fail: map[string]int{"getppid": 38}, Fake: map[string]int64{"getdents64": 0}})
	got := map[string]trace.Event{}
	for _, ev := range evs {
		got[ev.Name] = ev
	}
	if ev := got["getppid"]; ev.Errno != "ENOSYS" || ev.Status != trace.StatusUnsupported || !ev.Injected {
		t.Errorf("getppid = %q injected=%v, want an injected ENOSYS", ev.Ret, ev.Injected)
	}
	if ev := got["getdents64"]; ev.Ret != "0" || !ev.Injected {
		t.Errorf("getdents64 = %q injected=%v, want an injected 0", ev.Ret, ev.Injected)
	}
	if res.ExitCode != 0 {
		t.Errorf("exit %d", res.ExitCode)
	}
	// Untraced failure: getdents64 fails in the filter, sysmix exits 2.
	evs, res = traceAll(t, []string{bin, "/etc"}, Options{Trace: []string{"openat"}, Fail: map[string]int{"getdents64": 38}})
	if res.ExitCode != 2 {
		t.Errorf("with getdents64 failing in the filter sysmix exits %d, want 2", res.ExitCode)
	}
	for _, ev := range evs {
		if ev.Name != "openat" && ev.Kind == trace.KindSyscall {
			t.Errorf("%s traced", ev.Name)
		}
	}
}

// BenchmarkTracer traces a loop of getppid calls (bench/src/getppid_loop.c)
// and writes each event as a syscov trace line to io.Discard; ns/op is per
// traced syscall.
func BenchmarkTracer(b *testing.B) {
	if _, err := exec.LookPath("gcc"); err != nil {
		b.Skip("gcc is not installed")
	}
	bin := filepath.Join(b.TempDir(), "loop")
	if out, err := exec.Command("gcc", "-O2", "-o", bin, "../../bench/src/getppid_loop.c").CombinedOutput(); err != nil {
		b.Fatalf("gcc: %v\n%s", err, out)
	}
	w, _ := trace.NewWriter(io.Discard, trace.Header{Origin: "native"})
	b.ResetTimer()
	tr, err := Start([]string{bin, strconv.Itoa(b.N)}, Options{OnEvent: func(ev *trace.Event) { w.Write(ev) }})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tr.Wait(); err != nil {
		b.Fatal(err)
	}
}

// TestGroupStop: SIGSTOP stops a traced app as it stops one that is not
// traced (it was resumed before: every group-stop was swallowed), and
// SIGCONT sets it going again.
func TestGroupStop(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	tr, err := Start([]string{"sh", "-c", "while :; do sleep 0.02; done"}, Options{OnEvent: func(ev *trace.Event) {
		if ev.Kind == trace.KindSyscall {
			mu.Lock()
			calls++
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		tr.Kill()
		tr.Wait()
	}()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return calls
	}
	time.Sleep(300 * time.Millisecond)
	pid := tr.Pid()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	before := count()
	time.Sleep(400 * time.Millisecond)
	if after := count(); after != before {
		t.Errorf("the stopped app made %d syscalls", after-before)
	}
	stat, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:])); len(f) == 0 || (f[0] != "t" && f[0] != "T") {
		t.Errorf("state after SIGSTOP: %q", f)
	}
	syscall.Kill(pid, syscall.SIGCONT)
	time.Sleep(300 * time.Millisecond)
	if count() == before {
		t.Error("SIGCONT did not set the app going again")
	}
}

// TestOnlyTheCommand: the trace starts with the command's execve; nothing
// of the exec helper (syscov re-executed, its Go runtime starting) is in
// it, however the attach races with the helper's own execve.
func TestOnlyTheCommand(t *testing.T) {
	for i := 0; i < 20; i++ {
		evs, res := traceAll(t, []string{"/bin/true"}, Options{})
		if res.ExitCode != 0 || len(evs) == 0 {
			t.Fatalf("exit %d, %d events", res.ExitCode, len(evs))
		}
		if evs[0].Name != "execve" || !strings.Contains(evs[0].Args, "/bin/true") {
			t.Fatalf("run %d: first event %s(%s)", i, evs[0].Name, evs[0].Args)
		}
		for _, ev := range evs {
			if strings.Contains(ev.Args, "/proc/self/maps") || strings.Contains(ev.Args, "hpage_pmd_size") {
				t.Fatalf("run %d: the helper's own start is in the trace: %s(%s)", i, ev.Name, ev.Args)
			}
		}
	}
}

// libcDebugFile reports whether the libc of a stack has a separate debug
// file on this machine.
func libcDebugFile(stack []trace.Frame) bool {
	for _, f := range stack {
		if filepath.Base(f.Object) == "libc.so.6" {
			e, err := elf.Open(f.Object)
			if err != nil {
				return false
			}
			defer e.Close()
			d, _ := openDebugFile(e, f.Object)
			if d != nil {
				d.Close()
			}
			return d != nil
		}
	}
	return false
}

// TestStrippedAndDebugFile: in a stripped program the app's frames are
// object+offset, not a wrong name; with a separate debug file (found
// through .gnu_debuglink) they are named again.
func TestStrippedAndDebugFile(t *testing.T) {
	bin := buildSysmix(t)
	for _, tool := range []string{"strip", "objcopy"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (binutils)", tool)
		}
	}
	dir := filepath.Dir(bin)
	run := func(args ...string) {
		if b, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, b)
		}
	}
	stripped := filepath.Join(dir, "sysmix-stripped")
	run("strip", "-o", stripped, bin)
	withDebug := filepath.Join(dir, "sysmix-dbg")
	run("objcopy", "--only-keep-debug", bin, filepath.Join(dir, "sysmix-dbg.debug"))
	run("strip", "-o", withDebug, bin)
	run("objcopy", "--add-gnu-debuglink="+filepath.Join(dir, "sysmix-dbg.debug"), withDebug)
	frameOf := func(prog string) trace.Frame {
		evs, _ := traceAll(t, []string{prog, "/etc"}, Options{Stacks: true})
		for _, ev := range evs {
			if ev.Name == "getdents64" && len(ev.Stack) > 1 {
				return ev.Stack[1]
			}
		}
		t.Fatalf("%s: no getdents64 with a stack", prog)
		return trace.Frame{}
	}
	if f := frameOf(stripped); f.Func != "" || filepath.Base(f.Object) != "sysmix-stripped" || f.Addr == 0 {
		t.Errorf("stripped: frame %+v, want sysmix-stripped+offset with no name", f)
	}
	if f := frameOf(withDebug); f.Func != "main" {
		t.Errorf("with a debug file: frame %+v, want main", f)
	}
	// Built with -g: file:line from DWARF, in the program and through a
	// separate debug file.
	g := filepath.Join(dir, "sysmix-g")
	run("gcc", "-O1", "-g", "-pthread", "-o", g, "../../fixtures/src/sysmix.c")
	if f := frameOf(g); f.Func != "main" || filepath.Base(f.File) != "sysmix.c" || f.Line == 0 {
		t.Errorf("-g: frame %+v, want main at sysmix.c:N", f)
	}
	gStripped := filepath.Join(dir, "sysmix-g-stripped")
	run("objcopy", "--only-keep-debug", g, filepath.Join(dir, "sysmix-g.debug"))
	run("strip", "-o", gStripped, g)
	run("objcopy", "--add-gnu-debuglink="+filepath.Join(dir, "sysmix-g.debug"), gStripped)
	if f := frameOf(gStripped); f.Func != "main" || filepath.Base(f.File) != "sysmix.c" || f.Line == 0 {
		t.Errorf("-g, stripped, debug file: frame %+v, want main at sysmix.c:N", f)
	}
}

// TestAnswer: a use answered argument by argument, as a unikernel answers
// it: only socket(AF_NETLINK) gets -EAFNOSUPPORT; the AF_INET socket of
// the same run is made, and the command's own exec (its start) is never
// asked about.
func TestAnswer(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc is not installed: cannot build the test program")
	}
	bin := filepath.Join(t.TempDir(), "sockfam")
	if out, err := exec.Command("gcc", "-O1", "-o", bin, "../../fixtures/src/sockfam.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	outFile, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	var mu sync.Mutex
	var asked []string
	answer := func(ev *trace.Event) (int64, bool) {
		mu.Lock()
		asked = append(asked, ev.Name+" "+trace.Arg(ev.Args, 0))
		mu.Unlock()
		if ev.Name == "socket" && strings.TrimSpace(trace.Arg(ev.Args, 0)) == "AF_NETLINK" {
			return -97, true
		}
		return 0, false
	}
	evs, res := traceAll(t, []string{bin, "inet", "netlink", "exec"}, Options{Quiet: false, Trace: []string{"socket", "execve"},
		Answer: answer, AnswerSyscalls: []string{"socket", "execve"}, Stdout: outFile})
	out, _ := os.ReadFile(outFile.Name())
	if got, want := string(out), "inet ok\nnetlink errno 97\nexec ok\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	if res.ExitCode != 1 {
		t.Errorf("exit %d, want 1 (one socket failed)", res.ExitCode)
	}
	injected := 0
	for _, ev := range evs {
		if ev.Injected {
			injected++
			if ev.Name != "socket" || ev.Errno != "EAFNOSUPPORT" {
				t.Errorf("injected %s = %s, want only socket AF_NETLINK = EAFNOSUPPORT", ev.Name, ev.Ret)
			}
		}
	}
	if injected != 1 {
		t.Errorf("%d calls injected, want 1", injected)
	}
	// Asked: both sockets and the child's execve of /bin/true, never the
	// command's own start.
	joined := strings.Join(asked, "; ")
	if !strings.Contains(joined, "socket AF_INET") || !strings.Contains(joined, "socket AF_NETLINK") || !strings.Contains(joined, `execve "/bin/true"`) || strings.Contains(joined, "sockfam") {
		t.Errorf("asked about: %s", joined)
	}
}

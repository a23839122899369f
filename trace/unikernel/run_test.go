package unikernel

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/guard"
)

// These tests boot a tiny guest (fixtures/guest) with the real
// qemu-system-x86_64. The guest replays a Unikraft console log on its
// serial port and then ends as its command line says (mode=...).

func need(t testing.TB, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s is not installed (apt-get install qemu-system-x86 gcc; .ci/run does)", b)
		}
	}
}

var guests sync.Map // console log → built guest path

func buildGuest(t testing.TB, log string) string {
	t.Helper()
	need(t, "qemu-system-x86_64", "gcc")
	if p, ok := guests.Load(log); ok {
		return p.(string)
	}
	dir, err := os.MkdirTemp("", "syscov-guest-")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "guest.elf")
	cmd := exec.Command("../../fixtures/guest/build.sh", out, "../../fixtures/unikraft/"+log)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the guest: %v\n%s", err, b)
	}
	guests.Store(log, out)
	return out
}

func TestMain(m *testing.M) {
	guard.RunIfRequested() // workloads run under syscov's guard: this binary
	code := m.Run()
	guests.Range(func(_, p any) bool {
		os.RemoveAll(filepath.Dir(p.(string)))
		return true
	})
	os.Exit(code)
}

type run struct {
	res    *Result
	err    error
	events []trace.Event
	times  []time.Time
}

func boot(t *testing.T, ctx context.Context, cfg Config) run {
	t.Helper()
	var r run
	var mu sync.Mutex
	cfg.OnEvent = func(ev *trace.Event) {
		mu.Lock()
		r.events = append(r.events, ev.Clone())
		r.times = append(r.times, time.Now())
		mu.Unlock()
	}
	if cfg.ConsoleLog == "" {
		cfg.ConsoleLog = filepath.Join(t.TempDir(), "console.log")
	}
	r.res, r.err = Run(ctx, cfg)
	if r.res != nil {
		checkNoQEMU(t, r.res)
	}
	return r
}

// checkNoQEMU: nothing of the run is left.
func checkNoQEMU(t *testing.T, res *Result) {
	t.Helper()
	out, _ := exec.Command("pgrep", "-f", strings.Join(res.VMM[len(res.VMM)-4:], " ")).Output()
	if len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("qemu left behind: pids %s", out)
	}
}

func accels(t *testing.T) []string {
	if KVMUsable() {
		return []string{KVMAuto, KVMOff}
	}
	t.Log("/dev/kvm cannot be opened: only TCG is tested")
	return []string{KVMOff}
}

func TestPowerOffKVMAndTCG(t *testing.T) {
	guest := buildGuest(t, "redis-elfloader-0.17.log")
	want, _ := os.ReadFile("../../fixtures/unikraft/redis-elfloader-0.17.log")
	for _, kvm := range accels(t) {
		t.Run(kvm, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "console.log")
			r := boot(t, context.Background(), Config{Image: guest, KVM: kvm, ConsoleLog: log, AppArgs: []string{"/usr/bin/redis-server", "/etc/redis.conf"}, Append: "vfs.fstab=[ \"initrd0:/:extract:::\" ]"})
			if r.err != nil {
				t.Fatal(r.err)
			}
			res := r.res
			if res.Ended != EndPowerOff && res.Ended != EndDebugExit {
				t.Errorf("ended %q (%s)", res.Ended, res.Detail)
			}
			if res.Syscalls != 22 || res.Unikraft != "Calypso (0.17.0~62132e5)" {
				t.Errorf("%d syscalls, version %q", res.Syscalls, res.Unikraft)
			}
			got, _ := os.ReadFile(log)
			if !bytes.Contains(got, want) {
				t.Errorf("the console log does not hold the guest's output (%d bytes)", len(got))
			}
			if kvm == KVMOff && res.Accel != "tcg" {
				t.Errorf("KVMOff ran on %s", res.Accel)
			}
			cmdline := strings.Join(res.VMM, " ")
			if !strings.Contains(cmdline, `-append vfs.fstab=[ "initrd0:/:extract:::" ] -- /usr/bin/redis-server /etc/redis.conf`) {
				t.Errorf("kernel command line not passed: %s", cmdline)
			}
			var clone *trace.Event
			for i, ev := range r.events {
				if ev.Name == "clone" {
					clone = &r.events[i]
				}
			}
			if clone == nil || clone.Errno != "EOPNOTSUPP" || clone.Origin != trace.OriginUnikernel {
				t.Errorf("the fork clone: %+v", clone)
			}
		})
	}
}

// TestKVMFallback boots a guest that runs an SSE instruction on MMIO right
// after a privileged one, as Unikraft's boot code does. On nested
// paravirtual KVM (the machines here) KVM's emulator fails on it and
// --kvm auto reruns the boot under TCG; on KVM that handles it, the run
// stays on KVM. Either way the run completes and says which.
func TestKVMFallback(t *testing.T) {
	if !KVMUsable() {
		t.Skip("/dev/kvm cannot be opened: no KVM to fall back from")
	}
	guest := buildGuest(t, "redis-elfloader-0.17.log")
	var notices []string
	r := boot(t, context.Background(), Config{Image: guest, KVM: KVMAuto, Append: "mode=sse", Notice: func(s string) { notices = append(notices, s) }})
	if r.err != nil {
		t.Fatal(r.err)
	}
	res := r.res
	switch {
	case res.Accel == "tcg":
		if !isKVMFailure(res.Fallback) || len(notices) != 1 {
			t.Errorf("fell back to TCG with reason %q, notices %q", res.Fallback, notices)
		}
		t.Logf("KVM failed (%s); the boot ran under TCG", res.Fallback)
	case res.Accel == "kvm" && res.Fallback == "":
		t.Log("this KVM emulates the SSE access: no fallback needed")
	default:
		t.Errorf("accel %q, fallback %q", res.Accel, res.Fallback)
	}
	if res.Syscalls != 22 {
		t.Errorf("%d syscalls after the fallback: events of the failed attempt leaked or were lost", res.Syscalls)
	}
	// --kvm on fails with the reason instead.
	r = boot(t, context.Background(), Config{Image: guest, KVM: KVMOn, Append: "mode=sse"})
	if res.Accel == "tcg" && (r.err == nil || !isKVMFailure(r.err.Error())) {
		t.Errorf("--kvm on: err = %v", r.err)
	}
}

func TestPanic(t *testing.T) {
	guest := buildGuest(t, "redis-elfloader-0.17.log")
	r := boot(t, context.Background(), Config{Image: guest, KVM: KVMOff, Append: "mode=panic"})
	if r.err != nil || r.res.Ended != EndPanic {
		t.Fatalf("ended %q, err %v", r.res.Ended, r.err)
	}
	if !strings.Contains(r.res.Detail, "Unhandled page fault") {
		t.Errorf("crash line not reported: %q", r.res.Detail)
	}
}

func TestIdleEnd(t *testing.T) {
	guest := buildGuest(t, "helloworld-0.12.log")
	r := boot(t, context.Background(), Config{Image: guest, Append: "mode=hang", Idle: 400 * time.Millisecond})
	if r.err != nil || r.res.Ended != EndIdle || r.res.Syscalls != 5 {
		t.Fatalf("ended %q after %d syscalls, err %v", r.res.Ended, r.res.Syscalls, r.err)
	}
}

// TestCrashThenHang: a guest that crashes and then spins (as Unikraft does
// without pvpanic) ends soon after the crash line, named by it.
func TestCrashThenHang(t *testing.T) {
	guest := buildGuest(t, "redis-elfloader-0.17.log")
	r := boot(t, context.Background(), Config{Image: guest, KVM: KVMOff, Append: "mode=hang"})
	if r.err != nil || r.res.Ended != EndCrash || !strings.Contains(r.res.Detail, "Unhandled page fault") {
		t.Fatalf("ended %q (%s), err %v", r.res.Ended, r.res.Detail, r.err)
	}
}

func TestTimeoutAndInterrupt(t *testing.T) {
	guest := buildGuest(t, "helloworld-0.12.log")
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	r := boot(t, ctx, Config{Image: guest, Append: "mode=hang"})
	if r.err != nil || r.res.Ended != EndTimeout {
		t.Fatalf("ended %q, err %v", r.res.Ended, r.err)
	}
	ctx, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel2)
	r = boot(t, ctx, Config{Image: guest, Append: "mode=hang"})
	if r.err != nil || r.res.Ended != EndInterrupt {
		t.Fatalf("ended %q, err %v", r.res.Ended, r.err)
	}
}

// TestStreaming: events arrive while the guest still prints, not at its end.
func TestStreaming(t *testing.T) {
	guest := buildGuest(t, "redis-elfloader-0.17.log")
	r := boot(t, context.Background(), Config{Image: guest, Append: "mode=slow"})
	if r.err != nil || r.res.Syscalls != 22 {
		t.Fatalf("%d syscalls, err %v", r.res.Syscalls, r.err)
	}
	first, last := -1, -1
	for i, ev := range r.events {
		if ev.Kind == trace.KindSyscall {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if spread := r.times[last].Sub(r.times[first]); spread < time.Second {
		t.Errorf("first and last syscall events %v apart: not streamed", spread)
	}
}

func TestFlood(t *testing.T) {
	guest := buildGuest(t, "redis-elfloader-0.17.log")
	r := boot(t, context.Background(), Config{Image: guest, Append: "mode=flood", KVM: KVMOff})
	if r.err != nil || r.res.Syscalls != 200*22 {
		t.Fatalf("%d syscalls, err %v", r.res.Syscalls, r.err)
	}
}

func TestBootFailure(t *testing.T) {
	guest := buildGuest(t, "tcg-hwrng-failure.log")
	r := boot(t, context.Background(), Config{Image: guest, KVM: KVMOff})
	if r.err != nil || r.res.Ended != EndBoot || !strings.Contains(r.res.Detail, "HWRNG") {
		t.Fatalf("ended %q (%s), err %v", r.res.Ended, r.res.Detail, r.err)
	}
	if r.res.Unikraft != "Pandora (0.15.0~689db89)" {
		t.Errorf("version %q", r.res.Unikraft)
	}
}

func TestWorkloadEnds(t *testing.T) {
	guest := buildGuest(t, "staging-info-path.log") // no crash in it: only the workload ends the run
	var ran bool
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	r := boot(t, context.Background(), Config{Image: guest, Append: "mode=hang", Workload: "touch " + marker})
	if _, err := os.Stat(marker); err == nil {
		ran = true
	}
	if r.err != nil || r.res.Ended != EndWorkload || !ran {
		t.Fatalf("ended %q, workload ran %v, err %v", r.res.Ended, ran, r.err)
	}
}

func TestBadInputs(t *testing.T) {
	need(t, "qemu-system-x86_64")
	if _, err := Run(context.Background(), Config{Image: "/nonexistent/image"}); err == nil {
		t.Error("a missing image is accepted")
	}
	if _, err := Run(context.Background(), Config{Image: "run.go", KVM: "maybe"}); err == nil || !strings.Contains(err.Error(), "want auto, on or off") {
		t.Errorf("err = %v", err)
	}
	_ = syscall.Getpid
}

func TestKernelCmdline(t *testing.T) {
	plain := &Image{}
	libparam := &Image{LibParam: true}
	for _, tt := range []struct {
		name   string
		im     *Image
		params string
		args   []string
		want   string
		err    string
	}{
		{"nothing", libparam, "", nil, "", ""},
		{"parameters only", libparam, "netdev.ip=10.0.2.15/24", nil, "netdev.ip=10.0.2.15/24", ""},
		{"no uklibparam: the line is argv", plain, "", []string{"/app", "-x"}, "/app -x", ""},
		{"uklibparam without parameters: no --", libparam, "", []string{"/app", "-x"}, "/app -x", ""},
		{"uklibparam with parameters", libparam, `env.vars=[ "K=V" ]`, []string{"/app"}, `env.vars=[ "K=V" ] -- /app`, ""},
		{"quoting", plain, "", []string{"/usr/bin/sqlite3", "/tmp/t.db", "SELECT 'a', \"b\";", `x\y`}, `/usr/bin/sqlite3 /tmp/t.db "SELECT 'a', \"b\";" "x\\y"`, ""},
		{"empty argument", plain, "", []string{"/app", ""}, "", "empty"},
		{"parameters without uklibparam", plain, "netdev.ip=1", []string{"/app"}, "", "no uklibparam"},
		{"-- among the arguments without parameters", libparam, "", []string{"/app", "--", "x"}, "", "give at least one kernel parameter"},
		{"-- among the arguments with parameters", libparam, "a.b=1", []string{"/app", "--"}, "a.b=1 -- /app --", ""},
	} {
		got, err := KernelCmdline(tt.im, tt.params, tt.args)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("%s: %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// TestQuoteArgRoundTrip: what QuoteArg writes, uk_argnparse (as written
// in lib/ukargparse/argparse.c, reimplemented in splitUK) reads back.
func TestQuoteArgRoundTrip(t *testing.T) {
	for _, a := range []string{"a", "b c", `d"e`, `x\y`, "p'q", "tab\tnl\n", `\"`, `\\`, "SELECT 1;"} {
		got := splitUK(QuoteArg(a))
		if len(got) != 1 || got[0] != a {
			t.Errorf("%q → %q → %q", a, QuoteArg(a), got)
		}
	}
}

// splitUK is uk_argnparse of Unikraft 0.17, for the test above.
func splitUK(s string) []string {
	var out []string
	var cur []byte
	in := false
	var quote byte
	esc := false
	flush := func() {
		if in {
			out = append(out, string(cur))
		}
		cur, in = nil, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v') && quote == 0 && !esc:
			flush()
			continue
		case (c == '"' || c == '\'') && !(esc && quote == 0):
			if esc && quote != 0 && c == '"' {
				cur = append(cur[:len(cur)-1], c)
				esc = false
				continue
			}
			if quote == 0 {
				quote = c
				continue
			}
			if quote == c {
				quote = 0
				continue
			}
		}
		in = true
		if c == '\\' && quote != '\'' {
			if esc {
				esc = false
				continue
			}
			esc = true
			cur = append(cur, c)
			continue
		}
		if esc && quote == 0 {
			cur = cur[:len(cur)-1]
		}
		esc = false
		cur = append(cur, c)
	}
	flush()
	return out
}

// User text cannot add qemu options: a comma in a path is doubled (qemu's
// escape) inside its option string.
func TestQEMUOptionsEscapeCommas(t *testing.T) {
	args := strings.Join(QEMU{}.Args(Config{Image: "k", RootFS: "/tmp/a,hostfwd=tcp:0.0.0.0:1-:2", Ports: []string{"8080:80"}}, "tcg", "/tmp/q,x.sock", ""), " ")
	for _, want := range []string{"path=/tmp/a,,hostfwd=tcp:0.0.0.0:1-:2,security_model", "unix:/tmp/q,,x.sock,server=on", "hostfwd=tcp:127.0.0.1:8080-:80"} {
		if !strings.Contains(args, want) {
			t.Errorf("qemu args lack %q: %s", want, args)
		}
	}
}

// TestConsoleOutlivesQEMU reads the console only once qemu has exited:
// everything the guest wrote must still be there (with cmd.StdoutPipe,
// Wait closed the pipe at exit and a reader that lagged behind, as on a
// loaded host, lost the console's tail: the crash lines of a run).
func TestConsoleOutlivesQEMU(t *testing.T) {
	guest := buildGuest(t, "redis-elfloader-0.17.log")
	bin, _ := exec.LookPath("qemu-system-x86_64")
	m, err := QEMU{Binary: bin}.Start(Config{Image: guest}, "tcg", "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Kill()
	select {
	case <-m.Exited():
	case <-time.After(60 * time.Second):
		t.Fatal("the guest did not power off in 60 s")
	}
	time.Sleep(100 * time.Millisecond) // Wait has run by now
	b, err := io.ReadAll(m.Console())
	if err != nil {
		t.Fatalf("reading the console after qemu exited: %v", err)
	}
	if !bytes.Contains(b, []byte("Unikraft crash - Calypso")) {
		t.Fatalf("the console's tail is lost: %d bytes read, ending %q", len(b), b[max(0, len(b)-80):])
	}
}

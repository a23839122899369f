package ptrace

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/internal/argtest"
)

// comparedKinds are the arguments the tracer decodes symbolically; their
// text must be strace's. (Pointers print as hex, strace prints the
// structures behind them: not compared.)
var comparedKinds = map[string]bool{
	"dirfd": true, "path": true, "open": true, "domain": true, "socktype": true, "prot": true, "mapflags": true,
	"futexop": true, "archprctl": true, "clock": true, "timerflags": true, "atflags": true, "sockaddr": true,
	"fcntl": true, "signal": true, "clone": true,
}

// TestArgumentsAsStrace runs fixtures/src/argmix.c and sysmix.c under
// the built-in tracer and under the real strace and compares, syscall by
// syscall, the set of texts each decoded argument takes.
func TestArgumentsAsStrace(t *testing.T) {
	for _, tool := range []string{"gcc", "strace"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	dir := t.TempDir()
	argmix := filepath.Join(dir, "argmix")
	if b, err := exec.Command("gcc", "-O1", "-o", argmix, "../../fixtures/src/argmix.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	for _, argv := range [][]string{{argmix}, {buildSysmix(t), dir}} {
		ours, _ := traceAll(t, argv, Options{})
		if strings.HasSuffix(argv[0], "argmix") {
			// A syscall syscov does not decode itself: u-root's tables
			// write its path, not a bare register.
			found := false
			for _, ev := range ours {
				if ev.Name == "statfs" {
					found = true
					if !strings.Contains(ev.Args, "/nonexistent/argmix-statfs") {
						t.Errorf("statfs(%s): the path is not written", ev.Args)
					}
				}
			}
			if !found {
				t.Error("argmix: no statfs traced")
			}
		}
		if strings.HasSuffix(argv[0], "sysmix") {
			// Its thread and its fork: the flags as numbers, from the
			// registers or clone3's clone_args.
			threads, forks := 0, 0
			for _, ev := range ours {
				if ev.Name == "clone" || ev.Name == "clone3" {
					switch {
					case !ev.HasCloneFlags:
						t.Errorf("%s(%s) without its flags", ev.Name, ev.Args)
					case ev.CloneFlags&trace.CloneThread != 0:
						threads++
					default:
						forks++
					}
				}
			}
			if threads == 0 || forks == 0 {
				t.Errorf("sysmix: %d thread and %d fork clones with flags, want both", threads, forks)
			}
		}
		out := filepath.Join(dir, "strace.out")
		if b, err := exec.Command("strace", append([]string{"-f", "-qq", "-o", out}, argv...)...).CombinedOutput(); err != nil {
			t.Fatalf("strace: %v\n%s", err, b)
		}
		r, err := trace.Open(out, trace.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var theirs []trace.Event
		for r.Scan() {
			if ev := r.Event(); ev.Kind == trace.KindSyscall {
				theirs = append(theirs, ev.Clone())
			}
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		r.Close()
		os.Remove(out)
		want, got := argTexts(theirs, false), argTexts(ours, true)
		compared := 0
		for key, g := range got {
			w, ok := want[key]
			if !ok {
				continue // a call strace's run did not make (timing), or a position it leaves out
			}
			compared++
			if strings.Join(g, " ") != strings.Join(w, " ") {
				t.Errorf("%s %s: ours %q, strace %q", filepath.Base(argv[0]), key, g, w)
			}
		}
		if compared < 12 {
			t.Errorf("%s: only %d decoded arguments compared", filepath.Base(argv[0]), compared)
		}
		t.Logf("%s: %d decoded arguments agree with strace", filepath.Base(argv[0]), compared)
	}
}

// argTexts collects, per "syscall#position" of a decoded argument, the
// sorted set of its texts (futex: only the operation, strace leaves out
// the arguments an operation does not use).
func argTexts(evs []trace.Event, ours bool) map[string][]string {
	return argtest.Texts(evs, comparedKinds, func(ev *trace.Event, args []string, i int, kind string) (string, bool) {
		if ev.Name == "futex" && i > 1 || kind == "path" && ev.Name == "execve" {
			return "", false
		}
		if kind == "clone" {
			// strace writes clone(child_stack=…, flags=…, …).
			for _, a := range args {
				if strings.HasPrefix(a, "flags=") {
					return a, true
				}
			}
		}
		return args[i], true
	})
}

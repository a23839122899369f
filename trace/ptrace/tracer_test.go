package ptrace

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

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

func TestDebugDump(t *testing.T) {
	bin := buildSysmix(t)
	evs, res := traceAll(t, []string{bin, "/etc"}, Options{Env: append(os.Environ(), "SYSMIX_EXEC=/bin/true"), Stacks: os.Getenv("STACKS") != ""})
	for _, ev := range evs {
		t.Logf("%d/%d %s %s(%s) = %s %s %v %s", ev.PID, ev.TID, ev.Kind, ev.Name, ev.Args, ev.Ret, ev.Status, ev.Duration, ev.Text)
		for _, f := range ev.Stack {
			t.Logf("     > %s", f)
		}
	}
	t.Logf("%+v", res)
}

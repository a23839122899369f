//go:build amd64

package ebpf

import (
	"os"
	"testing"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/guard"
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

func TestTrue(t *testing.T) {
	needEBPF(t)
	evs, res := traceAll(t, []string{"/bin/sh", "-c", "/bin/true; ls /nonexistent"}, Options{})
	for _, ev := range evs {
		t.Logf("%d %d %s %s(%s) = %s", ev.PID, ev.TID, ev.Kind, ev.Name, ev.Args, ev.Ret)
	}
	t.Logf("%+v", res)
}

package analyze

import (
	"strings"
	"testing"

	"github.com/syscov/syscov/trace"
)

func readFixture(t *testing.T, path string, origin trace.Origin) ([]trace.Event, trace.Header) {
	t.Helper()
	r, err := trace.Open(path, trace.Options{Arch: trace.ArchX86_64, Origin: origin, Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var evs []trace.Event
	for r.Scan() {
		ev := r.Event().Clone()
		if origin == trace.OriginUnikernel {
			ev.Origin = origin
		}
		evs = append(evs, ev)
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	return evs, r.Header()
}

func diffOf(native, uni []trace.Event, hdr trace.Header, ignore []string) *Diff {
	b := NewDiffBuilder(3, ignore)
	for i := range native {
		b.AddNative(&native[i])
	}
	for i := range uni {
		b.AddUnikernel(&uni[i])
	}
	b.SetSources("native", "unikernel", hdr)
	return b.Diff()
}

func TestDiffRedisFixtures(t *testing.T) {
	native, _ := readFixture(t, "../fixtures/strace/redis-bgsave.strace", trace.OriginNative)
	uni, hdr := readFixture(t, "../fixtures/unikraft/redis-elfloader-0.17.log", trace.OriginUnikernel)
	d := diffOf(native, uni, hdr, nil)
	names := func(vs []Gap) string {
		var s []string
		for _, v := range vs {
			s = append(s, v.Name+"/"+v.Errno+"/"+v.Class)
		}
		return strings.Join(s, " ")
	}
	if got := names(d.Missing); got != "rt_sigaction/ENOSYS/rt_sigaction syscall_1023/ENOSYS/syscall_1023" {
		t.Errorf("missing: %s", got)
	}
	if got := names(d.NotSupported); got != "socket/EAFNOSUPPORT/AF_NETLINK socket clone/EOPNOTSUPP/fork" {
		t.Errorf("not supported: %s", got)
	}
	if !d.Lacks(false) || d.Unikraft != "Calypso (0.17.0~62132e5)" {
		t.Errorf("lacks %v, version %q", d.Lacks(false), d.Unikraft)
	}
	if d.Missing[0].NativeCalls != 12 || len(d.Missing[0].NativeSites) == 0 {
		t.Errorf("rt_sigaction native calls %d, sites %v", d.Missing[0].NativeCalls, d.Missing[0].NativeSites)
	}
	// strace names threads by tid: the four bio threads are the server's,
	// only the BGSAVE child is a fork child.
	if len(d.ForkChildren) != 1 || d.ForkChildren[0].Calls < 100 || d.ForkChildren[0].ForkPos == "" {
		t.Errorf("fork children %+v", d.ForkChildren)
	}
	if d.Ended != "crash" || !strings.Contains(d.EndDetail, "Unikraft crash") {
		t.Errorf("ended %q %q", d.Ended, d.EndDetail)
	}
	if d.First == nil || d.First.NativeMark < 0 {
		t.Fatalf("first divergence %+v", d.First)
	}
}

// A run diffed with itself: no divergence, no verdicts.
func TestDiffWithItself(t *testing.T) {
	native, _ := readFixture(t, "../fixtures/strace/sysmix-f.strace", trace.OriginNative)
	// The unikernel side: the same run without its fork child (the main
	// process and its thread are one address space).
	child := 0
	for _, ev := range native {
		if IsForkLike(&ev) {
			child = int(ev.RetVal)
		}
	}
	var main []trace.Event
	for _, ev := range native {
		if ev.PID != child {
			main = append(main, ev)
		}
	}
	d := diffOf(native, main, trace.Header{}, nil)
	if d.First != nil || d.NativeOnly != 0 || d.UniOnly != 0 || d.Lacks(false) || len(d.Failed) != 0 || d.NeverReachedCalls != 0 {
		t.Errorf("self diff: first %+v, %d/%d only, lacks %v", d.First, d.NativeOnly, d.UniOnly, d.Lacks(false))
	}
	if d.Equal != d.NativeLen || d.Equal == 0 {
		t.Errorf("%d equal of %d", d.Equal, d.NativeLen)
	}
}

// Families align across names, noise is set aside, and an error where the
// native call succeeded on the same path is a "failed" verdict.
func TestDiffFamiliesNoiseAndFailures(t *testing.T) {
	ev := func(name, args, ret, errno string, st trace.Status) trace.Event {
		return trace.Event{Kind: trace.KindSyscall, PID: 7, TID: 7, Name: name, Args: args, Ret: ret, Errno: errno, Status: st, Pos: trace.Pos{File: "x", Line: 1}}
	}
	native := []trace.Event{
		ev("arch_prctl", "", "0", "", trace.StatusOK),
		ev("openat", `AT_FDCWD, "/etc/app.conf", O_RDONLY`, "3", "", trace.StatusOK),
		ev("newfstatat", `3, ""`, "0", "", trace.StatusOK),
		ev("getdents64", "3", "10", "", trace.StatusOK),
		ev("read", "3", "10", "", trace.StatusOK),
		ev("close", "3", "0", "", trace.StatusOK),
		ev("write", "1", "5", "", trace.StatusOK),
	}
	uni := []trace.Event{
		ev("clock_gettime", "", "OK", "", trace.StatusOK), // vDSO natively
		ev("open", `"/etc/app.conf", O_RDONLY`, "fd:3", "", trace.StatusOK),
		ev("fstat", "3", "OK", "", trace.StatusOK),
		ev("getdents", "3", "Function not implemented (-38)", "ENOSYS", trace.StatusUnsupported),
		ev("read", "3", "Input/output error (-5)", "EIO", trace.StatusError),
	}
	for i := range uni {
		uni[i].Origin = trace.OriginUnikernel
	}
	d := diffOf(native, uni, trace.Header{}, nil)
	if d.Equal != 4 || d.NativeOnly != 2 || d.UniOnly != 0 {
		t.Errorf("equal %d, native only %d, unikernel only %d", d.Equal, d.NativeOnly, d.UniOnly)
	}
	if len(d.Missing) != 1 || d.Missing[0].Name != "getdents" || d.Missing[0].NativeCalls != 1 {
		t.Errorf("missing %+v (getdents64 natively is the same family)", d.Missing)
	}
	if len(d.Failed) != 1 || d.Failed[0].Name != "read" || d.Failed[0].Errno != "EIO" {
		t.Errorf("failed %+v", d.Failed)
	}
	if d.NeverReachedCalls != 2 || d.NeverReached[0].Name != "close" && d.NeverReached[0].Name != "write" {
		t.Errorf("never reached %+v", d.NeverReached)
	}
	ign := map[string]int{}
	for _, nc := range d.Ignored {
		ign[nc.Name] = nc.Count
	}
	if ign["arch_prctl"] != 1 || ign["clock_gettime"] != 1 {
		t.Errorf("ignored %v", d.Ignored)
	}
}

package analyze

import (
	"fmt"
	"strings"
	"testing"

	"github.com/syscov/syscov/trace"
)

func testJudge(t *testing.T, probes map[string]map[string]ProbeVerdict) *Judge {
	t.Helper()
	table, err := EmbeddedTable("unikraft")
	if err != nil {
		t.Fatal(err)
	}
	j, err := NewJudge(table, probes)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// Every fallback entry applies to its runtime (and its arguments), and to
// no other runtime: an app without that runtime is blocked.
func TestEveryFallbackEntry(t *testing.T) {
	entries, err := Fallbacks()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 15 {
		t.Fatalf("%d entries", len(entries))
	}
	j := testJudge(t, nil)
	for _, f := range entries {
		name := f.Syscall + "/" + f.Runtime + "/" + f.Args
		if !strings.Contains(f.Source, "/") && !strings.Contains(f.Source, "POSIX") {
			t.Errorf("%s: source %q names no file", name, f.Source)
		}
		use := Use{Name: f.Syscall, Args: "x, " + f.Args + ", y", Calls: 3, Runtimes: map[string]bool{f.Runtime: true}}
		got := j.Impact(use)
		if got.Impact != f.Impact || got.Fallback == nil || !strings.Contains(got.Why, f.Source) {
			t.Errorf("%s: judged %+v, want %s with the entry's source", name, got, f.Impact)
		}
		if f.Runtime == "*" {
			continue
		}
		// Another runtime: no fallback known.
		use.Runtimes = map[string]bool{"other": true}
		if got := j.Impact(use); got.Impact != Blocks {
			t.Errorf("%s without %s: %s, want blocks", name, f.Runtime, got.Impact)
		}
		// Keyed on arguments: another use of the same syscall blocks.
		if f.Args != "" {
			use.Runtimes = map[string]bool{f.Runtime: true}
			use.Args = "AF_PACKET, SOCK_RAW"
			if got := j.Impact(use); got.Impact != Blocks {
				t.Errorf("%s with other arguments: %s, want blocks", name, got.Impact)
			}
		}
	}
}

func TestImpactOrder(t *testing.T) {
	j := testJudge(t, map[string]map[string]ProbeVerdict{"redis-server": {"rseq": Required, "fork": WorksStubbed}})
	glibc := map[string]bool{"glibc": true}
	for _, tt := range []struct {
		name string
		use  Use
		want Impact
	}{
		{"no fallback", Use{Name: "fork", Calls: 1, Runtimes: glibc}, Blocks},
		{"only during the stop", Use{Name: "fork", Calls: 2, ShutdownCalls: 2, Runtimes: glibc}, Noise},
		{"also before the stop", Use{Name: "fork", Calls: 2, ShutdownCalls: 1, Runtimes: glibc}, Blocks},
		{"a signal handler's return is the handler's", Use{Name: "rt_sigreturn", Calls: 2, Runtimes: glibc}, Noise},
		{"the unikernel stopped there", Use{Name: "rseq", Calls: 1, FailedThere: true, Runtimes: glibc}, Blocks},
		{"probing says required", Use{App: "redis-server", Name: "rseq", Calls: 1, Runtimes: glibc}, Blocks},
		{"probing says a stub does", Use{App: "redis-server", Name: "fork", Calls: 1}, Degrades},
		{"another app's probe does not count", Use{App: "nginx", Name: "fork", Calls: 1}, Blocks},
		{"glibc fallback", Use{App: "nginx", Name: "rseq", Calls: 1, Runtimes: glibc}, Degrades},
		{"static musl has no rseq fallback entry", Use{Name: "rseq", Calls: 1, Runtimes: map[string]bool{"musl": true}}, Blocks},
	} {
		if got := j.Impact(tt.use); got.Impact != tt.want || got.Why == "" {
			t.Errorf("%s: %+v, want %s", tt.name, got, tt.want)
		}
	}
}

func TestPercentNeverRoundsUpToAll(t *testing.T) {
	for _, tt := range []struct {
		share float64
		want  string
	}{{1, "100.0"}, {0.99999, "99.9"}, {0.9996, "99.9"}, {0.5, "50.0"}, {0, "0.0"}, {0.1234, "12.3"}} {
		if got := Percent(tt.share); got != tt.want {
			t.Errorf("Percent(%v) = %s, want %s", tt.share, got, tt.want)
		}
	}
}

func sc(pid int, name, args string, ret int64) trace.Event {
	return trace.Event{Kind: trace.KindSyscall, PID: pid, TID: pid, Name: name, Args: args, Status: trace.StatusOK, RetVal: ret}
}

func TestAppFilter(t *testing.T) {
	for _, tt := range []struct {
		name    string
		only    string
		events  []trace.Event
		keep    []bool
		app     string
		setAway string
	}{
		{"the command itself", "", []trace.Event{sc(1, "execve", `"/usr/bin/redis-server"`, 0), sc(1, "read", "3", 1), sc(1, "clone", "flags=SIGCHLD", 2), sc(2, "rename", `"a", "b"`, 0)},
			[]bool{true, true, true, true}, "redis-server", ""},
		{"sh -c 'exec app'", "", []trace.Event{sc(1, "execve", `"/bin/sh"`, 0), sc(1, "read", "3", 1), sc(1, "execve", `"/usr/bin/sqlite3"`, 0), sc(1, "read", "3", 1)},
			[]bool{false, false, true, true}, "sqlite3", "sh×2"},
		{"a shell that forks is the app, with its whole tree", "", []trace.Event{sc(1, "execve", `"/bin/sh"`, 0), sc(1, "read", "3", 1), sc(1, "vfork", "", 2), sc(2, "execve", `"/usr/bin/cat"`, 0), sc(2, "read", "3", 1), sc(1, "wait4", "-1", 2)},
			[]bool{true, true, true, true, true, true}, "sh", ""},
		{"bash script.sh: the script's forks fail in the unikernel", "", []trace.Event{sc(1, "execve", `"/bin/bash"`, 0), sc(1, "openat", `AT_FDCWD, "script.sh"`, 3), sc(1, "clone", "flags=SIGCHLD", 2), sc(2, "execve", `"/usr/bin/sqlite3"`, 0), sc(1, "wait4", "-1", 2)},
			[]bool{true, true, true, true, true}, "bash", ""},
		{"busybox httpd that never forks is the app", "", []trace.Event{sc(1, "execve", `"/bin/busybox"`, 0), sc(1, "socket", "AF_INET", 3), sc(1, "accept", "3", 4)},
			[]bool{true, true, true}, "busybox", ""},
		{"env execs the app: a launcher is set aside", "", []trace.Event{sc(1, "execve", `"/usr/bin/env"`, 0), sc(1, "read", "3", 1), sc(1, "execve", `"/usr/bin/sqlite3"`, 0), sc(1, "read", "3", 1)},
			[]bool{false, false, true, true}, "sqlite3", "env×2"},
		{"timeout forks the app: a launcher is set aside", "", []trace.Event{sc(1, "execve", `"/usr/bin/timeout"`, 0), sc(1, "clone", "flags=SIGCHLD", 2), sc(2, "execve", `"/usr/bin/sqlite3"`, 0), sc(2, "read", "3", 1), sc(1, "wait4", "-1", 2)},
			[]bool{false, false, true, true, false}, "sqlite3", "timeout×3"},
		{"a pyenv shim: helpers are not the app", "", []trace.Event{
			sc(1, "execve", `"/root/.pyenv/shims/python3"`, 0), sc(1, "clone", "flags=SIGCHLD", 2), sc(2, "execve", `"/usr/bin/readlink"`, 0), sc(2, "read", "3", 1),
			sc(1, "execve", `"/root/.pyenv/libexec/pyenv-exec"`, 0), sc(1, "execve", `"/root/.pyenv/versions/3.11.7/bin/python3.11"`, 0), sc(1, "openat", `"/x"`, 3)},
			[]bool{false, false, false, false, false, true, true}, "python3.11", ""},
		{"--only picks a program in a larger tree", "memcached", []trace.Event{sc(1, "execve", `"/usr/bin/make"`, 0), sc(1, "clone", "flags=SIGCHLD", 2), sc(2, "execve", `"/usr/bin/memcached"`, 0), sc(2, "read", "3", 1), sc(1, "wait4", "-1", 2)},
			[]bool{false, false, true, true, false}, "memcached", "make×3"},
		{"a trace that does not start with an execve is all app", "", []trace.Event{sc(7, "read", "3", 1), sc(7, "execve", `"/bin/sh"`, 0)},
			[]bool{true, true}, "", ""},
	} {
		f := NewAppFilter(tt.only)
		var got []trace.Event
		use := func(ev *trace.Event) { got = append(got, *ev) }
		for i := range tt.events {
			f.Admit(&tt.events[i], use)
		}
		f.Flush(use)
		var want []trace.Event
		for i, k := range tt.keep {
			if k {
				want = append(want, tt.events[i])
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d events kept, want %d", tt.name, len(got), len(want))
		}
		for i := 0; i < len(got) && i < len(want); i++ {
			if got[i].Name != want[i].Name || got[i].Args != want[i].Args || got[i].PID != want[i].PID {
				t.Errorf("%s: kept event %d is %s %s (pid %d), want %s %s (pid %d), in order", tt.name, i, got[i].Name, got[i].Args, got[i].PID, want[i].Name, want[i].Args, want[i].PID)
			}
		}
		if got := f.App(); got != tt.app {
			t.Errorf("%s: app %q, want %q", tt.name, got, tt.app)
		}
		if tt.setAway != "" {
			var parts []string
			for _, nc := range f.SetAside() {
				parts = append(parts, fmt.Sprintf("%s×%d", nc.Name, nc.Count))
			}
			if got := strings.Join(parts, " "); got != tt.setAway {
				t.Errorf("%s: set aside %q, want %q", tt.name, got, tt.setAway)
			}
		}
	}
}

func TestRuntimes(t *testing.T) {
	r := NewRuntimes()
	for _, ev := range []trace.Event{
		sc(1, "openat", `AT_FDCWD, "/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY`, 3),
		sc(1, "openat", `AT_FDCWD, "/usr/lib/x86_64-linux-gnu/libnode.so.108", O_RDONLY`, 3),
	} {
		r.Add(&ev)
	}
	if !r.Found["glibc"] || !r.Found["node"] || !r.Found["libuv"] || r.Found["python"] {
		t.Errorf("runtimes %v", r.Found)
	}
	static := NewRuntimes()
	for _, ev := range []trace.Event{sc(1, "execve", `"/app"`, 0), sc(1, "set_robust_list", "0x1, 24", 0), sc(1, "rseq", "0x2, 32", 0)} {
		static.Add(&ev)
	}
	if !static.Found["glibc"] {
		t.Errorf("a static glibc program: %v", static.Found)
	}
}

// What closes a gap: implement (no code in the release, a fork), or
// configure the libraries the image lacks (a socket family's driver too).
func TestClosure(t *testing.T) {
	table, err := EmbeddedTable("unikraft@0.17.0")
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]bool{"libposix_process": true, "libuksignal": true}
	lwip := map[string]bool{"libposix_process": true, "libposix_socket": true, "liblwip": true}
	for _, tt := range []struct {
		libs            map[string]bool
		key, name, args string
		want            string
	}{
		{base, "memfd_create", "memfd_create", "", "implement"},
		{base, "clone (fork)", "clone", "flags=SIGCHLD", "implement"},
		{base, "socket", "socket", "AF_INET, SOCK_STREAM, 0", "configure: enable CONFIG_LIBPOSIX_SOCKET, CONFIG_LIBLWIP"},
		{base, "socket", "socket", "0x1, 0x80801 | AF_UNIX, SOCK_STREAM", "configure: enable CONFIG_LIBPOSIX_SOCKET, CONFIG_LIBPOSIX_UNIXSOCKET"},
		{lwip, "socket", "socket", "AF_INET6, SOCK_STREAM, 0", "implement"},
		{lwip, "socket", "socket", "AF_UNIX, SOCK_STREAM, 0", "configure: enable CONFIG_LIBPOSIX_UNIXSOCKET"},
		{lwip, "socket AF_NETLINK", "socket", "AF_NETLINK, SOCK_RAW, NETLINK_ROUTE", "implement"},
		{base, "eventfd2", "eventfd2", "0, EFD_CLOEXEC", "configure: enable CONFIG_LIBPOSIX_EVENTFD"},
	} {
		j := testJudge(t, nil)
		j.Table = table.WithConfig(ConfigWithLibraries(table, "test image", tt.libs))
		if got := j.Closure(trace.ArchX86_64, tt.key, tt.name, tt.args); got != tt.want {
			t.Errorf("%s %q: %q, want %q", tt.key, tt.args, got, tt.want)
		}
	}
}

// The plan does what is cheap first: a configure step (turning a library
// on) before implementing, even when implementing covers more apps.
func TestPlanConfiguresFirst(t *testing.T) {
	use := func(key, closure string) *UsedSyscall {
		return &UsedSyscall{Key: key, Name: key, Calls: 1, Level: Missing, Impact: Blocks, Closure: closure}
	}
	apps := []*AppCoverage{
		{App: "a", Blocking: []*UsedSyscall{use("sendfile", "implement")}},
		{App: "b", Blocking: []*UsedSyscall{use("sendfile", "implement")}},
		{App: "c", Blocking: []*UsedSyscall{use("eventfd2", "configure: enable CONFIG_LIBPOSIX_EVENTFD")}},
	}
	p := MakePlan(apps)
	if len(p.Steps) != 2 || p.Steps[0].Implement != "eventfd2" || p.Steps[0].Closure != "configure: enable CONFIG_LIBPOSIX_EVENTFD" || p.Steps[1].Implement != "sendfile" {
		t.Errorf("steps %+v", p.Steps)
	}
	if p.Steps[1].Covered != 3 {
		t.Errorf("covered after both: %d", p.Steps[1].Covered)
	}
}

// A call whose exit the tracer saw after syscov's stop signal, but which
// started before it, is the app's work, not its shutdown (a busy host
// delays the tracer, not the app).
func TestShutdownByTime(t *testing.T) {
	table, err := EmbeddedTable("unikraft")
	if err != nil {
		t.Fatal(err)
	}
	j := testJudge(t, nil)
	j.Table = table
	b := NewCoverageBuilder("nginx", "n.trace", trace.Header{}, j, nil)
	marker := trace.NewStopMarker(200, "SIGTERM")
	b.Add(&marker)
	late := trace.Event{Kind: trace.KindSyscall, PID: 1, TID: 1, Time: 100, Name: "sendfile", Args: "5, 6, NULL, 612", RetVal: 612, Status: trace.StatusOK, Duration: -1}
	after := trace.Event{Kind: trace.KindSyscall, PID: 1, TID: 1, Time: 300, Name: "rt_sigreturn", RetVal: 0, Status: trace.StatusOK, Duration: -1}
	b.Add(&late)
	b.Add(&after)
	c := b.Coverage(nil)
	for _, u := range c.Used {
		switch u.Name {
		case "sendfile":
			if u.ShutdownCalls != 0 || u.Impact == Noise {
				t.Errorf("sendfile started before the stop: %d shutdown calls, %s", u.ShutdownCalls, u.Impact)
			}
		case "rt_sigreturn":
			if u.ShutdownCalls != 1 {
				t.Errorf("rt_sigreturn after the stop: %d shutdown calls", u.ShutdownCalls)
			}
		}
	}
}

// A call of another ABI (strace: "[ Process PID=N runs in 32 bit mode. ]")
// is not judged as the x86_64 call of the same name.
func TestCoverageOtherABI(t *testing.T) {
	table, err := EmbeddedTable("unikraft")
	if err != nil {
		t.Fatal(err)
	}
	j := testJudge(t, nil)
	j.Table = table
	b := NewCoverageBuilder("app", "a.trace", trace.Header{Arch: trace.ArchX86_64}, j, nil)
	native := trace.Event{Kind: trace.KindSyscall, PID: 1, TID: 1, Name: "getpid", Nr: 39, Status: trace.StatusOK, Duration: -1}
	i386 := trace.Event{Kind: trace.KindSyscall, PID: 1, TID: 1, Name: "getpid", Nr: -1, Arch: trace.ArchI386, Status: trace.StatusOK, Duration: -1}
	b.Add(&native)
	b.Add(&i386)
	got := map[string]Level{}
	for _, u := range b.Coverage(nil).Used {
		got[u.Key] = u.Level
	}
	if got["getpid"] == Missing || got["getpid (i386 ABI)"] != Missing || len(got) != 2 {
		t.Errorf("levels %v: want getpid as the table says and getpid (i386 ABI) missing", got)
	}
}

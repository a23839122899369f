package analyze

import (
	"strings"
	"testing"

	"github.com/syscov/syscov/trace"
)

func TestStableOutput(t *testing.T) {
	a := []byte("27326:M 04 Dec 18:25:39.855 * Ready to accept connections\nOK\nBackground saving started\n")
	b := []byte("27466:M 04 Dec 18:25:42.432 * Ready to accept connections\nOK\nBackground saving started\nonly in b\n")
	s := NewStableOutput(a, b)
	if s.Lines() != 3 {
		t.Errorf("%d stable lines, want 3 (the line only b wrote is not one)", s.Lines())
	}
	// A later run: other pids and times, the same lines.
	if m := s.Missing([]byte("999:M 05 Dec 01:00:00.000 * Ready to accept connections\nBackground saving started\nOK\n"), 3); len(m) != 0 {
		t.Errorf("missing %q from a run that wrote every stable line in another order", m)
	}
	// The fork failed: redis-cli printed ERR instead.
	m := s.Missing([]byte("1:M 04 Dec 18:25:43.498 * Ready to accept connections\nOK\nERR\n"), 3)
	if len(m) != 1 || m[0] != "Background saving started" {
		t.Errorf("missing %q, want the lost line as the first run wrote it", m)
	}
}

func TestAnswer(t *testing.T) {
	table, err := EmbeddedTable("unikraft@0.17.0")
	if err != nil {
		t.Fatal(err)
	}
	j, err := NewJudge(table, nil)
	if err != nil {
		t.Fatal(err)
	}
	arch := trace.ArchX86_64
	use := func(name, args string) *UsedSyscall {
		ev := &trace.Event{Kind: trace.KindSyscall, Name: name, Args: args}
		key, level, _ := j.Support(arch, ev)
		return &UsedSyscall{Key: key, Name: name, Level: level, args: args}
	}
	for _, tt := range []struct {
		u    *UsedSyscall
		ret  int64
		text string
	}{
		{use("rseq", "0x7f, 32, 0, 0x53053053"), -38, "-ENOSYS"},
		{use("socket", "AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE"), -97, "EAFNOSUPPORT"},
		{use("clone", "child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f"), -95, "-EOPNOTSUPP"},
		{use("rt_sigaction", "SIGINT, {sa_handler=0x1}, NULL, 8"), 0, "0 (the stub's value)"},
		{use("waitid", "P_ALL, 0, 0x7ff, WEXITED"), -10, "-ECHILD"},
	} {
		a := j.Answer(arch, tt.u)
		if !a.Emulable || a.Ret != tt.ret || !strings.Contains(a.Text, tt.text) {
			t.Errorf("%s (%s): answer %d %q emulable=%v, want %d %q", tt.u.Key, tt.u.Level, a.Ret, a.Text, a.Emulable, tt.ret, tt.text)
		}
	}
	// The unikernel's own answer, when a run showed it, comes first.
	u := use("socket", "AF_INET6, SOCK_STREAM, IPPROTO_TCP")
	u.UnikernelSeen = "unsupported EAFNOSUPPORT"
	if a := j.Answer(arch, u); a.Ret != -97 {
		t.Errorf("with the unikernel's answer: %d %q", a.Ret, a.Text)
	}
	// A use that crashes the unikernel cannot be answered natively.
	if a := answerOfText("crashes the unikernel (UK_CRASH)"); a.Emulable {
		t.Errorf("a crash is emulable: %+v", a)
	}
	// Matches is the judge's: a socket of another family is not the use.
	nl := use("socket", "AF_NETLINK, SOCK_RAW, 0")
	if !j.Matches(arch, nl, &trace.Event{Kind: trace.KindSyscall, Name: "socket", Args: "AF_NETLINK, SOCK_DGRAM, 0"}) ||
		j.Matches(arch, nl, &trace.Event{Kind: trace.KindSyscall, Name: "socket", Args: "AF_INET, SOCK_STREAM, 0"}) {
		t.Error("Matches does not follow the judge's argument rules")
	}
}

func TestImpactRestsOnVerification(t *testing.T) {
	table, _ := EmbeddedTable("unikraft@0.17.0")
	j, _ := NewJudge(table, nil)
	u := Use{App: "redis-server", Name: "rseq", Key: "rseq", Calls: 1, Runtimes: map[string]bool{"glibc": true}}
	if got := j.Impact(u); got.Impact != Degrades || got.Evidence != EvidencePredicted {
		t.Errorf("without a run: %+v, want a predicted degrades", got)
	}
	j.SetVerified("redis-server", "rseq", Verification{Works: false, Answer: "-ENOSYS", Why: "the workload failed"})
	if got := j.Impact(u); got.Impact != Blocks || got.Evidence != EvidenceVerified || !strings.Contains(got.Why, "the workload failed") {
		t.Errorf("a failed verification run: %+v, want a verified blocks", got)
	}
	// The verification of one app never answers for another.
	u.App = "sqlite3"
	if got := j.Impact(u); got.Evidence != EvidencePredicted {
		t.Errorf("another app: %+v", got)
	}
}

// TestFallbackSites: glibc's nscd fallback is glibc's nscd client's: an
// AF_UNIX socket from the app's own code is not covered by it.
func TestFallbackSites(t *testing.T) {
	table, _ := EmbeddedTable("unikraft@0.17.0")
	j, _ := NewJudge(table, nil)
	glibc := map[string]bool{"glibc": true}
	nscd := []string{"__GI_socket ../sysdeps/unix/syscall-template.S", "open_socket nscd/nscd_helper.c", "__nscd_open_socket nscd/nscd_helper.c"}
	own := []string{"__GI_socket ../sysdeps/unix/syscall-template.S", "StreamServerPort src/backend/libpq/pqcomm.c", "main"}
	use := Use{App: "postgres", Name: "socket", Key: "socket AF_UNIX", Args: "AF_UNIX, SOCK_STREAM, 0", Calls: 1, Runtimes: glibc}
	use.Stack = nscd
	if got := j.Impact(use); got.Impact != Degrades || got.Fallback == nil {
		t.Errorf("from nscd_helper.c: %+v, want the nscd fallback", got)
	}
	use.Stack = own
	if got := j.Impact(use); got.Impact != Blocks {
		t.Errorf("from the app's own listen socket: %+v, want blocks", got)
	}
	use.Stack = nil
	if got := j.Impact(use); got.Impact != Degrades || !strings.Contains(got.Why, "not recorded") {
		t.Errorf("without a stack: %+v, want the fallback, saying the site is unknown", got)
	}
}

// TestCloneFlagRule: the clone flags posix-process takes are read from
// its handler table, so each release's table rejects what that release
// rejects: CLONE_VFORK (posix_spawn, Go's os/exec) answers -ENOTSUP in
// 0.17.0 and 0.18.0, and staging's vfork handler takes it; a thread's
// flags pass everywhere; strace's argument order and syscov's tracers' both
// are read (flags is named, not placed).
func TestCloneFlagRule(t *testing.T) {
	vfork := []string{
		"flags=CLONE_VM|CLONE_VFORK|SIGCHLD, NULL, 0xc000, NULL, NULL", // syscov's tracers
		"child_stack=0x7f00, flags=CLONE_VM|CLONE_VFORK|SIGCHLD",       // strace
	}
	thread := "flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, 0x7f, 0x7f, 0x7f, 0x7f"
	for _, tt := range []struct {
		table   string
		rejects bool
	}{{"unikraft@0.17.0", true}, {"unikraft@0.18.0", true}, {"unikraft@staging", false}} {
		table, err := EmbeddedTable(tt.table)
		if err != nil {
			t.Fatal(err)
		}
		j, _ := NewJudge(table, nil)
		for _, args := range vfork {
			key, level, note := j.Support(trace.ArchX86_64, &trace.Event{Kind: trace.KindSyscall, Name: "clone", Args: args})
			if got := level.Absent(); got != tt.rejects {
				t.Errorf("%s: clone(%s) = %s %s (%s), rejected %v, want %v", tt.table, args, key, level, note, got, tt.rejects)
			}
			if tt.rejects && !strings.Contains(note, "ENOTSUP") {
				t.Errorf("%s: answer %q", tt.table, note)
			}
		}
		if _, level, _ := j.Support(trace.ArchX86_64, &trace.Event{Kind: trace.KindSyscall, Name: "clone", Args: thread}); level.Absent() {
			t.Errorf("%s: a thread's clone is rejected", tt.table)
		}
	}
}

// TestMultiUserRules: posix-user has one user: setuid/setgid to it pass
// however the tracer writes 0 (strace "0", syscov's tracers "0x0"), to
// another they are multi-user, rejected.
func TestMultiUserRules(t *testing.T) {
	table, _ := EmbeddedTable("unikraft@0.17.0")
	j, _ := NewJudge(table, nil)
	for _, tt := range []struct {
		name, args string
		rejected   bool
	}{
		{"setgid", "0", false}, {"setgid", "0x0", false}, {"setuid", "0", false}, {"setgid", "NULL, NULL, NULL, 0x55f3, 0x7ffe, 0x1", false},
		{"setgid", "65534", true}, {"setuid", "0x3e8", true},
		{"setgroups", "0x0, 0x0", false}, {"setgroups", "1, [65534]", true},
		{"setresuid", "-1, 1000, -1", true},
	} {
		key, level, _ := j.Support(trace.ArchX86_64, &trace.Event{Kind: trace.KindSyscall, Name: tt.name, Args: tt.args})
		if level.Absent() != tt.rejected {
			t.Errorf("%s(%s): %s %s, rejected %v, want %v", tt.name, tt.args, key, level, level.Absent(), tt.rejected)
		}
		if tt.rejected && !strings.Contains(key, "multi-user") {
			t.Errorf("%s(%s): key %q", tt.name, tt.args, key)
		}
	}
}

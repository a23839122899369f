package report

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
)

// TestProfileOfStraceStacks builds a profile from the real strace -k
// recording, checks it, reads it back and opens it with go tool pprof.
func TestProfileOfStraceStacks(t *testing.T) {
	table, err := analyze.EmbeddedTable("unikraft")
	if err != nil {
		t.Fatal(err)
	}
	r, err := trace.Open("../fixtures/strace/sysmix-k.strace", trace.Options{Arch: trace.ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	judge, err := analyze.NewJudge(table, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := NewProfileBuilder()
	cb := analyze.NewCoverageBuilder("sysmix", "sysmix-k.strace", r.Header(), judge, nil)
	for r.Scan() {
		ev := r.Event()
		cb.Add(ev)
		key, _, _ := judge.Support(trace.ArchX86_64, ev)
		b.Add(ev, 0, key)
	}
	cov := cb.Coverage(nil)
	p, err := b.Profile("calls", []*analyze.AppCoverage{cov})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteProfile(&buf, p); err != nil {
		t.Fatal(err)
	}
	back, err := profile.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	var fork *profile.Sample
	for _, s := range back.Sample {
		total += s.Value[0]
		if s.Label["syscall"][0] == "clone" {
			fork = s
		}
	}
	if total != 90 {
		t.Errorf("%d calls in the profile, want the 90 syscalls of the trace", total)
	}
	// The profile's labels are the coverage report's: one judge.
	var covFork *analyze.UsedSyscall
	for _, u := range cov.Used {
		if u.Key == "clone (fork)" {
			covFork = u
		}
	}
	if fork == nil || covFork == nil || fork.Label["status"][0] != "missing" || fork.Label["class"][0] != "fork (main)" || fork.Label["impact"][0] != string(covFork.Impact) {
		t.Fatalf("fork sample %+v", fork)
	}
	var names []string
	for _, l := range fork.Location {
		names = append(names, l.Line[0].Function.Name)
	}
	want := "syscall clone _Fork __libc_fork main __libc_init_first __libc_start_main _start"
	if got := strings.Join(names[:len(names)-1], " "); got != want || !strings.HasPrefix(names[len(names)-1], "process ") {
		t.Errorf("fork stack %q, want %q then the process", names, want)
	}
	// go tool pprof opens it.
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH: cannot run go tool pprof")
	}
	path := filepath.Join(t.TempDir(), "hot.pb.gz")
	os.WriteFile(path, buf.Bytes(), 0o644)
	out, err := exec.Command(gobin, "tool", "pprof", "-top", "-tagfocus=status=missing", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "syscall clone") {
		t.Errorf("go tool pprof: %v\n%s", err, out)
	}
}

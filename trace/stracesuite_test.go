package trace

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStraceSuite runs a sample of strace's own test programs under the
// strace at hand, in the option sets people use, and reads every output
// with --strict: each must read without a malformed line, and its calls
// and errors per syscall must equal strace's own -C table of the same run.
//
// It needs a strace source tree, SYSCOV_STRACE_SRC (Debian's: `apt-get
// source strace` for the installed version; any release tarball works), to
// build the test programs from: the test configures it (in the tree when
// it is not yet, or in SYSCOV_STRACE_BUILD) and builds the sample with
// make and gcc. SYSCOV_STRACE_SAMPLE is how many programs of its list of
// programs without side effects (tests/pure_executables.list) to take,
// spread over the list (default 40; "all" for every one), besides the
// programs of the shapes this reader had to learn. SYSCOV_STRACE names
// another strace binary to run them under than the one on PATH.
//
// What strace's own table gets wrong is not held against the reader (see
// countLikeStrace and diffStraceC): strace 6.1 leaves calls it has no
// name for out of its table, counts "= ? <unavailable>" with the error of
// the thread's call before, and counts no error for "= 4294967258 ENOSYS"
// (strace 7.2 does).
// strace cannot print -C with -ff: the -ff set of a program is compared
// with the table of its -f run, so a program whose calls differ from run to
// run is set aside there (its -f run, twice, must agree with itself).
func TestStraceSuite(t *testing.T) {
	src := os.Getenv("SYSCOV_STRACE_SRC")
	if src == "" {
		t.Skip("SYSCOV_STRACE_SRC is not set: no strace source tree to build strace's test programs from (apt-get source strace)")
	}
	straceBin := os.Getenv("SYSCOV_STRACE") // another strace than the one on PATH
	if straceBin == "" {
		var err error
		if straceBin, err = exec.LookPath("strace"); err != nil {
			t.Skip("strace is not installed")
		}
	}
	major := 0
	if v, err := exec.Command(straceBin, "-V").Output(); err == nil {
		first := strings.SplitN(string(v), "\n", 2)[0]
		t.Logf("%s: %s", straceBin, first)
		if i := strings.Index(first, "version "); i >= 0 {
			major, _ = strconv.Atoi(strings.SplitN(first[i+8:], ".", 2)[0])
		}
	}
	if major == 0 {
		t.Fatalf("%s -V names no version", straceBin)
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc is not installed: strace's test programs cannot be built")
	}
	src, _ = filepath.Abs(src)
	build := suiteBuild(t, src)
	progs := suiteSample(t, src)
	tests := filepath.Join(build, "tests")
	var built []string
	for _, p := range progs {
		name := strings.Fields(p)[0]
		if _, err := os.Stat(filepath.Join(tests, name)); err != nil {
			cmd := exec.Command("nice", "make", "-s", "-C", tests, name)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("%s does not build here (left out): %s", p, lastLine(out))
				continue
			}
		}
		built = append(built, p)
	}
	if len(built) == 0 {
		t.Fatal("no test program of strace built")
	}
	work := t.TempDir()
	type result struct{ prog, set, why string }
	var failed []result
	runs, passed := 0, 0
	perSet := map[string][2]int{}
	for _, p := range built {
		argv := strings.Fields(p)
		argv[0] = filepath.Join(tests, argv[0])
		var fTable map[string][2]int
		for _, set := range suiteSets {
			why, table, ok := runSuiteSet(t, straceBin, major, argv, work, set, fTable)
			if set.name == "-f" {
				fTable = table
			}
			if reason, ok := strings.CutPrefix(why, "skip"); ok {
				if reason != "" {
					t.Logf("%s under strace %s: set aside%s", p, set.name, reason)
				}
				continue
			}
			runs++
			c := perSet[set.name]
			c[0]++
			if ok {
				passed++
				c[1]++
			} else {
				failed = append(failed, result{p, set.name, why})
			}
			perSet[set.name] = c
		}
	}
	var names []string
	for n := range perSet {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("%-22s %d/%d outputs pass", n, perSet[n][1], perSet[n][0])
	}
	t.Logf("strace's test programs: %d built of %d sampled; %d outputs, %d pass --strict with strace's -C counts (%.1f %%)",
		len(built), len(progs), runs, passed, 100*float64(passed)/float64(max(runs, 1)))
	for _, f := range failed {
		t.Errorf("%s under strace %s: %s", f.prog, f.set, f.why)
	}
}

// suiteSet is one way of running strace: its options, and whether it
// writes to stderr (the program's own stderr in the same stream) or one
// file per process.
type suiteSet struct {
	name   string
	opts   []string
	stderr bool
	ff     bool
}

var suiteSets = []suiteSet{
	{name: "-f", opts: []string{"-f"}},
	{name: "-f -tt -T -y", opts: []string{"-f", "-tt", "-T", "-y"}},
	{name: "-f -yy -X verbose", opts: []string{"-f", "-yy", "-X", "verbose"}},
	{name: "-f -k", opts: []string{"-f", "-k"}},
	{name: "-f -n -Y", opts: []string{"-f", "-n", "-Y"}},
	{name: "-ff", opts: []string{"-ff"}, ff: true},
	{name: "stderr -f", opts: []string{"-f"}, stderr: true},
	{name: "stderr -f -tt -T -yy", opts: []string{"-f", "-tt", "-T", "-yy"}, stderr: true},
	// Injected faults: " (INJECTED)" results, and programs that take
	// the paths of their errors.
	{name: "-f -ttt -T -yy --inject", opts: []string{"-f", "-ttt", "-T", "-yy", "-e", "inject=%file:error=ENOENT:when=5+"}},
}

// runSuiteSet traces bin under one set and checks the output. It returns
// why the output fails ("" when it passes, "skip" when it cannot be
// judged), the -C table of the run, and whether it passed.
func runSuiteSet(t *testing.T, straceBin string, major int, argv []string, work string, set suiteSet, fTable map[string][2]int) (string, map[string][2]int, bool) {
	bin := argv[0]
	base := filepath.Join(work, filepath.Base(bin)+"."+strings.NewReplacer(" ", "", "-", "").Replace(set.name))
	args := append([]string{}, set.opts...)
	out := base + ".out"
	switch {
	case set.ff:
		if fTable == nil {
			return "skip", nil, false
		}
		os.MkdirAll(base, 0o755)
		out = filepath.Join(base, "trace")
		args = append(args, "-o", out)
	case set.stderr:
		args = append(args, "-C")
	default:
		args = append(args, "-C", "-o", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Each run in a directory of its own: some programs leave files
	// behind that change the next run (mkdir: EEXIST). Their paths are
	// of one length: programs that print their paths (-y tests) make as
	// many writes in each.
	cwd := suiteCwd(work, bin, set.name)
	cmd := exec.CommandContext(ctx, straceBin, append(args, argv...)...)
	cmd.Dir = cwd
	cmd.Stdin = nil
	var stderr bytes.Buffer
	if set.stderr {
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stderr = f
	} else {
		cmd.Stderr = &stderr
	}
	cmd.Run() // test programs may fail or skip (exit 77): their trace counts all the same
	if ctx.Err() != nil {
		return "skip: it ran for more than 30 s", nil, false
	}
	var table map[string][2]int
	if set.ff {
		table = fTable
	} else {
		f, err := os.Open(out)
		if err != nil {
			// strace refused the options: -k in a strace built
			// without stack tracing
			return "skip: strace wrote nothing (" + lastLine(stderr.Bytes()) + ")", nil, false
		}
		table = readStracecTable(f)
		f.Close()
		if len(table) == 0 {
			// strace itself failed, or was killed with its tracee
			return "skip: strace printed no -C table (" + lastLine(stderr.Bytes()) + ")", nil, false
		}
	}
	r, err := Open(out, Options{Arch: HostArch(), Strict: true})
	if err != nil {
		return "open: " + err.Error(), table, false
	}
	got := countLikeStrace(r, major)
	rerr := r.Err()
	r.Close()
	if rerr != nil {
		return "--strict: " + rerr.Error(), table, false
	}
	want := map[string][2]int{}
	for k, v := range table {
		want[k] = v
	}
	if diffs := diffStraceC(got, want); len(diffs) > 0 {
		if set.ff && !suiteDeterministic(straceBin, argv, work, table) {
			return "skip: its calls differ from run to run (-ff is compared with another run's table)", table, false
		}
		return strings.Join(diffs, "; "), table, false
	}
	return "", table, true
}

// suiteDeterministic runs bin under strace -f -c once more and reports
// whether its table equals table.
func suiteDeterministic(straceBin string, argv []string, work string, table map[string][2]int) bool {
	bin := argv[0]
	out := filepath.Join(work, filepath.Base(bin)+".again")
	cmd := exec.Command(straceBin, append([]string{"-f", "-c", "-o", out}, argv...)...)
	cmd.Dir = suiteCwd(work, bin, "again")
	cmd.Run()
	f, err := os.Open(out)
	if err != nil {
		return false
	}
	defer f.Close()
	again := readStracecTable(f)
	delete(again, "total")
	want := map[string][2]int{}
	for k, v := range table {
		if k != "total" {
			want[k] = v
		}
	}
	return len(diffStraceC(again, want)) == 0
}

// suiteCwd makes the directory a run of bin starts in: one per run, all
// with paths of one length.
func suiteCwd(work, bin, set string) string {
	n := len(suiteSets)
	for i, s := range suiteSets {
		if s.name == set {
			n = i
		}
	}
	dir := filepath.Join(work, "cwd", filepath.Base(bin), fmt.Sprintf("%02d", n))
	os.MkdirAll(dir, 0o755)
	return dir
}

// suiteBuild configures the strace tree src for its tests (once) and
// returns the build directory.
func suiteBuild(t *testing.T, src string) string {
	build := os.Getenv("SYSCOV_STRACE_BUILD")
	if build == "" {
		if _, err := os.Stat(filepath.Join(src, "tests", "Makefile")); err == nil {
			build = src // configured in the tree already
		} else {
			build = t.TempDir()
		}
	}
	if _, err := os.Stat(filepath.Join(build, "tests", "Makefile")); err != nil {
		if _, err := os.Stat(filepath.Join(src, "configure")); err != nil {
			t.Skipf("%s has no configure script (a git checkout: run ./bootstrap in it first)", src)
		}
		os.MkdirAll(build, 0o755)
		cmd := exec.Command("nice", filepath.Join(src, "configure"), "--enable-mpers=no")
		cmd.Dir = build
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("configure of %s: %v: %s", src, err, lastLine(out))
		}
	}
	for _, step := range [][]string{{"-C", filepath.Join(build, "src"), "scno.h"}, {"-C", filepath.Join(build, "tests"), "libtests.a"}} {
		cmd := exec.Command("nice", append([]string{"make", "-s", "-j2"}, step...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v: %s", strings.Join(step, " "), err, lastLine(out))
		}
	}
	return build
}

// suiteShapes are strace test programs whose output has the shapes the
// reader had to learn: shifts in flags (caps, FUTEX_WAKE_OP, prctl), a
// 32-bit call, an execve from a thread, modify_ldt's unsigned errors,
// character literals, strace's warnings and unknown syscalls.
// An entry may give the program's arguments, as its .test script does:
// kill_child kills children in sched_yield loops ("= ? <unavailable>"),
// looping_threads (TIMEOUT THREADS) forks and kills looping processes.
var suiteShapes = []string{"caps", "caps-abbrev", "futex", "prctl-cap-ambient", "prctl-capbset", "modify_ldt",
	"int_0x80", "maybe_switch_current_tcp", "ioctl_kd", "ioctl_v4l2", "umoven-illptr", "clone3", "execve", "execveat",
	"kill_child", "looping_threads 3 4"}

// suiteSample picks the programs: SYSCOV_STRACE_SAMPLE of the list of
// programs without side effects, spread over it, and the shapes.
func suiteSample(t *testing.T, src string) []string {
	f, err := os.Open(filepath.Join(src, "tests", "pure_executables.list"))
	if err != nil {
		t.Fatalf("%s is not a strace source tree: %v", src, err)
	}
	defer f.Close()
	var pure []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			pure = append(pure, l)
		}
	}
	n := 40
	if v := os.Getenv("SYSCOV_STRACE_SAMPLE"); v == "all" {
		n = len(pure)
	} else if v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("SYSCOV_STRACE_SAMPLE=%q: want a number or all", v)
		}
	}
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	step := max(1, len(pure)/max(n, 1))
	for i := 0; i < len(pure) && len(out) < n; i += step {
		add(pure[i])
	}
	for _, p := range suiteShapes {
		add(p)
	}
	return out
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return fmt.Sprint(lines[len(lines)-1])
}

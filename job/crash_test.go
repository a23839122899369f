package job

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/elfcode"
)

// A RIP in the kernel (the second fault of the 0.17 page-fault fixture,
// in the frame walk) is placed in the real image, which is stripped: the
// note says what would name the function.
func TestExplainCrashInTheKernel(t *testing.T) {
	dir := os.Getenv("SYSCOV_UNIKRAFT_IMAGES")
	image := filepath.Join(dir, "elfloader_qemu-x86_64")
	if _, err := os.Stat(image); dir == "" || err != nil {
		t.Skip("SYSCOV_UNIKRAFT_IMAGES does not name the real Unikraft images")
	}
	h := trace.Header{Version: 1, Origin: "unikernel", Command: []string{filepath.Join(t.TempDir(), "gone")}, VMM: []string{"qemu-system-x86_64", "-kernel", image}, Accel: "tcg"}
	path := filepath.Join(t.TempDir(), "u.trace")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := trace.NewWriter(f, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	rip := trace.Hex(0x103077)
	d := &analyze.Diff{Crash: &analyze.CrashReport{Crash: trace.Crash{Kind: "general protection", Trap: 13, RIP: &rip, Message: "Unhandled Trap 13 (general protection), error code=0x0"}}}
	ExplainCrash(d, path, h)
	c := d.Crash
	if c.Where == nil || c.Where.Role != "kernel" || c.Where.Offset != rip {
		t.Fatalf("where = %+v, notes %q", c.Where, c.Notes)
	}
	if c.Instruction == "" {
		t.Errorf("no instruction decoded at the kernel's RIP")
	}
	if !strings.Contains(strings.Join(c.Notes, "\n"), "stripped") {
		t.Errorf("notes %q do not say the image is stripped", c.Notes)
	}
	if !strings.Contains(strings.Join(c.Notes, "\n"), "the app cannot be read") {
		t.Errorf("notes %q do not say the app is gone", c.Notes)
	}
}

// An assertion right after a failed mmap: no code to place, the ENOMEM
// said.
func TestExplainCrashAfterENOMEM(t *testing.T) {
	r, err := trace.Open("../fixtures/unikraft/crash-assert.log", trace.Options{Origin: trace.OriginUnikernel})
	if err != nil {
		t.Fatal(err)
	}
	b := analyze.NewDiffBuilder(2, nil)
	for r.Scan() {
		b.AddUnikernel(r.Event())
	}
	d := b.Diff()
	if d.Crash == nil || d.Crash.Kind != "assertion" || len(d.Crash.LastSyscalls) != 1 {
		t.Fatalf("crash %+v", d.Crash)
	}
	ExplainCrash(d, "", trace.Header{})
	if len(d.Crash.Notes) != 1 || !strings.Contains(d.Crash.Notes[0], "ENOMEM (mmap(NULL, 1073741824") {
		t.Errorf("notes %q", d.Crash.Notes)
	}
	if !strings.HasPrefix(d.Crash.Headline(), "the unikernel crashed: assertion: pthread_self() != NULL") {
		t.Errorf("headline %q", d.Crash.Headline())
	}
}

// The load bases of a dynamic app and of ld.so come from their RELRO
// mprotects, in the order glibc makes them (the app's, then ld.so's), and
// a library's from ld.so's mmap of the fd it opened it on: a RIP in ld.so
// is placed in the ELF interpreter. (The real-image test crashes in the
// app and in a library; this one writes the syscalls of such a run.)
func TestCrashPlacedInTheInterpreter(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc is not installed")
	}
	app := filepath.Join(t.TempDir(), "pf")
	if b, err := exec.Command(gcc, "-O1", "-g", "-pie", "-fPIE", "-o", app, "../fixtures/src/pagefault.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	ao, err := elfcode.Open(app)
	if err != nil {
		t.Fatal(err)
	}
	defer ao.Close()
	lo, err := elfcode.Open(ao.Interp)
	if err != nil {
		t.Skipf("the ELF interpreter %s: %v", ao.Interp, err)
	}
	defer lo.Close()
	libc := "/lib/x86_64-linux-gnu/libc.so.6"
	co, err := elfcode.Open(libc)
	if err != nil {
		t.Skipf("%s: %v", libc, err)
	}
	defer co.Close()
	const appBase, ldBase, libcBase = 0x1000044000, 0x100007e000, 0x10000b3000
	as, al, _ := ao.RelroPages()
	ls, ll, _ := lo.RelroPages()
	cs, cl, _ := co.RelroPages()
	// _dl_catch_exception or any function of ld.so with a symbol.
	var fn string
	var fnAddr uint64
	for _, name := range []string{"_dl_catch_exception", "_dl_debug_state", "__tls_get_addr"} {
		if a, ok := symbolAddr(t, ao.Interp, name); ok {
			fn, fnAddr = name, a
			break
		}
	}
	if fn == "" {
		t.Skip("the ELF interpreter names none of the functions looked for")
	}
	h := trace.Header{Version: 1, Origin: "unikernel", Command: []string{app}, Accel: "tcg"}
	path := filepath.Join(t.TempDir(), "u.trace")
	f, _ := os.Create(path)
	w, _ := trace.NewWriter(f, h)
	for _, ev := range []trace.Event{
		{Name: "openat", Args: `AT_FDCWD, "` + libc + `", O_RDONLY|O_CLOEXEC`, Ret: "fd:3", RetVal: 3},
		{Name: "mmap", Args: "NULL, 1974096, PROT_READ, MAP_PRIVATE|MAP_DENYWRITE, fd:3, 0", Ret: "va:0x10000b3000", RetVal: libcBase},
		{Name: "mmap", Args: "va:0x10000d9000, 1400832, PROT_EXEC|PROT_READ, MAP_PRIVATE|MAP_DENYWRITE|MAP_FIXED, fd:3, 155648", Ret: "va:0x10000d9000", RetVal: 0x10000d9000},
		{Name: "mprotect", Args: fmt.Sprintf("va:0x%x, %d, PROT_READ", libcBase+cs, cl), Ret: "OK"},
		{Name: "mprotect", Args: fmt.Sprintf("va:0x%x, %d, PROT_READ", appBase+as, al), Ret: "OK"},
		{Name: "mprotect", Args: fmt.Sprintf("va:0x%x, %d, PROT_READ", ldBase+ls, ll), Ret: "OK"},
	} {
		ev.Kind, ev.Status, ev.PID, ev.TID, ev.Origin = trace.KindSyscall, trace.StatusOK, 1, 1, trace.OriginUnikernel
		if err := w.Write(&ev); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	f.Close()
	for _, tc := range []struct {
		rip      uint64
		role, fn string
		base     uint64
	}{
		{ldBase + fnAddr, "ELF interpreter", fn, ldBase},
		{appBase + mustSym(t, app, "poke"), "app", "poke", appBase},
		{libcBase + mustSym(t, libc, "abort"), "library", "abort", libcBase},
	} {
		rip := trace.Hex(tc.rip)
		d := &analyze.Diff{Crash: &analyze.CrashReport{Crash: trace.Crash{Kind: "page fault", Trap: 14, RIP: &rip, Message: "x"}}}
		ExplainCrash(d, path, h)
		p := d.Crash.Where
		if p == nil || p.Role != tc.role || uint64(p.Base) != tc.base || p.Func != tc.fn || p.FuncOffset != 0 {
			t.Errorf("RIP %#x: where %+v, want the %s at %#x in %s; notes %q", rip, p, tc.role, tc.base, tc.fn, d.Crash.Notes)
		}
	}
}

func mustSym(t *testing.T, path, name string) uint64 {
	a, ok := symbolAddr(t, path, name)
	if !ok {
		t.Skipf("%s has no symbol %s", path, name)
	}
	return a
}

func symbolAddr(t *testing.T, path, name string) (uint64, bool) {
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, get := range []func() ([]elf.Symbol, error){f.Symbols, f.DynamicSymbols} {
		ss, _ := get()
		for _, s := range ss {
			if s.Name == name && elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value != 0 {
				return s.Value, true
			}
		}
	}
	return 0, false
}

func TestReleaseOf(t *testing.T) {
	for in, want := range map[string][3]int{"Calypso (0.17.0~eaf6fda1-custom)": {0, 17, 0}, "Helene (0.18.0~424eb3d9)": {0, 18, 0}, "Pandora (0.15.0)": {0, 15, 0}, "Kiviuq (0.20.1~5e3c1a7b)": {0, 20, 1}} {
		if v, ok := releaseOf(in); !ok || v != want {
			t.Errorf("%q: %v %v", in, v, ok)
		}
	}
	if _, ok := releaseOf("no version"); ok {
		t.Errorf("a banner without a version read as one")
	}
	if !lessVersion([3]int{0, 15, 0}, [3]int{0, 16, 3}) || lessVersion([3]int{0, 17, 0}, [3]int{0, 16, 3}) {
		t.Errorf("lessVersion")
	}
}

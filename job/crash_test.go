package job

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
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
	rip := uint64(0x103077)
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

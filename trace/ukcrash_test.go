package trace

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// crashOf reads a console log and scans its crash.
func crashOf(t testing.TB, data []byte, name string) *Crash {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), name, 0, Options{Format: FormatUnikraft, Arch: ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	var s CrashScanner
	for r.Scan() {
		s.Add(r.Event())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return s.Crash()
}

func TestCrashFixtures(t *testing.T) {
	u := func(v uint64) uint64 { return v }
	for _, tc := range []struct {
		file, kind   string
		trap         int
		rip          uint64
		addr         uint64
		access       string
		nested, text string
		callers      int
		version      string
	}{
		{file: "crash-avx512-0.17.log", kind: "invalid opcode", trap: 6, rip: u(0x100010f6d9), text: "Unhandled Trap 6 (invalid opcode), error code=0x0"},
		{file: "crash-avx2-off-0.18.log", kind: "invalid opcode", trap: 6, rip: u(0x100010f6d9)},
		{file: "crash-pagefault-0.17.log", kind: "page fault", trap: 14, rip: u(0x100010e6d9), addr: 0xdead000, access: "write of an unmapped address",
			nested: "Unhandled Trap 13 (general protection), error code=0x0", callers: 2},
		{file: "crash-pagefault-dyn-0.18.log", kind: "page fault", trap: 14, addr: 0xdead000, access: "write of an unmapped address",
			nested: "Cannot handle read page fault at 0x9 (ec: 0x0): Bad address (14)."},
		{file: "crash-screen-0.20.log", kind: "invalid opcode", trap: 6, rip: u(0x100010f6d9), callers: 1, version: "Kiviuq (0.20.0~5e3c1a7b)"},
		{file: "crash-assert.log", kind: "assertion", trap: -1, text: "Assertion failure: pthread_self() != NULL"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile("../fixtures/unikraft/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			c := crashOf(t, data, tc.file)
			if c == nil {
				t.Fatal("no crash read")
			}
			if c.Kind != tc.kind || c.Trap != tc.trap {
				t.Errorf("kind %q trap %d, want %q %d", c.Kind, c.Trap, tc.kind, tc.trap)
			}
			if tc.rip != 0 && (c.RIP == nil || uint64(*c.RIP) != tc.rip) {
				t.Errorf("RIP %v, want %#x", c.RIP, tc.rip)
			}
			if tc.rip != 0 && c.RSP == nil {
				t.Errorf("no RSP")
			}
			if tc.addr != 0 && (c.Addr == nil || uint64(*c.Addr) != tc.addr || c.Access != tc.access) {
				t.Errorf("addr %v access %q, want %#x %q", c.Addr, c.Access, tc.addr, tc.access)
			}
			if c.Nested != tc.nested {
				t.Errorf("nested %q, want %q", c.Nested, tc.nested)
			}
			if tc.text != "" && c.Message != tc.text {
				t.Errorf("message %q, want %q", c.Message, tc.text)
			}
			if tc.callers > 0 && len(c.Callers) != tc.callers {
				t.Errorf("callers %x, want %d", c.Callers, tc.callers)
			}
			if c.Version != tc.version {
				t.Errorf("version %q, want %q", c.Version, tc.version)
			}
			if c.Pos.Line < 1 || c.Pos.File != tc.file || c.At != c.Pos.String() {
				t.Errorf("pos %v", c.Pos)
			}
			if r15, ok := c.Reg("R15"); tc.rip != 0 && (!ok || r15 != 1) {
				t.Errorf("R15 = %#x, %v", r15, ok)
			}
		})
	}
}

func TestCrashLines(t *testing.T) {
	for _, tc := range []struct {
		name, log, want string
	}{
		{"old page fault line", "CRIT: [libkvmplat] <traps.c @  103> Unhandled page fault vaddr=0x8, error code=0x4\n", "page fault (trap 14): read of an unmapped address at 0x8"},
		{"instruction fetch violating protection", "CRIT: [libukvmem] <pagefault.c @   43> Cannot handle exec page fault at 0x400000 (ec: 0x11): Bad address (14).\n", "page fault (trap 14): instruction fetch violating the page's protection at 0x400000"},
		{"UK_CRASH with its own message", "CRIT: [libukboot] <boot.c @  320> Failed to set up the stack\nCRIT: [libukboot] <boot.c @  320> Crashing\n", "crash: Failed to set up the stack"},
		{"general protection with registers", "CRIT: [libkvmplat] <traps.c @   84> Unhandled Trap 13 (general protection), error code=0x0\nCRIT: [libkvmplat] <trace.c @   41> RIP: 0000000000103077 CS: 0008\n", "general protection (trap 13), RIP 0x103077"},
		{"out of memory, then the crash", "ERR:  [libukalloc] <alloc.c @  80> Out of memory\nCRIT: [libukboot] <boot.c @  320> Crashing\n", "out of memory: Out of memory"},
		{"a failed allocation alone is no crash", "ERR:  [libukalloc] <alloc.c @  80> Failed to allocate 4096 bytes\nwrite(fd:1, \"ok\", 2) = 2\n", ""},
		{"no crash", "CRIT: [libkvmplat] RIP: 0000000000103077 CS: 0008\nwrite(fd:1, \"RIP: 1\", 6) = 6\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := crashOf(t, []byte(tc.log), "x.log")
			got := ""
			if c != nil {
				got = c.String()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzCrashScanner: any console gives a crash or none, never a panic,
// and a crash always says where it was read.
func FuzzCrashScanner(f *testing.F) {
	addFixtureSeeds(f, "../fixtures/unikraft/crash-*.log")
	f.Add([]byte("CRIT: Unhandled Trap 6 (invalid opcode), error code=0xZZ\nCRIT: RIP: 0008:\nCRIT:  [0x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := crashOf(t, data, "fuzz")
		if c == nil {
			return
		}
		if c.Pos.Line < 1 || c.Kind == "" || c.Message == "" {
			t.Fatalf("crash without place or kind: %+v", c)
		}
		if !strings.Contains(c.String(), c.Kind) {
			t.Fatalf("String %q lacks the kind", c.String())
		}
	})
}

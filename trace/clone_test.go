package trace

import (
	"bytes"
	"testing"
)

// Clone flags are read from text once, into a number.
func TestParseCloneFlags(t *testing.T) {
	for _, tt := range []struct {
		name, args string
		want       uint64
		ok         bool
	}{
		{"clone", "child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f", 0x1200011, true},
		{"clone", "flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, 0x7f", 0x3d0f00, true},
		{"clone3", "{flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, stack=0x7f, stack_size=0x9000}, 88", 0x4100 | 17, true},
		{"clone", "0x3d0f00, 0x7f, 0x0", 0x3d0f00, true},
		{"clone3", "0x7ffd4c, 0x58", 0, false},
		{"clone", "flags=CLONE_FROBNICATE", 0, false},
	} {
		got, ok := ParseCloneFlags(tt.name, tt.args)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s(%s): %#x %v, want %#x %v", tt.name, tt.args, got, ok, tt.want, tt.ok)
		}
	}
}

// The number travels in syscov's trace file, and a strace line gets it
// from its reader.
func TestCloneFlagsTravel(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Origin: "native"})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(&Event{Kind: KindSyscall, PID: 1, TID: 1, Name: "clone3", Nr: 435, Args: "0x7ffd, 88", RetVal: 2, Status: StatusOK, Duration: -1, CloneFlags: 0x3d0f00, HasCloneFlags: true})
	w.Close()
	r, err := NewReader(&buf, "t.trace", 0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Scan() {
		t.Fatalf("no event: %v", r.Err())
	}
	if ev := r.Event(); !ev.HasCloneFlags || ev.CloneFlags != 0x3d0f00 {
		t.Errorf("read back %#x %v", ev.CloneFlags, ev.HasCloneFlags)
	}
	sr, err := NewReader(bytes.NewBufferString("42 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 43\n"), "s.strace", 0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !sr.Scan() {
		t.Fatalf("no strace event: %v", sr.Err())
	}
	if ev := sr.Event(); !ev.HasCloneFlags || ev.CloneFlags != 0x1200011 {
		t.Errorf("strace: %#x %v", ev.CloneFlags, ev.HasCloneFlags)
	}
}

package ebpf

import (
	"encoding/binary"
	"testing"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/sysargs"
)

// rawRecord builds a record as the BPF program lays it out.
func rawRecord(typ uint16, nr uint32, ret int64, args [6]uint64, regions ...region) []byte {
	b := make([]byte, headerSize+len(regions)*regionSize)
	le := binary.LittleEndian
	le.PutUint64(b[0:], 1000)
	le.PutUint64(b[8:], 3000)
	le.PutUint32(b[16:], 42)
	le.PutUint32(b[20:], 43)
	le.PutUint64(b[24:], uint64(ret))
	for i, a := range args {
		le.PutUint64(b[32+8*i:], a)
	}
	le.PutUint32(b[80:], nr)
	le.PutUint16(b[84:], typ)
	le.PutUint16(b[86:], uint16(len(regions)))
	for i, r := range regions {
		rb := b[headerSize+i*regionSize:]
		le.PutUint64(rb, r.addr)
		le.PutUint16(rb[8:], uint16(len(r.data)))
		rb[10], rb[11] = r.arg, r.flags
		copy(rb[16:], r.data)
	}
	return b
}

// TestRecordArguments: a syscall record decodes into the strace text of
// its arguments from the memory the program copied: a path, a cut path,
// and a pointer that was not copied (its value).
func TestRecordArguments(t *testing.T) {
	long := make([]byte, regionData)
	for i := range long {
		long[i] = 'a'
	}
	long[regionData-1] = 0
	tests := []struct {
		name string
		nr   uint32
		args [6]uint64
		regs []region
		want string
	}{
		{"openat", 257, [6]uint64{0xffffff9c, 0x1000, 0x80000}, []region{{addr: 0x1000, arg: 1, flags: regString, data: []byte("/etc/hostname\x00")}},
			`AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC, 00`},
		{"openat", 257, [6]uint64{0xffffff9c, 0x1000, 0}, []region{{addr: 0x1000, arg: 1, flags: regString, data: long}},
			`AT_FDCWD, "` + string(long[:regionData-1]) + `"..., O_RDONLY, 00`},
		{"openat", 257, [6]uint64{0xffffff9c, 0x1000, 0}, []region{{addr: 0x1000, arg: 1, flags: regString | regFailed}},
			`AT_FDCWD, 0x1000, O_RDONLY, 00`},
		{"connect", 42, [6]uint64{3, 0x2000, 16}, []region{{addr: 0x2000, arg: 1, data: []byte{2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}}},
			`3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, 16`},
		{"clone3", 435, [6]uint64{0x3000, 88}, []region{{addr: 0x3000, arg: 0, data: cloneArgs(0x10000|0x100, 0)}},
			`{flags=CLONE_VM|CLONE_THREAD, exit_signal=0}, 88`},
		{"execve", 59, [6]uint64{0x4000, 0x5000, 0x6000}, []region{
			{addr: 0x4000, arg: 0, flags: regString, data: []byte("/bin/ls\x00")},
			{addr: 0x5000, arg: 1, data: pointers(0x7000, 0x7100, 0)},
			{addr: 0x7000, arg: 1, flags: regString, data: []byte("ls\x00")},
			{addr: 0x7100, arg: 1, flags: regString, data: []byte("-l\x00")}},
			`"/bin/ls", ["ls", "-l"], 0x6000`},
	}
	tab := trace.Table(trace.ArchX86_64)
	for _, tt := range tests {
		r, err := decodeRecord(rawRecord(recSyscall, tt.nr, 0, tt.args, tt.regs...))
		if err != nil {
			t.Fatal(err)
		}
		name, _ := tab.Name(int(r.nr))
		if name != tt.name {
			t.Fatalf("nr %d is %s", r.nr, name)
		}
		if got := sysargs.Format(r.memory(), name, int(r.nr), r.args).Text; got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
	if _, err := decodeRecord(make([]byte, headerSize-1)); err == nil {
		t.Error("a short record decoded")
	}
	bad := rawRecord(recSyscall, 1, 0, [6]uint64{})
	binary.LittleEndian.PutUint16(bad[86:], 3) // regions it does not have
	if _, err := decodeRecord(bad); err == nil {
		t.Error("a record shorter than its regions decoded")
	}
}

func cloneArgs(flags, exitSignal uint64) []byte {
	b := make([]byte, sysargs.CloneArgsSize)
	binary.LittleEndian.PutUint64(b, flags)
	binary.LittleEndian.PutUint64(b[32:], exitSignal)
	return b
}

func pointers(ps ...uint64) []byte {
	b := make([]byte, 8*len(ps))
	for i, p := range ps {
		binary.LittleEndian.PutUint64(b[8*i:], p)
	}
	return b
}

// TestReorder: events go in the order of their times, only once they are
// older than the window, and a hold keeps the first one (and the rest)
// back.
func TestReorder(t *testing.T) {
	var o reorder
	var out []int64
	emit := func(ev *trace.Event) { out = append(out, ev.Time) }
	for _, at := range []uint64{10, 30, 20, 50, 40, 40, 5} {
		o.push(at, &trace.Event{Time: int64(at)})
	}
	o.flush(25, nil, false, emit)
	if want := []int64{5, 10, 20}; !equal(out, want) {
		t.Fatalf("flushed %v, want %v", out, want)
	}
	held := true
	o.flush(100, func(ev *trace.Event) bool { return !(held && ev.Time == 40) }, false, emit)
	if want := []int64{5, 10, 20, 30}; !equal(out, want) || o.len() != 3 {
		t.Fatalf("flushed %v (%d waiting), want %v and 3 held", out, o.len(), want)
	}
	// At the end every event goes, held or not, and hold still sees it.
	asked := 0
	o.flush(100, func(ev *trace.Event) bool { asked++; return !(held && ev.Time == 40) }, true, emit)
	if want := []int64{5, 10, 20, 30, 40, 40, 50}; !equal(out, want) || o.len() != 0 || asked != 3 {
		t.Fatalf("flushed %v (hold asked %d times), want %v and 3", out, asked, want)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzRecord: no record, however malformed, panics the decoder or the
// argument formatting of what it holds.
func FuzzRecord(f *testing.F) {
	f.Add(rawRecord(recSyscall, 257, 3, [6]uint64{0xffffff9c, 0x1000}, region{addr: 0x1000, arg: 1, flags: regString, data: []byte("/x\x00")}))
	f.Add(rawRecord(recSyscall, 59, 0, [6]uint64{0x4000, 0x5000}, region{addr: 0x5000, arg: 1, data: pointers(0x4000, 0)},
		region{addr: 0x4000, flags: regString, data: []byte("/bin/ls\x00")}))
	f.Add(rawRecord(recExec, 0, 7, [6]uint64{}, region{flags: regString, data: []byte("comm\x00")}))
	f.Add(rawRecord(recSyscall, 42, 0, [6]uint64{3, 0x2000, 110}, region{addr: 0x2000, arg: 1, data: []byte{1, 0, '/', 'r'}}))
	tab := trace.Table(trace.ArchX86_64)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		name, ok := tab.Name(int(r.nr))
		if !ok {
			name = "syscall"
		}
		sysargs.Format(r.memory(), name, int(r.nr), r.args)
	})
}

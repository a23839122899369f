package ebpf

import (
	"encoding/binary"
	"errors"
	"os"

	"github.com/syscov/syscov/trace"
)

// Options configure a traced run.
type Options struct {
	// Dir, Env: the command's working directory and environment (nil:
	// syscov's own).
	Dir string
	Env []string
	// Stdin, Stdout, Stderr of the command; nil is /dev/null.
	Stdin, Stdout, Stderr *os.File
	// Trace names the syscalls to record; empty records all. The others
	// are left out in the kernel, at the cost of a lookup.
	Trace []string
	// RingBuffer is the ring buffer's size in bytes (a power of two
	// pages; 0 is DefaultRingBuffer).
	RingBuffer int
	// OnEvent receives every event, in time order, from one goroutine;
	// the event is valid during the call (it is reused after).
	OnEvent func(*trace.Event)
	// Hold, when set, is asked before an event goes on: false keeps it,
	// and every later one, back until the next time it is asked (another
	// tracer adds something to it, the ptrace tracer its call stack). It
	// must say true at last; at the end of the run every event goes.
	Hold func(*trace.Event) bool
}

// DefaultRingBuffer is the ring buffer's default size: about 700,000
// syscall records, a few seconds of the busiest app on this scale of
// machine while user space is descheduled.
const DefaultRingBuffer = 64 << 20

// Result is how a traced run ended.
type Result struct {
	// ExitCode of the traced command, 128+N when signal N killed it.
	ExitCode   int
	Signal     string
	CoreDumped bool
	Events     int
	// Lost counts, per CPU, the records the ring buffer had no room for.
	Lost []uint64
}

// LostTotal is the sum of Lost.
func (r Result) LostTotal() uint64 {
	var n uint64
	for _, l := range r.Lost {
		n += l
	}
	return n
}

// The record layout of bpf/syscov.bpf.c (struct event, struct region).
const (
	recSyscall = iota + 1
	recNoReturn
	recFork
	recExit
	recSignal
	recExec

	headerSize = 88
	regionSize = 272
	regionData = 256
	maxRegions = 10

	regFailed = 1
	regString = 2
)

type region struct {
	addr  uint64
	arg   uint8
	flags uint8
	data  []byte // len bytes; a string's NUL included
}

type record struct {
	enterNs, exitNs uint64
	pid, tid        uint32
	ret             int64
	args            [6]uint64
	nr              uint32
	typ             uint16
	regions         []region
	comm            string // recExec
}

var errShortRecord = errors.New("short eBPF record")

// decodeRecord reads one ring buffer record.
func decodeRecord(b []byte) (record, error) {
	var r record
	if len(b) < headerSize {
		return r, errShortRecord
	}
	le := binary.LittleEndian
	r.enterNs, r.exitNs = le.Uint64(b[0:]), le.Uint64(b[8:])
	r.pid, r.tid = le.Uint32(b[16:]), le.Uint32(b[20:])
	r.ret = int64(le.Uint64(b[24:]))
	for i := range r.args {
		r.args[i] = le.Uint64(b[32+8*i:])
	}
	r.nr = le.Uint32(b[80:])
	r.typ = le.Uint16(b[84:])
	n := int(le.Uint16(b[86:]))
	if n > maxRegions || len(b) < headerSize+n*regionSize {
		return r, errShortRecord
	}
	for i := 0; i < n; i++ {
		rb := b[headerSize+i*regionSize : headerSize+(i+1)*regionSize]
		reg := region{addr: le.Uint64(rb), arg: rb[10], flags: rb[11]}
		l := min(int(le.Uint16(rb[8:])), regionData)
		if reg.flags&regFailed == 0 {
			reg.data = rb[16 : 16+l]
		}
		r.regions = append(r.regions, reg)
	}
	if r.typ == recExec && len(r.regions) == 1 {
		c := r.regions[0].data
		for i, ch := range c {
			if ch == 0 {
				c = c[:i]
				break
			}
		}
		r.comm = string(c)
	}
	return r, nil
}

// memory is what the program copied at the call, for sysargs.Format: a
// read succeeds only inside a copied region.
type memory []region

func (r *record) memory() memory { return memory(r.regions) }

func (m memory) Read(addr uint64, buf []byte) error {
	for _, reg := range m {
		if reg.data == nil || addr < reg.addr {
			continue
		}
		off := addr - reg.addr
		if off+uint64(len(buf)) <= uint64(len(reg.data)) {
			copy(buf, reg.data[off:])
			return nil
		}
	}
	return errNotCopied
}

// String is a C string copied at addr: complete unless the copy was cut
// at its size (the kernel's copy always ends with a NUL).
func (m memory) String(addr uint64, max int) (string, bool, error) {
	for _, reg := range m {
		if reg.data == nil || reg.addr != addr || reg.flags&regString == 0 {
			continue
		}
		d := reg.data
		complete := len(d) < regionData
		if n := len(d); n > 0 && d[n-1] == 0 {
			d = d[:n-1]
		}
		if len(d) > max {
			d, complete = d[:max], false
		}
		return string(d), complete, nil
	}
	return "", false, errNotCopied
}

var errNotCopied = errors.New("not copied at the call")

// reorder hands events on in the order of their records' times: the ring
// buffer is filled by every CPU at once, each record in the order it was
// reserved, which can differ from the order of the times taken just
// before by a few microseconds. Events wait reorderWindow ns before they
// go. Records come nearly in order, so an insertion from the back into a
// sorted queue costs a compare or two.
type reorder struct {
	q    []timed // sorted by at, from head on
	head int
}

const reorderWindow = 5_000_000 // 5 ms

type timed struct {
	at uint64
	ev *trace.Event
}

// push adds an event at time at (after the events of the same time).
func (o *reorder) push(at uint64, ev *trace.Event) {
	if o.head > 0 && o.head >= len(o.q)/2 && o.head >= 1024 {
		n := copy(o.q, o.q[o.head:])
		clear(o.q[n:])
		o.q, o.head = o.q[:n], 0
	}
	o.q = append(o.q, timed{at, ev})
	i := len(o.q) - 1
	for i > o.head && o.q[i-1].at > at {
		o.q[i] = o.q[i-1]
		i--
	}
	o.q[i] = timed{at, ev}
}

// flush hands on every event at or before until, in time order, as
// long as hold (when not nil) lets the first one go; with force, hold is
// asked (it completes the event if it can) but every event goes.
func (o *reorder) flush(until uint64, hold func(*trace.Event) bool, force bool, emit func(*trace.Event)) {
	for o.head < len(o.q) && o.q[o.head].at <= until {
		ev := o.q[o.head].ev
		if hold != nil && !hold(ev) && !force {
			return
		}
		o.q[o.head] = timed{}
		o.head++
		emit(ev)
	}
	if o.head == len(o.q) {
		o.q, o.head = o.q[:0], 0
	}
}

// len is the number of events waiting.
func (o *reorder) len() int { return len(o.q) - o.head }

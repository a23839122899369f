//go:build amd64

package ebpf

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	cebpf "github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/ptrace"
	"github.com/syscov/syscov/trace/sysargs"
)

// Tracer is one command traced with eBPF.
type Tracer struct {
	opts   Options
	tab    *trace.SyscallTable
	objs   syscovObjects
	links  []link.Link
	rd     *ringbuf.Reader
	helper *ptrace.Helper
	pid    int
	done   chan struct{}
	res    Result
	err    error
	// The reader's state (its goroutine alone).
	started    bool // the command's execve happened: records are the app's
	rootExited bool // the command's exit record was read
	// guardKilled: the guard died while the app ran (killed from outside).
	guardKilled bool
	known       map[int]bool   // tids of the app's tree
	comm        map[int]string // pid → its command name
	monoOff     int64          // wall-clock ns − CLOCK_MONOTONIC ns
	order       reorder
	latest      uint64 // the latest record time read
	free        []*trace.Event
	cur         []*trace.Event      // the batch being filled
	out         chan []*trace.Event // batches to the emitter
	recycle     chan []*trace.Event // batches back, their events free
	// stopped is closed once every process of the tree has ended: the
	// ring buffer then holds all there is to read.
	stopped    chan struct{}
	finishOnce sync.Once
	readErr    chan error
	execed     chan struct{} // closed when the command's execve happened
	guardErr   error
	rootSet    atomic.Int64 // pid, for the reader (Follow runs on another goroutine)
}

// Check says whether the eBPF backend can run here (--backend auto): the
// architecture, BTF, and the privileges to load and attach its programs.
// It loads them (with the default ring buffer) and attaches them once;
// the run that follows takes what it loaded instead of loading again.
func Check() error {
	checkOnce.Do(func() {
		if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
			checkErr = fmt.Errorf("the kernel has no BTF (/sys/kernel/btf/vmlinux)")
			return
		}
		t := &Tracer{tab: trace.Table(trace.ArchX86_64)}
		if checkErr = t.load(Options{}); checkErr != nil {
			return
		}
		for _, l := range t.links {
			l.Close()
		}
		spareMu.Lock()
		spare = &t.objs
		spareMu.Unlock()
	})
	return checkErr
}

var (
	checkOnce sync.Once
	checkErr  error
	// spare is what Check loaded, for the first run with the default
	// ring buffer.
	spareMu sync.Mutex
	spare   *syscovObjects
)

// load loads and attaches the programs and fills the capture table.
func (t *Tracer) load(opts Options) error {
	spareMu.Lock()
	if spare != nil && ringSize(opts.RingBuffer) == ringSize(0) {
		t.objs, spare = *spare, nil
		spareMu.Unlock()
	} else {
		spareMu.Unlock()
		if err := t.loadObjects(opts); err != nil {
			return err
		}
	}
	if err := t.fillSpecs(opts.Trace); err != nil {
		t.close()
		return err
	}
	return t.attach()
}

// loadObjects loads the programs and maps into the kernel (CO-RE against
// its BTF, and the verifier).
func (t *Tracer) loadObjects(opts Options) error {
	if err := privileged(); err != nil {
		return err
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; later ones
	// do not, and an unprivileged user fails below with a clearer error.
	rlimit.RemoveMemlock()
	spec, err := loadSyscov()
	if err != nil {
		return fmt.Errorf("eBPF: %w", err)
	}
	spec.Maps[syscovMapEvents].MaxEntries = ringSize(opts.RingBuffer)
	if err := spec.LoadAndAssign(&t.objs, nil); err != nil {
		var ve *cebpf.VerifierError
		if errors.As(err, &ve) {
			return fmt.Errorf("eBPF: the kernel's verifier refused syscov's program: %v", ve.Cause)
		}
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("eBPF: not permitted (run as root, or with CAP_BPF and CAP_PERFMON): %w", err)
		}
		return fmt.Errorf("eBPF: %w", err)
	}
	return nil
}

// attach attaches every program to its tracepoint.
func (t *Tracer) attach() error {
	for _, p := range []*cebpf.Program{t.objs.SysEnter, t.objs.SysExit, t.objs.SchedProcessFork, t.objs.SchedProcessExit,
		t.objs.SchedProcessExec, t.objs.SignalDeliver} {
		l, err := link.AttachTracing(link.TracingOptions{Program: p})
		if err != nil {
			t.close()
			return fmt.Errorf("eBPF: attach %s: %w", p, err)
		}
		t.links = append(t.links, l)
	}
	return nil
}

// RingSize is the ring buffer's size for a request of n bytes (0: the
// default): a power of two, at least 64 KiB, at most 1 GiB.
func RingSize(n int) int { return int(ringSize(n)) }

func ringSize(n int) uint32 {
	if n <= 0 {
		n = DefaultRingBuffer
	}
	size := uint32(1 << 16)
	for int(size) < n && size < 1<<30 {
		size <<= 1
	}
	return size
}

// fillSpecs tells the program what to copy for each syscall's arguments
// (what sysargs.Format will read) and which syscalls to leave out.
func (t *Tracer) fillSpecs(only []string) error {
	keep := map[int]bool{}
	for _, name := range only {
		nr := t.tab.Number(name)
		if nr < 0 {
			return fmt.Errorf("unknown syscall %q", name)
		}
		keep[nr] = true
	}
	for nr := 0; nr < maxNr; nr++ {
		var s syscovSpec
		name, ok := t.tab.Name(nr)
		if ok {
			caps, any := sysargs.Captures(name)
			for i, c := range caps {
				s.Kind[i] = captureKinds[c.Kind]
				s.Size[i] = uint8(min(c.Size, 255))
			}
			if any {
				s.Any = 1
			}
		}
		if len(keep) > 0 && !keep[nr] {
			s.Skip = 1
		}
		if err := t.objs.ArgCaptures.Put(uint32(nr), &s); err != nil {
			return fmt.Errorf("eBPF: %w", err)
		}
	}
	return nil
}

const maxNr = 512 // MAX_NR

var captureKinds = map[sysargs.CaptureKind]uint8{
	sysargs.CaptureNone: 0, sysargs.CaptureString: 1, sysargs.CaptureFixed: 2, sysargs.CaptureSizeArg: 3, sysargs.CaptureArgv: 4,
}

func (t *Tracer) close() {
	for _, l := range t.links {
		l.Close()
	}
	t.links = nil
	if t.rd != nil {
		t.rd.Close()
	}
	t.objs.Close()
}

// Start starts argv traced and returns once its exec helper runs traced
// (the command's execve comes next) or failed to start.
func Start(argv []string, opts Options) (*Tracer, error) {
	if len(argv) == 0 {
		return nil, errors.New("no command")
	}
	t, err := Load(opts)
	if err != nil {
		return nil, err
	}
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	h, err := ptrace.SpawnHelper(argv, ptrace.HelperConfig{Dir: opts.Dir, Env: env, Stdin: opts.Stdin, Stdout: opts.Stdout,
		Stderr: opts.Stderr, Guarded: true})
	if err != nil {
		t.Finish()
		return nil, err
	}
	if err := t.Follow(h.Pid); err != nil {
		h.Abort()
		t.Finish()
		return nil, err
	}
	t.helper = h
	h.Release()
	go func() {
		t.guardErr = h.Guard.Cmd.Wait()
		// The guard exits once the app's tree has ended, unless it was
		// killed itself (kill -9): the app then runs on, untraced. Its
		// process group (the guard's) is killed now, and the run is an
		// error that says so, not "the app was killed".
		if unix.Kill(t.pid, 0) == nil {
			unix.Kill(-h.Guard.Pid(), unix.SIGKILL)
			unix.Kill(t.pid, unix.SIGKILL)
			t.guardKilled = true
		}
		t.Finish()
	}()
	// The command runs once the helper's execve happened; a helper that
	// ended without one could not run it (it said why on stderr).
	select {
	case <-t.execed:
		return t, nil
	case <-t.done:
	}
	if t.started {
		return t, nil
	}
	status := "exited"
	if ps := h.Guard.Cmd.ProcessState; ps != nil {
		status = ps.String()
	}
	return nil, fmt.Errorf("start %s: the command did not start (%s)", argv[0], status)
}

// Load loads and attaches the programs and starts reading the ring
// buffer, tracing nothing yet: Follow names the tree's first process,
// Finish ends the run. Start does all three for a command of its own;
// another launcher (the ptrace tracer, when it records call stacks
// alongside) calls them itself.
func Load(opts Options) (*Tracer, error) {
	t := &Tracer{opts: opts, tab: trace.Table(trace.ArchX86_64), done: make(chan struct{}), known: map[int]bool{},
		comm: map[int]string{}, stopped: make(chan struct{}), readErr: make(chan error, 1), execed: make(chan struct{}),
		out: make(chan []*trace.Event, 64), recycle: make(chan []*trace.Event, 64)}
	if err := t.load(opts); err != nil {
		return nil, err
	}
	rd, err := ringbuf.NewReader(t.objs.Events)
	if err != nil {
		t.close()
		return nil, fmt.Errorf("eBPF: %w", err)
	}
	t.rd = rd
	var mono unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono)
	t.monoOff = time.Now().UnixNano() - mono.Nano()
	go t.read()
	go t.wait()
	return t, nil
}

// Follow traces pid and every task it creates from now on; its execve
// starts the trace (what it did before is left out). Call it once, before
// pid executes the command.
func (t *Tracer) Follow(pid int) error {
	t.pid = pid
	t.rootSet.Store(int64(pid))
	// Task storage is keyed by a pidfd from user space.
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("eBPF: pidfd_open(%d): %w", pid, err)
	}
	defer unix.Close(fd)
	if err := t.objs.Tasks.Put(uint32(fd), syscovTaskState{Traced: 1}); err != nil {
		return fmt.Errorf("eBPF: %w", err)
	}
	return nil
}

// Finish says the traced tree has ended (every process of it): the
// records left in the ring buffer are read, then the programs detached.
// Done is closed after that.
func (t *Tracer) Finish() {
	t.finishOnce.Do(func() {
		close(t.stopped)
		t.rd.Flush() // wakes a reader waiting on the empty ring
	})
}

// Pid is the traced command's process id.
func (t *Tracer) Pid() int { return t.pid }

// Wait waits until every traced process has ended and every record is read.
func (t *Tracer) Wait() (Result, error) {
	<-t.done
	return t.res, t.err
}

// Done is closed when the run has ended and every record is read.
func (t *Tracer) Done() <-chan struct{} { return t.done }

// Signal sends sig to the traced command (its first process).
func (t *Tracer) Signal(sig syscall.Signal) error { return unix.Kill(t.pid, sig) }

// Kill ends every process of the traced tree (of a command Start started).
func (t *Tracer) Kill() {
	if t.helper != nil {
		t.helper.Guard.Kill()
	}
}

// wait waits for the guard, which exits as the command did once it has
// killed what the command left, then for the reader to drain the ring.
func (t *Tracer) wait() {
	defer close(t.done)
	<-t.stopped
	if rerr := <-t.readErr; rerr != nil {
		t.err = rerr
	}
	// The command's own exit record says it best (a core dump too); the
	// guard exits as the command did when there is none (it never ran).
	if !t.rootExited && t.helper != nil {
		if ps := t.helper.Guard.Cmd.ProcessState; ps != nil {
			if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				t.res.ExitCode, t.res.Signal = 128+int(ws.Signal()), trace.SignalName(int(ws.Signal()))
			} else {
				t.res.ExitCode = ps.ExitCode()
			}
		} else if t.guardErr != nil && t.err == nil {
			t.err = t.guardErr
		}
	}
	if t.guardKilled && t.err == nil {
		t.err = errors.New("syscov's guard process was killed while the app ran: the app's processes were killed with it, and the trace stops there")
	}
	var perCPU []uint64
	if err := t.objs.Lost.Lookup(uint32(0), &perCPU); err == nil {
		t.res.Lost = perCPU
	}
	t.close()
}

// read reads the ring buffer until the tree has ended and the ring is
// empty, and hands the events on in time order.
func (t *Tracer) read() {
	runtime.LockOSThread()
	emitted := make(chan struct{})
	go t.emitter(emitted)
	finish := func(err error) {
		t.order.flush(^uint64(0), t.opts.Hold, true, t.emit)
		t.send()
		close(t.out)
		<-emitted
		t.readErr <- err
	}
	var rec ringbuf.Record
	stopped := false
	// The deadline matters only when the ring is empty (ReadInto reads
	// what is there first): it is set again after each idle wait.
	t.rd.SetDeadline(time.Now().Add(idleWait))
	for {
		err := t.rd.ReadInto(&rec)
		switch {
		case err == nil:
			t.record(rec.RawSample)
			if t.latest > reorderWindow {
				t.order.flush(t.latest-reorderWindow, t.opts.Hold, false, t.emit)
			}
			continue
		case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, ringbuf.ErrFlushed):
			// Nothing for a while (or Finish woke the reader): what is
			// older than the window goes.
			var mono unix.Timespec
			unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono)
			t.order.flush(uint64(mono.Nano())-reorderWindow, t.opts.Hold, false, t.emit)
			t.send()
			if stopped {
				finish(nil)
				return
			}
			select {
			case <-t.stopped:
				// The tree is gone: every record is in the ring; one
				// more read that finds it empty at once proves it drained.
				stopped = true
				t.rd.SetDeadline(time.Now())
				continue
			default:
			}
			t.rd.SetDeadline(time.Now().Add(idleWait))
		default:
			finish(fmt.Errorf("eBPF ring buffer: %w", err))
			return
		}
	}
}

// idleWait is how long the reader waits on an empty ring before it hands
// on what it holds; the program wakes it only when much is waiting.
const idleWait = 20 * time.Millisecond

// batchSize events go from the reader to the emitter at a time: the two
// run on two CPUs when the app leaves one free (decoding and reordering
// on one, writing the trace on the other).
const batchSize = 512

func (t *Tracer) emit(ev *trace.Event) {
	t.cur = append(t.cur, ev)
	if len(t.cur) == batchSize {
		t.send()
	}
}

// send hands the current batch to the emitter and takes a free one (its
// events back on the free list).
func (t *Tracer) send() {
	if len(t.cur) == 0 {
		return
	}
	t.out <- t.cur
	select {
	case b := <-t.recycle:
		t.free = append(t.free, b...)
		t.cur = b[:0]
	default:
		t.cur = make([]*trace.Event, 0, batchSize)
	}
}

// emitter calls OnEvent for every event of every batch, in order, on a
// goroutine of its own.
func (t *Tracer) emitter(done chan<- struct{}) {
	defer close(done)
	for b := range t.out {
		for _, ev := range b {
			t.res.Events++
			if t.opts.OnEvent != nil {
				t.opts.OnEvent(ev)
			}
			*ev = trace.Event{}
		}
		select {
		case t.recycle <- b:
		default:
		}
	}
}

// newEvent is an event from the free list: an event is valid only during
// OnEvent, and a busy app makes a million a second.
func (t *Tracer) newEvent() *trace.Event {
	if n := len(t.free); n > 0 {
		ev := t.free[n-1]
		t.free = t.free[:n-1]
		return ev
	}
	return new(trace.Event)
}

// record turns one ring buffer record into events.
func (t *Tracer) record(b []byte) {
	r, err := decodeRecord(b)
	if err != nil {
		return // cannot happen with our program; the record is skipped
	}
	t.latest = max(t.latest, r.exitNs)
	switch r.typ {
	case recExec:
		if int64(r.tid) == t.rootSet.Load() && !t.started {
			t.started = true // the command's execve: the trace starts
			close(t.execed)
		}
		if !t.started {
			return
		}
		t.comm[int(r.pid)] = r.comm
		if old := int(r.ret); old != int(r.tid) && t.known[old] {
			delete(t.known, old)
			t.order.push(r.exitNs, &trace.Event{Kind: trace.KindExit, PID: int(r.pid), TID: old, Time: t.wall(r.exitNs), Nr: -1,
				Duration: -1, Origin: trace.OriginNative, Text: "superseded by execve in pid " + strconv.Itoa(int(r.tid))})
		}
		t.known[int(r.tid)] = true
	case recFork:
		if !t.started || !t.known[int(r.tid)] {
			return
		}
		child, childPid := int(r.ret), int(r.nr)
		t.known[child] = true
		if _, ok := t.comm[childPid]; !ok {
			t.comm[childPid] = t.comm[int(r.pid)]
		}
	case recExit:
		if !t.started || !t.known[int(r.tid)] {
			return
		}
		delete(t.known, int(r.tid))
		ev := &trace.Event{Kind: trace.KindExit, PID: int(r.pid), TID: int(r.tid), Time: t.wall(r.exitNs), Nr: -1, Duration: -1,
			Origin: trace.OriginNative, Comm: t.comm[int(r.pid)]}
		status := unix.WaitStatus(uint32(r.ret))
		if status.Signaled() {
			ev.Signal = trace.SignalName(int(status.Signal()))
			ev.ExitCode = 128 + int(status.Signal())
			ev.CoreDumped = status.CoreDump()
			ev.Text = "killed by " + ev.Signal
			if ev.CoreDumped {
				ev.Text += " (core dumped)"
			}
		} else {
			ev.ExitCode = status.ExitStatus()
			ev.Text = "exited with " + strconv.Itoa(ev.ExitCode)
		}
		if int64(r.tid) == t.rootSet.Load() {
			t.rootExited = true
			t.res.ExitCode, t.res.Signal, t.res.CoreDumped = ev.ExitCode, ev.Signal, ev.CoreDumped
		}
		t.order.push(r.exitNs, ev)
	case recSignal:
		if !t.started || !t.known[int(r.tid)] {
			return
		}
		name := trace.SignalName(int(r.nr))
		t.order.push(r.exitNs, &trace.Event{Kind: trace.KindSignal, PID: int(r.pid), TID: int(r.tid), Time: t.wall(r.exitNs), Nr: -1,
			Duration: -1, Origin: trace.OriginNative, Comm: t.comm[int(r.pid)], Signal: name,
			Text: fmt.Sprintf("{si_signo=%s, si_code=%d}", name, int32(r.ret))})
	case recSyscall, recNoReturn:
		if !t.started || !t.known[int(r.tid)] {
			return
		}
		t.order.push(r.exitNs, t.syscallEvent(&r))
	}
}

func (t *Tracer) wall(mono uint64) int64 { return int64(mono) + t.monoOff }

func (t *Tracer) syscallEvent(r *record) *trace.Event {
	nr := int(r.nr)
	name, ok := t.tab.Name(nr)
	if !ok {
		name = fmt.Sprintf("syscall_%#x", nr)
	}
	ev := t.newEvent()
	*ev = trace.Event{Kind: trace.KindSyscall, PID: int(r.pid), TID: int(r.tid), Time: t.wall(r.enterNs), Comm: t.comm[int(r.pid)],
		Name: name, Nr: nr, Duration: -1, Origin: trace.OriginNative}
	f := sysargs.Format(r.memory(), name, nr, r.args)
	ev.Args = f.Text
	if name == "clone" || name == "clone3" {
		ev.CloneFlags, ev.HasCloneFlags = f.CloneFlags, f.CloneKnown
	}
	if r.typ == recNoReturn {
		ev.Ret, ev.Status = "?", trace.StatusUnfinished
		return ev
	}
	ev.Duration = time.Duration(r.exitNs - r.enterNs)
	sysargs.SetResult(ev, r.ret)
	return ev
}

// privileged says whether this process may load and attach tracing
// programs: CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON (Linux 5.8+).
func privileged() error {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil // let the kernel say
	}
	for _, line := range strings.Split(string(b), "\n") {
		if hexCaps, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(hexCaps), 16, 64)
			if err != nil {
				return nil
			}
			const sysAdmin, perfmon, bpf = 21, 38, 39
			if caps&(1<<sysAdmin) != 0 || caps&(1<<bpf) != 0 && caps&(1<<perfmon) != 0 {
				return nil
			}
			return errors.New("eBPF: not permitted (run as root, or with CAP_BPF and CAP_PERFMON)")
		}
	}
	return nil
}

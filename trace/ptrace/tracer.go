package ptrace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/sysargs"
)

// Options configure a traced run.
type Options struct {
	// Trace names the syscalls to trace; empty traces all. With a subset,
	// a seccomp-bpf filter stops the tracee only at those calls.
	Trace []string
	// Fail makes the named syscalls fail with the given errno without
	// running. A failed syscall that is also traced (in Trace, or Trace
	// empty) is skipped at its trace stop and reported with Injected set;
	// one that is not traced fails inside the seccomp filter
	// (SECCOMP_RET_ERRNO) and never stops the tracee.
	Fail map[string]int
	// Fake makes the named syscalls return the given value without
	// running (the call is skipped at its trace stop); they are traced.
	Fake map[string]int64
	// Answer, when set, is asked at the entry of every call of the
	// syscalls named in AnswerSyscalls (they are traced: a seccomp stop at
	// those numbers only), with the call's name and decoded arguments
	// (never for an exec of the command's own process: that starts it);
	// when it answers ok the call is skipped and returns ret (-errno or a
	// value): a use answered argument by argument, as a target answers it.
	Answer         func(ev *trace.Event) (ret int64, ok bool)
	AnswerSyscalls []string
	// Quiet traces no syscall (Trace is ignored): with Fail it only
	// filters, and the app runs at full speed; processes are still
	// followed and reported.
	Quiet bool
	// Stacks records the user-space call stack of every syscall, or, when
	// StackFor is set, of the calls for which it answers true (decided at
	// syscall entry from the number and the argument registers, before
	// any unwinding).
	Stacks   bool
	StackFor func(nr int, args [6]uint64) bool
	// Dir, Env: the command's working directory and environment (nil:
	// syscov's own).
	Dir string
	Env []string
	// Stdin, Stdout, Stderr of the command; nil is /dev/null.
	Stdin, Stdout, Stderr *os.File
	// OnEvent receives every event, on the tracer's thread; the event is
	// valid during the call.
	OnEvent func(*trace.Event)
	// BeforeRelease, when set, is called with the exec helper's pid once
	// it is seized, before it runs the command (another tracer joins
	// there); an error ends the start.
	BeforeRelease func(pid int) error
}

// Result is how a traced run ended.
type Result struct {
	// ExitCode of the traced command, 128+N when signal N killed it.
	ExitCode   int
	Signal     string // the signal that killed it, if any
	CoreDumped bool
	Events     int
}

// Tracer is one traced command.
type Tracer struct {
	opts    Options
	tab     *trace.SyscallTable
	pid     int
	done    chan struct{}
	res     Result
	err     error
	mu      sync.Mutex
	alive   map[int]bool
	killed  bool
	actions map[int]Action
	phase   int
	inject  map[int]int64 // nr → result of a skipped call (-errno or a fake value)
	answer  map[int]bool  // nr → ask opts.Answer at entry
	full    bool
	symbols *symbolizer
}

// Start starts argv under the tracer and returns once the command runs (its
// execve succeeded) or failed to start.
func Start(argv []string, opts Options) (*Tracer, error) {
	if len(argv) == 0 {
		return nil, errors.New("no command")
	}
	if runtime.GOARCH != "amd64" {
		return nil, errArchUnsupported
	}
	t := &Tracer{opts: opts, tab: trace.Table(trace.ArchX86_64), done: make(chan struct{}), alive: map[int]bool{},
		actions: map[int]Action{}, inject: map[int]int64{}, answer: map[int]bool{}}
	t.full = len(opts.Trace) == 0 && !opts.Quiet
	if opts.Quiet {
		opts.Trace = nil
	}
	number := func(name string) (int, error) {
		if nr := t.tab.Number(name); nr >= 0 {
			return nr, nil
		}
		return -1, fmt.Errorf("unknown syscall %q", name)
	}
	for _, name := range opts.Trace {
		nr, err := number(name)
		if err != nil {
			return nil, err
		}
		t.actions[nr] = Action{Trace: true}
	}
	for name, errno := range opts.Fail {
		nr, err := number(name)
		if err != nil {
			return nil, err
		}
		if t.full || t.actions[nr].Trace {
			t.inject[nr] = -int64(errno)
		} else {
			t.actions[nr] = Action{Errno: errno}
		}
	}
	for name, v := range opts.Fake {
		nr, err := number(name)
		if err != nil {
			return nil, err
		}
		t.inject[nr] = v
		if !t.full {
			t.actions[nr] = Action{Trace: true}
		}
	}
	if opts.Answer != nil {
		for _, name := range opts.AnswerSyscalls {
			nr, err := number(name)
			if err != nil {
				return nil, err
			}
			t.answer[nr] = true
			if !t.full {
				t.actions[nr] = Action{Trace: true}
			}
		}
	}
	if opts.Stacks {
		t.symbols = newSymbolizer()
	}
	started := make(chan error, 1)
	go t.loop(argv, started)
	if err := <-started; err != nil {
		<-t.done
		return nil, err
	}
	return t, nil
}

var errArchUnsupported = errors.New("the built-in ptrace tracer supports x86_64 only; use --backend strace")

// Pid is the traced command's process id.
func (t *Tracer) Pid() int { return t.pid }

// Wait waits until every traced process has ended.
func (t *Tracer) Wait() (Result, error) {
	<-t.done
	return t.res, t.err
}

// Done is closed when every traced process has ended.
func (t *Tracer) Done() <-chan struct{} { return t.done }

// Signal sends sig to the traced command (its first process).
func (t *Tracer) Signal(sig syscall.Signal) error { return unix.Kill(t.pid, sig) }

// Kill ends every traced process and thread with SIGKILL.
func (t *Tracer) Kill() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.killed = true
	for tid := range t.alive {
		unix.Kill(tid, unix.SIGKILL)
	}
}

func (t *Tracer) setAlive(tid int, alive bool) {
	t.mu.Lock()
	if alive {
		t.alive[tid] = true
		if t.killed {
			unix.Kill(tid, unix.SIGKILL)
		}
	} else {
		delete(t.alive, tid)
	}
	t.mu.Unlock()
}

// task is one traced thread.
type task struct {
	tid, pid int
	started  bool // its first stop (SIGSTOP of a new task) was seen
	inCall   bool
	// viaSeccomp: the entry came from a seccomp stop; the next stops of
	// the call are its entry (kernels ≥ 4.8) and exit.
	viaSeccomp bool
	entry      time.Time
	ev         trace.Event
	cloneFlags uint64
	cloneKnown bool
	comm       string
	skipped    bool // the current call is skipped; its result is injected
	answered   bool // opts.Answer answered the current call with answerRet
	answerRet  int64
}

const (
	phaseHelper = iota // the exec helper runs, untraced
	phaseTraced
)

// loop is the tracer's one thread: it starts the exec helper, seizes it
// and then waits for every stop of every traced task, dispatching on the
// kind of stop. It stays one function over 120 lines on purpose: ptrace
// requests must come from the thread that seized the tasks (it is locked
// to its OS thread), and the wait loop's state (the tasks, the phase, the
// pending exits) is shared by every case; the work of each case is in
// the functions it calls (syscallStop, resume, emit).
func (t *Tracer) loop(argv []string, started chan<- error) {
	defer close(t.done)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	env := t.opts.Env
	if env == nil {
		env = os.Environ()
	}
	var extra []string
	if !t.full || len(t.actions) > 0 {
		// A quiet run with nothing to filter still needs a filter (an
		// empty one allows everything) so that no syscall stops.
		extra = append(extra, seccompEnv+"="+encodeActions(t.actions))
	}
	// The helper waits on a pipe until it is seized: PTRACE_SEIZE (not
	// TRACEME) lets a group-stop stay a stop (PTRACE_LISTEN) that SIGCONT
	// ends, as without a tracer.
	h, err := SpawnHelper(argv, HelperConfig{Dir: t.opts.Dir, Env: append(env[:len(env):len(env)], extra...),
		Stdin: t.opts.Stdin, Stdout: t.opts.Stdout, Stderr: t.opts.Stderr})
	if err != nil {
		started <- err
		return
	}
	pid := h.Pid
	helperOpts := unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_EXITKILL | unix.PTRACE_O_TRACESECCOMP
	if _, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, uintptr(helperOpts), 0, 0); errno != 0 {
		h.Abort()
		started <- fmt.Errorf("ptrace(SEIZE): %w", errno)
		return
	}
	if t.opts.BeforeRelease != nil {
		if err := t.opts.BeforeRelease(pid); err != nil {
			h.Abort()
			started <- err
			return
		}
	}
	h.Release()
	t.pid = pid
	t.setAlive(pid, true)
	tasks := map[int]*task{pid: {tid: pid, pid: pid, started: true}}
	t.phase = phaseHelper
	startSent := false
	signalStart := func(err error) {
		if !startSent {
			startSent = true
			started <- err
		}
	}
	defer signalStart(nil)

	var ws unix.WaitStatus
	for len(tasks) > 0 {
		// __WNOTHREAD: only this thread's tracees, never children that
		// other goroutines started (the workload).
		tid, err := waitStop(&ws)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if err != unix.ECHILD {
				t.err = fmt.Errorf("wait4: %w", err)
			}
			break
		}
		tk := tasks[tid]
		if tk == nil {
			tk = &task{tid: tid, pid: trace.ThreadGroup(tid)}
			tasks[tid] = tk
			t.setAlive(tid, true)
		}
		switch {
		case ws.Exited() || ws.Signaled():
			if t.phase == phaseHelper && tid == pid {
				signalStart(fmt.Errorf("%s: the command did not start (exit status %d)", argv[0], ws.ExitStatus()))
			}
			t.taskEnded(tk, ws)
			delete(tasks, tid)
			t.setAlive(tid, false)
		case ws.Stopped():
			sig := ws.StopSignal()
			switch {
			case int(ws)>>16 == unix.PTRACE_EVENT_STOP:
				t.eventStop(tk, sig)
			case sig == unix.SIGTRAP|0x80:
				t.syscallStop(tk)
				t.resume(tk, 0)
			case sig == unix.SIGTRAP && ws.TrapCause() > 0:
				switch ws.TrapCause() {
				case unix.PTRACE_EVENT_EXEC:
					former, _ := unix.PtraceGetEventMsg(tid)
					if int(former) != tid {
						if old := tasks[int(former)]; old != nil {
							t.emit(&trace.Event{Kind: trace.KindExit, PID: old.pid, TID: old.tid, Time: now(), Nr: -1, Text: "superseded by execve in pid " + strconv.Itoa(tid)})
							delete(tasks, int(former))
							t.setAlive(int(former), false)
							if old.inCall {
								tk.inCall, tk.ev, tk.entry, tk.viaSeccomp = true, old.ev, old.entry, old.viaSeccomp
								tk.ev.TID = tid
							}
						}
					}
					tk.comm = commOf(tid)
					if t.phase == phaseHelper {
						t.phase = phaseTraced
						opts := unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_EXITKILL |
							unix.PTRACE_O_TRACESECCOMP | unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK
						if err := unix.PtraceSetOptions(tid, opts); err != nil {
							t.err = fmt.Errorf("ptrace(SETOPTIONS): %w", err)
						}
						if !tk.inCall && (t.full || t.actions[t.tab.Number("execve")].Trace) {
							// The execve that started the command ran
							// untraced in the helper: its exit comes next.
							tk.inCall, tk.entry = true, time.Now()
							tk.ev = t.newEvent(tk, t.tab.Number("execve"))
							tk.ev.Args = sysargs.FormatExecve(argv, len(env)-1)
							tk.viaSeccomp = !t.full
						}
						signalStart(nil)
					}
				case unix.PTRACE_EVENT_FORK, unix.PTRACE_EVENT_VFORK, unix.PTRACE_EVENT_CLONE:
					msg, err := unix.PtraceGetEventMsg(tid)
					if err == nil && tasks[int(msg)] == nil {
						child := int(msg)
						childPid := child
						if ws.TrapCause() == unix.PTRACE_EVENT_CLONE && tk.cloneFlags&unix.CLONE_THREAD != 0 {
							childPid = tk.pid
						}
						tasks[child] = &task{tid: child, pid: childPid, comm: tk.comm}
						t.setAlive(child, true)
					}
				case unix.PTRACE_EVENT_SECCOMP:
					t.syscallStop(tk)
				}
				t.resume(tk, 0)
			case !tk.started && sig == unix.SIGSTOP:
				tk.started = true
				t.resume(tk, 0)
			default:
				tk.started = true
				var si unix.Siginfo
				if err := ptraceGetSiginfo(tid, &si); err != nil {
					// A group-stop: let it go on.
					t.resume(tk, 0)
					continue
				}
				if t.phase == phaseTraced {
					t.emit(&trace.Event{Kind: trace.KindSignal, PID: tk.pid, TID: tid, Time: now(), Nr: -1, Comm: tk.comm, Signal: trace.SignalName(int(sig)), Text: formatSiginfo(&si)})
				}
				t.resume(tk, sig)
			}
		}
	}
}

// eventStop handles the stops of a seized tracee: a new child's first
// stop, a group-stop (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU: the tracee stays
// stopped until SIGCONT, through PTRACE_LISTEN), and the stop that ends
// one (SIGCONT came) or an interrupt.
func (t *Tracer) eventStop(tk *task, sig syscall.Signal) {
	if !tk.started {
		tk.started = true
		t.resume(tk, 0)
		return
	}
	switch sig {
	case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_LISTEN, uintptr(tk.tid), 0, 0, 0, 0)
	default:
		t.resume(tk, 0)
	}
}

func (t *Tracer) resume(tk *task, sig syscall.Signal) {
	req := uintptr(unix.PTRACE_CONT)
	// The exec helper is never stopped at its syscalls, not even after a
	// signal (the Go runtime's preemption signals) it received.
	if t.phase == phaseTraced && (t.full || tk.viaSeccomp) {
		req = unix.PTRACE_SYSCALL
	}
	// A raw syscall: ptrace requests never block, so the Go scheduler
	// need not hear of them (this is the tracer's hot path). ESRCH, a
	// task that died meanwhile, is reported by wait4.
	unix.RawSyscall6(unix.SYS_PTRACE, req, uintptr(tk.tid), 0, uintptr(sig), 0, 0)
}

func (t *Tracer) taskEnded(tk *task, ws unix.WaitStatus) {
	if tk.inCall {
		tk.ev.Ret, tk.ev.Status = "?", trace.StatusUnfinished
		t.emit(&tk.ev)
		tk.inCall = false
	}
	ev := trace.Event{Kind: trace.KindExit, PID: tk.pid, TID: tk.tid, Time: now(), Nr: -1, Comm: tk.comm}
	if ws.Signaled() {
		ev.Signal = trace.SignalName(int(ws.Signal()))
		ev.ExitCode = 128 + int(ws.Signal())
		ev.CoreDumped = ws.CoreDump()
		ev.Text = "killed by " + ev.Signal
		if ev.CoreDumped {
			ev.Text += " (core dumped)"
		}
	} else {
		ev.ExitCode = ws.ExitStatus()
		ev.Text = "exited with " + strconv.Itoa(ev.ExitCode)
	}
	if tk.tid == t.pid {
		t.res.ExitCode, t.res.Signal, t.res.CoreDumped = ev.ExitCode, ev.Signal, ev.CoreDumped
	}
	t.emit(&ev)
}

func (t *Tracer) emit(ev *trace.Event) {
	t.res.Events++
	ev.Origin = trace.OriginNative
	if ev.Duration == 0 && ev.Kind != trace.KindSyscall {
		ev.Duration = -1
	}
	if t.opts.OnEvent != nil {
		t.opts.OnEvent(ev)
	}
}

func (t *Tracer) newEvent(tk *task, nr int) trace.Event {
	name, ok := t.tab.Name(nr)
	if !ok {
		name = fmt.Sprintf("syscall_%#x", nr)
	}
	return trace.Event{Kind: trace.KindSyscall, PID: tk.pid, TID: tk.tid, Time: now(), Comm: tk.comm, Name: name, Nr: nr, Duration: -1}
}

// syscallInfo is struct ptrace_syscall_info (Linux ≥ 5.3).
type syscallInfo struct {
	op   uint8
	nr   uint64
	args [6]uint64
	rval int64
	err  bool
	sp   uint64
	ip   uint64
}

func getSyscallInfo(tid int, si *syscallInfo) error {
	var buf [88]byte
	_, _, errno := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(tid), uintptr(len(buf)), uintptr(unsafe.Pointer(&buf[0])), 0, 0)
	if errno != 0 {
		return errno
	}
	le := binary.NativeEndian
	si.op = buf[0]
	si.ip = le.Uint64(buf[8:])
	si.sp = le.Uint64(buf[16:])
	switch si.op {
	case unix.PTRACE_SYSCALL_INFO_ENTRY, unix.PTRACE_SYSCALL_INFO_SECCOMP:
		si.nr = le.Uint64(buf[24:])
		for i := range si.args {
			si.args[i] = le.Uint64(buf[32+8*i:])
		}
	case unix.PTRACE_SYSCALL_INFO_EXIT:
		si.rval = int64(le.Uint64(buf[24:]))
		si.err = buf[32] != 0
	}
	return nil
}

func (t *Tracer) syscallStop(tk *task) {
	var si syscallInfo
	if err := getSyscallInfo(tk.tid, &si); err != nil {
		return
	}
	switch si.op {
	case unix.PTRACE_SYSCALL_INFO_ENTRY, unix.PTRACE_SYSCALL_INFO_SECCOMP:
		if tk.inCall && tk.viaSeccomp && si.op == unix.PTRACE_SYSCALL_INFO_ENTRY {
			return // the entry stop after a seccomp stop of the same call
		}
		nr := int(si.nr)
		tk.inCall, tk.viaSeccomp = true, si.op == unix.PTRACE_SYSCALL_INFO_SECCOMP
		tk.ev = t.newEvent(tk, nr)
		f := sysargs.Format(tracee(tk.tid), tk.ev.Name, nr, si.args)
		tk.ev.Args = f.Text
		tk.cloneFlags, tk.cloneKnown = f.CloneFlags, f.CloneKnown
		if name := tk.ev.Name; name == "clone" || name == "clone3" {
			// From the registers (clone) or the tracee's clone_args
			// (clone3), as a number: the analysis never parses it back.
			tk.ev.CloneFlags, tk.ev.HasCloneFlags = tk.cloneFlags, tk.cloneKnown
		}
		if t.opts.Stacks && (t.opts.StackFor == nil || t.opts.StackFor(nr, si.args)) {
			tk.ev.Stack = t.stack(tk.tid, si.ip, si.sp)
		}
		_, skip := t.inject[nr]
		tk.answered = false
		// The command's own execs start the app (a wrapper's exec of it):
		// they are never a use to answer.
		ownExec := tk.pid == t.pid && (tk.ev.Name == "execve" || tk.ev.Name == "execveat")
		if !skip && t.answer[nr] && t.phase == phaseTraced && !ownExec {
			tk.answerRet, tk.answered = t.opts.Answer(&tk.ev)
			skip = tk.answered
		}
		if skip {
			// Skip the call: the kernel runs syscall -1, which does nothing.
			var r regs
			if getRegs(tk.tid, &r) == nil {
				r.setNr(-1)
				setRegs(tk.tid, &r)
				tk.skipped = true
			}
		}
		tk.entry = time.Now()
	case unix.PTRACE_SYSCALL_INFO_EXIT:
		if !tk.inCall {
			return // a new task's return from clone/fork
		}
		tk.inCall, tk.viaSeccomp = false, false
		ev := &tk.ev
		ev.Duration = time.Since(tk.entry)
		rval := si.rval
		if tk.skipped {
			tk.skipped = false
			rval = t.inject[ev.Nr]
			if tk.answered {
				rval, tk.answered = tk.answerRet, false
			}
			var r regs
			if getRegs(tk.tid, &r) == nil {
				r.setRet(rval)
				setRegs(tk.tid, &r)
			}
			ev.Injected = true
		}
		sysargs.SetResult(ev, rval)
		if ev.Name == "execve" || ev.Name == "execveat" {
			tk.comm = commOf(tk.tid)
			if t.symbols != nil {
				t.symbols.forget(tk.pid)
				if ev.Status == trace.StatusOK {
					t.symbols.execed(tk.pid, ev.Args)
				}
			}
		}
		t.emit(ev)
		tk.ev = trace.Event{}
	}
}

func ptraceGetSiginfo(tid int, si *unix.Siginfo) error {
	_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(tid), 0, uintptr(unsafe.Pointer(si)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

func formatSiginfo(si *unix.Siginfo) string {
	name := trace.SignalName(int(si.Signo))
	if name == "" {
		name = strconv.Itoa(int(si.Signo))
	}
	return fmt.Sprintf("{si_signo=%s, si_code=%d}", name, si.Code)
}

func devNull(f *os.File) uintptr {
	if f != nil {
		return f.Fd()
	}
	nullOnce.Do(func() { nullFile, _ = os.OpenFile(os.DevNull, os.O_RDWR, 0) })
	if nullFile == nil {
		return ^uintptr(0)
	}
	return nullFile.Fd()
}

// nullFile is /dev/null, opened once for every run (a probe makes
// hundreds): the child gets its own copy of the descriptor.
var (
	nullOnce sync.Once
	nullFile *os.File
)

func now() int64 { return time.Now().UnixNano() }

func commOf(tid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// waitStop waits for the next stop or end of a tracee. It polls for a few
// tens of microseconds before it blocks: a tracee's next stop usually comes
// that soon, and a tracer that stays on its CPU spares the cross-CPU wake-up
// that dominates the cost of a stop on virtual machines.
func waitStop(ws *unix.WaitStatus) (int, error) {
	for i := 0; i < spinPolls; i++ {
		r, _, errno := unix.RawSyscall6(unix.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(ws)), unix.WALL|unix.WNOTHREAD|unix.WNOHANG, 0, 0, 0)
		if errno != 0 {
			return -1, errno
		}
		if r != 0 {
			return int(r), nil
		}
	}
	// The blocking wait goes through the Go scheduler: a raw one would
	// hold the thread's P and, as Go's signal handlers restart syscalls,
	// could stall a garbage collection until the tracee's next stop.
	return unix.Wait4(-1, ws, unix.WALL|unix.WNOTHREAD, nil)
}

var spinPolls = 200

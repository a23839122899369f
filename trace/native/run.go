// Package native records an application natively: it starts the app under
// a tracer backend (syscov's built-in ptrace tracer or the real strace),
// waits until the app is ready, runs a workload against it, stops it, and
// hands every event to the caller. It is part of the trace stage of the
// pipeline (trace → analyze → report).
package native

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/ebpf"
	"github.com/syscov/syscov/trace/workload"
)

// Backend names a tracer.
type Backend string

const (
	BackendPtrace Backend = "ptrace"
	BackendStrace Backend = "strace"
	BackendEBPF   Backend = "ebpf"
	// BackendAuto is eBPF where it can run, else ptrace (Resolve).
	BackendAuto Backend = "auto"
)

// Config describes one recorded run.
type Config struct {
	Backend Backend
	Argv    []string
	Dir     string
	Env     []string // nil: syscov's environment
	// Trace limits tracing to these syscalls (a seccomp-bpf filter).
	Trace  []string
	Stacks bool
	// StackSyscalls names the syscalls StackFor can answer true for: with
	// the eBPF backend, the ptrace tracer runs alongside and stops only
	// at them. Empty: every syscall (the run is ptrace's then).
	StackSyscalls []string
	// StackFor, when set, limits stacks to the calls it answers true for
	// (ptrace backend; strace -k records every stack).
	StackFor func(nr int, args [6]uint64) bool
	// Fail, Fake and Quiet are passed to the ptrace backend (see
	// ptrace.Options): they make syscalls fail or pretend to succeed.
	Fail  map[string]int
	Fake  map[string]int64
	Quiet bool
	// Answer and AnswerSyscalls answer uses argument by argument (see
	// ptrace.Options).
	Answer         func(ev *trace.Event) (ret int64, ok bool)
	AnswerSyscalls []string
	// Ready says when the app is ready (workload.Ready's Spec: tcp:,
	// unix:, http://, log:). ReadyDelay waits a fixed time instead.
	Ready        string
	ReadyDelay   time.Duration
	ReadyTimeout time.Duration // default 30s
	// Workload is a shell command run (untraced) once the app is ready;
	// the app is stopped when it ends. Empty: the app runs to its end.
	Workload string
	// StopSignal stops the app after the workload (default SIGTERM);
	// SIGKILL follows after StopGrace (default 5s).
	StopSignal syscall.Signal
	StopGrace  time.Duration
	// Stdout and Stderr of the app and the workload (nil: /dev/null).
	Stdout, Stderr *os.File
	// WorkloadOut, when set, takes the workload's output instead, apart
	// from the app's.
	WorkloadOut *os.File
	// BeforeStop, when set, is called after the workload, before the stop
	// signal: what the app does from then on is its shutdown.
	BeforeStop func()
	// OnEvent receives every event; it is never called concurrently.
	OnEvent func(*trace.Event)
	// StraceBinary is the strace to run (default "strace" on PATH).
	StraceBinary string
	// RingBuffer is the eBPF backend's ring buffer size in bytes (0:
	// ebpf.DefaultRingBuffer).
	RingBuffer int
	// Notice receives what the run decided that the user should know (the
	// app daemonized and is followed); nil: not said.
	Notice func(string)
}

// Result is how a run ended.
type Result struct {
	Header trace.Header
	// ExitCode and Signal are the app's: its exit status, or the signal
	// that killed it (ExitCode 128+N).
	ExitCode int
	Signal   string
	// Stopped is true when syscov stopped the app (after the workload).
	Stopped bool
	// WorkloadErr is the workload's failure, if any.
	WorkloadErr error
	// AppEnded is true when the app ended while the workload ran.
	AppEnded bool
	// Canceled is true when the context ended the run (timeout, Ctrl-C).
	Canceled bool
	Events   int
	Elapsed  time.Duration
	// Lost counts, per CPU, the events the eBPF backend's ring buffer had
	// no room for (nil for the other backends, which lose none).
	Lost []uint64
	// Backend is the backend that recorded the run (auto resolved).
	Backend Backend
}

// app is a running traced app, whichever the backend.
type app interface {
	pid() int
	signal(syscall.Signal) error
	killAll()
	wait() (exitCode int, signal string, err error)
	done() <-chan struct{}
}

// Header builds the trace header of a native run of cfg.
func Header(cfg Config, tool string) trace.Header {
	h := trace.Header{
		Origin:   trace.OriginNative.String(),
		Arch:     trace.HostArch(),
		Command:  cfg.Argv,
		Workload: cfg.Workload,
		Tool:     tool,
		Backend:  string(cfg.Backend),
		Start:    time.Now().UTC(),
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.HostKernel = unix.ByteSliceToString(u.Release[:])
	}
	if cfg.Stacks {
		switch {
		case cfg.Backend == BackendStrace:
			h.Stacks = "strace -k"
		case cfg.Backend == BackendEBPF:
			h.Stacks = fmt.Sprintf("ptrace alongside eBPF, stopping only at %d syscalls that may need a stack (.eh_frame unwinding)", len(cfg.StackSyscalls))
		default:
			h.Stacks = "ptrace (.eh_frame unwinding, frame pointers where there is none)"
		}
	}
	if cfg.Backend == BackendEBPF {
		var zero uint64
		h.LostEvents, h.LostPerCPU = &zero, make([]uint64, runtime.NumCPU())
		h.RingBuffer = ebpf.RingSize(cfg.RingBuffer)
	}
	return h
}

// scanLog sets up --ready log:REGEX: the app's output goes through a pipe
// that is scanned for it (and copied on). logged tells when it matched;
// logW is the pipe's write end for the caller to close once the app has
// its copy (nil without log:).
func scanLog(cfg *Config) (logged <-chan struct{}, logW *os.File, err error) {
	logMatch, logged := workload.LogMatcher(cfg.Ready)
	if logMatch == nil {
		return logged, nil, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	out := cfg.Stderr
	if out == nil {
		out = cfg.Stdout
	}
	cfg.Stdout, cfg.Stderr = pw, pw
	go func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			logMatch(sc.Text())
			if out != nil {
				out.Write(append(sc.Bytes(), '\n'))
			}
		}
	}()
	return logged, pw, nil
}

// startApp starts the app under the backend, trying again on ETXTBSY: a
// program just written (a test's fresh build) may still be open for
// writing in a process being forked elsewhere at that instant.
func startApp(cfg Config) (a app, err error) {
	for try := 0; ; try++ {
		switch cfg.Backend {
		case BackendPtrace:
			a, err = startPtrace(cfg)
		case BackendStrace:
			a, err = startStrace(cfg)
		case BackendEBPF:
			a, err = startEBPF(cfg)
		default:
			return nil, fmt.Errorf("unknown backend %q (want ptrace, strace, ebpf or auto)", cfg.Backend)
		}
		if err == nil || try == 5 || !(errors.Is(err, syscall.ETXTBSY) || strings.Contains(err.Error(), "text file busy")) {
			return a, err
		}
		time.Sleep(time.Duration(20<<try) * time.Millisecond)
	}
}

// Run records one run. The context's end (a timeout, Ctrl-C) kills the
// whole traced tree; Run returns only when no traced process is left.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if len(cfg.Argv) == 0 {
		return nil, errors.New("no command to trace")
	}
	if cfg.StopSignal == 0 {
		cfg.StopSignal = syscall.SIGTERM
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 5 * time.Second
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 30 * time.Second
	}
	if cfg.Backend == "" {
		cfg.Backend = BackendPtrace
	}
	cfg.Backend, _ = Resolve(cfg.Backend, cfg.Stacks, cfg.StackSyscalls)
	// Threads for the whole run, started before the app can use up a
	// pid limit (a fork bomb): the runtime never needs a new one then.
	reserveOnce.Do(func() { trace.ReserveThreads(reservedThreads) })
	res := &Result{Backend: cfg.Backend}
	var mu sync.Mutex
	user := cfg.OnEvent
	procs := newProcSet()
	var rootPid func() int // set once the app started
	cfg.OnEvent = func(ev *trace.Event) {
		mu.Lock()
		res.Events++
		if user != nil {
			user(ev)
		}
		root := 0
		if rootPid != nil {
			root = rootPid()
		}
		if msg := procs.add(ev, root); msg != "" && cfg.Notice != nil {
			cfg.Notice(msg)
		}
		mu.Unlock()
	}
	// A port another process already holds would make the app fail to
	// listen while --ready saw the other process: never a pass.
	if port := workload.PortOf(cfg.Ready); port > 0 {
		if pids := workload.Listeners(port); len(pids) > 0 {
			return nil, fmt.Errorf("--ready %s: port %d is already in use by %s, before the app started", cfg.Ready, port, workload.Holders(pids))
		}
	}
	logged, logW, err := scanLog(&cfg)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	a, err := startApp(cfg)
	if logW != nil {
		logW.Close() // the app has its own copy: the scanner ends with it
	}
	if err != nil {
		return nil, err
	}
	defer a.killAll() // nothing is left behind, whatever happens below
	mu.Lock()
	rootPid = a.pid
	mu.Unlock()

	// signalApp sends sig to the app: its first process, or, once that
	// has exited leaving a daemon, the topmost processes still running.
	signalApp := func(sig syscall.Signal) {
		root := a.pid()
		if survivors := procs.survivors(root); len(survivors) > 0 {
			for _, p := range survivors {
				syscall.Kill(p, sig)
			}
			return
		}
		a.signal(sig)
	}
	stop := func() {
		res.Stopped = true
		// The trace says when syscov sent the stop signal: what the app
		// does from then on is its shutdown, not its work.
		marker := trace.NewStopMarker(time.Now().UnixNano(), trace.SignalName(int(cfg.StopSignal)))
		cfg.OnEvent(&marker)
		signalApp(cfg.StopSignal)
		select {
		case <-a.done():
		case <-time.After(cfg.StopGrace):
			a.killAll()
		case <-ctx.Done():
			a.killAll()
		}
	}
	cancelled := func() bool {
		if ctx.Err() != nil {
			res.Canceled = true
			// A daemon the app left is stopped with the stop signal
			// first, as its init system would, then killed.
			if len(procs.survivors(a.pid())) > 0 {
				signalApp(cfg.StopSignal)
				select {
				case <-a.done():
				case <-time.After(cfg.StopGrace):
				}
			}
			a.killAll()
			return true
		}
		return false
	}

	if cfg.Workload != "" || cfg.Ready != "" || cfg.ReadyDelay > 0 {
		ready := workload.Ready{Spec: cfg.Ready, Delay: cfg.ReadyDelay, Timeout: cfg.ReadyTimeout, Root: a.pid(), Logged: logged, Member: procs.has}
		if err := ready.Wait(ctx, a.done()); err != nil {
			if !cancelled() {
				a.killAll()
				a.wait()
				return nil, err
			}
		}
	}
	if cfg.Workload != "" && ctx.Err() == nil {
		// The workload ends early when the app does: a client of a dead
		// server may retry until it times out.
		wctx, cancelWorkload := context.WithCancel(ctx)
		done := make(chan error, 1)
		wout, werr := cfg.Stdout, cfg.Stderr
		if cfg.WorkloadOut != nil {
			wout, werr = cfg.WorkloadOut, cfg.WorkloadOut
		}
		go func() { done <- workload.Run(wctx, cfg.Workload, cfg.Dir, wout, werr) }()
		select {
		case res.WorkloadErr = <-done:
		case <-a.done():
			res.AppEnded = true
			cancelWorkload()
			res.WorkloadErr = <-done
			if res.WorkloadErr == nil {
				res.WorkloadErr = errors.New("the app ended during the workload")
			}
		}
		cancelWorkload()
		if !cancelled() && !res.AppEnded {
			if cfg.BeforeStop != nil {
				cfg.BeforeStop()
			}
			stop()
		}
	}
	select {
	case <-a.done():
	case <-ctx.Done():
		cancelled()
	}
	code, sig, err := a.wait()
	res.ExitCode, res.Signal = code, sig
	if l, ok := a.(interface{ lost() []uint64 }); ok {
		res.Lost = l.lost()
	}
	res.Elapsed = time.Since(start)
	return res, err
}

// reservedThreads are the OS threads a run starts before the app: more
// than syscov's run has goroutines blocked in system calls at once.
const reservedThreads = 24

var reserveOnce sync.Once

// procSet is the app's processes still running, as its events tell (every
// backend): a daemon the app leaves (a double fork and setsid) is the
// app's too — it is ready when the daemon listens, and stopped when the
// daemon is.
type procSet struct {
	mu       sync.Mutex
	live     map[int]string // pid → command name
	told     bool
	rootGone bool
}

func newProcSet() *procSet { return &procSet{live: map[int]string{}} }

// add counts an event in; it returns a notice once, when the app's first
// process (root) has exited and others of its processes still run.
func (p *procSet) add(ev *trace.Event, root int) string {
	if ev.PID <= 0 {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case ev.Kind == trace.KindExit && (ev.TID == ev.PID || ev.TID == 0):
		delete(p.live, ev.PID)
		if ev.PID == root && root != 0 {
			p.rootGone = true
			// A daemonizing parent exits; one killed by a signal was
			// not daemonizing (its group may be dying with it).
			p.told = p.told || ev.Signal != ""
		}
	case ev.Kind != trace.KindExit:
		if _, ok := p.live[ev.PID]; !ok || ev.Comm != "" {
			p.live[ev.PID] = ev.Comm
		}
		// A new process is the app's from its fork on, before its first
		// call of its own.
		if ev.Kind == trace.KindSyscall && ev.RetVal > 0 && !(ev.HasCloneFlags && ev.CloneFlags&trace.CloneThread != 0) {
			switch ev.Name {
			case "clone", "clone3", "fork", "vfork":
				if _, ok := p.live[int(ev.RetVal)]; !ok {
					p.live[int(ev.RetVal)] = ""
				}
			}
		}
	}
	if !p.rootGone || p.told || len(p.live) == 0 {
		return ""
	}
	var names []string
	for pid, comm := range p.live {
		if comm == "" {
			if comm = workload.Comm(pid); comm == "?" {
				continue // gone since (the middle of a double fork)
			}
		}
		names = append(names, fmt.Sprintf("%d (%s)", pid, comm))
	}
	if len(names) == 0 {
		return "" // none running now: told at a later event, if one comes
	}
	p.told = true
	sort.Strings(names)
	if len(names) > 5 {
		names = append(names[:5], fmt.Sprintf("%d more", len(names)-5))
	}
	return fmt.Sprintf("the app's first process (pid %d) exited, and %s still run: a daemon; syscov follows it to its end and stops it with the stop signal first (after the workload, on Ctrl-C or --timeout)", root, strings.Join(names, ", "))
}

// has reports whether pid is a running process of the app.
func (p *procSet) has(pid int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.live[pid]
	return ok
}

// survivors are, once the first process has exited, the app's topmost
// processes still running (those whose parent is not the app's): the
// daemon to stop. None while the first process runs.
func (p *procSet) survivors(root int) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.rootGone {
		if root <= 0 || syscall.Kill(root, 0) == nil {
			return nil
		}
	}
	var out []int
	for pid := range p.live {
		if syscall.Kill(pid, 0) != nil {
			continue
		}
		if _, parentIsApp := p.live[trace.ParentPID(pid)]; !parentIsApp {
			out = append(out, pid)
		}
	}
	sort.Ints(out)
	return out
}

package native

import (
	"sync"
	"syscall"
	"time"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/ebpf"
	"github.com/syscov/syscov/trace/ptrace"
)

// ebpfApp is an app traced by the eBPF backend; with call stacks, the
// ptrace tracer runs alongside and stops the app only at the syscalls
// that may need a stack (a seccomp filter), and each such event of the
// eBPF trace gets the stack ptrace recorded for it.
type ebpfApp struct {
	t   *ebpf.Tracer
	pt  *ptrace.Tracer // nil without stacks
	res *ebpf.Result
}

func startEBPF(cfg Config) (app, error) {
	opts := ebpf.Options{Dir: cfg.Dir, Env: cfg.Env, Stdout: cfg.Stdout, Stderr: cfg.Stderr,
		Trace: cfg.Trace, RingBuffer: cfg.RingBuffer, OnEvent: cfg.OnEvent}
	if !cfg.Stacks {
		t, err := ebpf.Start(cfg.Argv, opts)
		if err != nil {
			return nil, err
		}
		return &ebpfApp{t: t}, nil
	}
	j := newStackJoin(cfg.StackSyscalls)
	opts.Hold = j.hold
	t, err := ebpf.Load(opts)
	if err != nil {
		return nil, err
	}
	pt, err := ptrace.Start(cfg.Argv, ptrace.Options{Trace: cfg.StackSyscalls, Stacks: true, StackFor: cfg.StackFor,
		Dir: cfg.Dir, Env: cfg.Env, Stdout: cfg.Stdout, Stderr: cfg.Stderr, OnEvent: j.add, BeforeRelease: t.Follow})
	if err != nil {
		t.Finish()
		t.Wait()
		return nil, err
	}
	go func() {
		<-pt.Done()
		j.finish()
		t.Finish()
	}()
	return &ebpfApp{t: t, pt: pt}, nil
}

func (p *ebpfApp) pid() int { return p.t.Pid() }
func (p *ebpfApp) signal(sig syscall.Signal) error {
	if p.pt != nil {
		return p.pt.Signal(sig)
	}
	return p.t.Signal(sig)
}
func (p *ebpfApp) killAll() {
	if p.pt != nil {
		p.pt.Kill()
	}
	p.t.Kill()
}
func (p *ebpfApp) done() <-chan struct{} { return p.t.Done() }
func (p *ebpfApp) wait() (int, string, error) {
	r, err := p.t.Wait()
	p.res = &r
	if p.pt != nil {
		pr, perr := p.pt.Wait()
		if err == nil {
			err = perr
		}
		return pr.ExitCode, pr.Signal, err
	}
	return r.ExitCode, r.Signal, err
}
func (p *ebpfApp) lost() []uint64 {
	if p.res == nil {
		return nil
	}
	return p.res.Lost
}

// stackJoin pairs the ptrace tracer's events (at the syscalls that may
// need a stack) with the eBPF events of the same calls: the k-th call of
// syscall nr by thread tid in one is the k-th in the other.
type stackJoin struct {
	mu       sync.Mutex
	want     map[string]bool
	stacks   map[stackKey][][]trace.Frame
	finished bool
	held     *trace.Event
	since    time.Time
}

type stackKey struct{ tid, nr int }

// stackWait is how long an eBPF event waits for its stack: ptrace's exit
// stop comes microseconds after the eBPF record, unless the app's thread
// is descheduled in between.
const stackWait = 2 * time.Second

func newStackJoin(names []string) *stackJoin {
	j := &stackJoin{want: map[string]bool{}, stacks: map[stackKey][][]trace.Frame{}}
	for _, n := range names {
		j.want[n] = true
	}
	return j
}

// add takes a ptrace event (on the ptrace tracer's thread).
func (j *stackJoin) add(ev *trace.Event) {
	if ev.Kind != trace.KindSyscall || !j.want[ev.Name] {
		return
	}
	k := stackKey{ev.TID, ev.Nr}
	if k.tid == 0 {
		k.tid = ev.PID
	}
	j.mu.Lock()
	j.stacks[k] = append(j.stacks[k], append([]trace.Frame(nil), ev.Stack...))
	j.mu.Unlock()
}

// hold gives an eBPF event its stack, or keeps it back while the stack
// may still come.
func (j *stackJoin) hold(ev *trace.Event) bool {
	if ev.Kind != trace.KindSyscall || !j.want[ev.Name] {
		return true
	}
	k := stackKey{ev.TID, ev.Nr}
	if k.tid == 0 {
		k.tid = ev.PID
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if q := j.stacks[k]; len(q) > 0 {
		ev.Stack = q[0]
		if len(q) == 1 {
			delete(j.stacks, k)
		} else {
			j.stacks[k] = q[1:]
		}
		j.held = nil
		return true
	}
	if j.finished {
		j.held = nil
		return true
	}
	if j.held != ev {
		j.held, j.since = ev, time.Now()
		return false
	}
	if time.Since(j.since) > stackWait {
		j.held = nil
		return true
	}
	return false
}

func (j *stackJoin) finish() {
	j.mu.Lock()
	j.finished = true
	j.mu.Unlock()
}

// Resolve picks the backend --backend auto stands for: eBPF when this
// kernel and syscov's privileges allow it, else the built-in ptrace
// tracer; why says which and why (for the user). A stack for every call
// (stacks without stackSyscalls) is ptrace's work whatever the backend.
func Resolve(b Backend, stacks bool, stackSyscalls []string) (Backend, string) {
	if stacks && len(stackSyscalls) == 0 && (b == BackendAuto || b == BackendEBPF) {
		return BackendPtrace, "ptrace: a call stack for every syscall needs it (eBPF records none)"
	}
	if b != BackendAuto {
		return b, ""
	}
	if err := ebpf.Check(); err != nil {
		return BackendPtrace, "ptrace: " + err.Error()
	}
	if stacks {
		return BackendEBPF, "eBPF, with ptrace stopping only at the syscalls whose call stacks the report needs"
	}
	return BackendEBPF, "eBPF: the kernel and privileges allow it"
}

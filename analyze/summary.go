package analyze

import (
	"sort"
	"time"

	"github.com/syscov/syscov/trace"
)

// SyscallStat aggregates the calls of one syscall.
type SyscallStat struct {
	Name string
	Nr   int
	// Calls counts the calls that returned, like strace -c.
	Calls  int
	Errors int
	// NoReturn counts the calls that never returned while traced (exit,
	// exit_group, a call pending when the process died): strace -c leaves
	// them out of its calls, and so does Calls.
	NoReturn int
	// Time is the sum of known durations; Timed counts the calls that had
	// one (strace -T, or the built-in tracer).
	Time  time.Duration
	Timed int
	// Errnos counts the calls per errno name.
	Errnos map[string]int
	// Statuses counts the calls per status (indexed by trace.Status).
	Statuses [8]int
}

// UsecsPerCall is the mean duration of the timed calls, in microseconds.
func (s *SyscallStat) UsecsPerCall() float64 {
	if s.Timed == 0 {
		return 0
	}
	return float64(s.Time.Microseconds()) / float64(s.Timed)
}

// ProcessStat is the summary of one process.
type ProcessStat struct {
	PID      int
	Comm     string
	Syscalls []*SyscallStat // by calls, descending
	Calls    int
	Errors   int
	Time     time.Duration
	// Exit is how the process ended: "exited with 0", "killed by SIGKILL",
	// or "" when the trace does not say.
	Exit string
}

// Summary is what `syscov summary` shows of one trace.
type Summary struct {
	Source   string
	Syscalls []*SyscallStat // ordered like strace -c: time, then calls, then name
	Calls    int
	Errors   int
	Time     time.Duration
	// HasTime is true when the input carried durations.
	HasTime   bool
	Processes []*ProcessStat // by pid; only with PerProcess
	Signals   map[string]int
	Events    int
}

// SummaryBuilder folds events into a Summary one at a time, so a trace of
// any size is summarised in constant memory (per distinct syscall and pid).
type SummaryBuilder struct {
	perProcess bool
	all        map[string]*SyscallStat
	procs      map[int]*procAcc
	signals    map[string]int
	events     int
	timed      bool
}

type procAcc struct {
	stat  *ProcessStat
	calls map[string]*SyscallStat
}

// NewSummaryBuilder starts a summary; perProcess keeps one per pid too.
func NewSummaryBuilder(perProcess bool) *SummaryBuilder {
	return &SummaryBuilder{perProcess: perProcess, all: map[string]*SyscallStat{}, procs: map[int]*procAcc{}, signals: map[string]int{}}
}

// Add counts one event.
func (b *SummaryBuilder) Add(ev *trace.Event) {
	b.events++
	switch ev.Kind {
	case trace.KindSignal:
		b.signals[ev.Signal]++
		return
	case trace.KindExit:
		if b.perProcess {
			p := b.proc(ev)
			if ev.Signal != "" {
				p.stat.Exit = "killed by " + ev.Signal
			} else {
				p.stat.Exit = ev.Text
			}
		}
		return
	case trace.KindSyscall:
	default:
		return
	}
	addCall(b.all, ev)
	if ev.Duration >= 0 {
		b.timed = true
	}
	if b.perProcess {
		p := b.proc(ev)
		addCall(p.calls, ev)
		if ev.Comm != "" {
			p.stat.Comm = ev.Comm
		}
	}
}

func (b *SummaryBuilder) proc(ev *trace.Event) *procAcc {
	p, ok := b.procs[ev.PID]
	if !ok {
		p = &procAcc{stat: &ProcessStat{PID: ev.PID, Comm: ev.Comm}, calls: map[string]*SyscallStat{}}
		b.procs[ev.PID] = p
	}
	return p
}

// countsAsError says whether strace -c would count the call as an error:
// every call that returned an errno, restarts included.
func countsAsError(ev *trace.Event) bool { return ev.Errno != "" }

func addCall(m map[string]*SyscallStat, ev *trace.Event) {
	s, ok := m[ev.Name]
	if !ok {
		s = &SyscallStat{Name: ev.Name, Nr: ev.Nr, Errnos: map[string]int{}}
		m[ev.Name] = s
	}
	if int(ev.Status) < len(s.Statuses) {
		s.Statuses[ev.Status]++
	}
	if ev.Status == trace.StatusUnfinished {
		s.NoReturn++
		return
	}
	s.Calls++
	if countsAsError(ev) {
		s.Errors++
		s.Errnos[ev.Errno]++
	}
	if ev.Duration >= 0 {
		s.Time += ev.Duration
		s.Timed++
	}
}

// Summary returns the summary of everything added so far.
func (b *SummaryBuilder) Summary(source string) *Summary {
	s := &Summary{Source: source, Signals: b.signals, Events: b.events, HasTime: b.timed}
	s.Syscalls, s.Calls, s.Errors, s.Time = sortStats(b.all)
	if b.perProcess {
		for _, p := range b.procs {
			p.stat.Syscalls, p.stat.Calls, p.stat.Errors, p.stat.Time = sortStats(p.calls)
			s.Processes = append(s.Processes, p.stat)
		}
		sort.Slice(s.Processes, func(i, j int) bool { return s.Processes[i].PID < s.Processes[j].PID })
	}
	return s
}

func sortStats(m map[string]*SyscallStat) ([]*SyscallStat, int, int, time.Duration) {
	out := make([]*SyscallStat, 0, len(m))
	calls, errs := 0, 0
	var t time.Duration
	for _, s := range m {
		out = append(out, s)
		calls += s.Calls
		errs += s.Errors
		t += s.Time
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Time != b.Time {
			return a.Time > b.Time
		}
		if a.Calls != b.Calls {
			return a.Calls > b.Calls
		}
		return a.Name < b.Name
	})
	return out, calls, errs, t
}

// Package probe runs an app again and again, each time with one syscall
// (or a set) made to fail with ENOSYS (a seccomp-bpf filter,
// SECCOMP_RET_ERRNO) or faked to return 0 without running (a seccomp trace
// stop and ptrace skipping the call), and reports whether the app still
// did its job: its workload and check commands succeeded and it did not
// crash. It is part of the trace stage; analyze turns the outcomes into
// verdicts (required, works stubbed, works faked, works both).
package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"

	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/native"
)

// Config is the app and how to judge a run of it. "{port}" in Argv, Ready,
// Workload and Check is replaced by a free port for each run, so that runs
// can go in parallel.
type Config struct {
	Argv         []string
	Dir          string
	Ready        string
	ReadyDelay   time.Duration
	ReadyTimeout time.Duration
	Workload     string
	Check        string
	// Timeout bounds one run (default 60s).
	Timeout time.Duration
	// Output keeps what the app and the workload wrote in each run's
	// Outcome (at most OutputLimit bytes), for comparing runs. LogDir,
	// when set, keeps it in LogDir/LABEL.log too: the evidence of the run.
	Output bool
	LogDir string
	// OnEvent, when set, sees every event of the unmodified traced run
	// (Used): the uses the app makes, argument by argument.
	OnEvent func(*trace.Event)
}

// OutputLimit bounds the output an Outcome keeps.
const OutputLimit = 1 << 20

// Variant is what one run changes.
type Variant struct {
	Fail map[string]int   // syscall → errno
	Fake map[string]int64 // syscall → result
	// Answer answers single uses, argument by argument: it is asked at
	// each call of AnswerSyscalls and, when ok, the call returns ret
	// without running (see ptrace.Options.Answer).
	Answer         func(ev *trace.Event) (ret int64, ok bool)
	AnswerSyscalls []string
	// Label names the run (its log file under Config.LogDir).
	Label string
}

// Outcome is how one run went.
type Outcome struct {
	OK      bool
	Reason  string // why not
	Elapsed time.Duration
	// Output is what the app and the workload wrote (Config.Output), Log
	// the file that keeps it (Config.LogDir); WorkloadOutput what the
	// workload wrote, apart.
	Output         []byte
	WorkloadOutput []byte
	Log            string
	// Answered counts the calls Variant.Answer answered.
	Answered int
}

// crashSignals end a run as a crash.
var crashSignals = map[string]bool{"SIGSEGV": true, "SIGABRT": true, "SIGBUS": true, "SIGILL": true, "SIGFPE": true, "SIGSYS": true, "SIGTRAP": true}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func withPort(s string, port int) string { return strings.ReplaceAll(s, "{port}", strconv.Itoa(port)) }

// nativeConfig is the native run of cfg with {port} replaced.
func (cfg Config) nativeConfig(port int) native.Config {
	argv := make([]string, len(cfg.Argv))
	for i, a := range cfg.Argv {
		argv[i] = withPort(a, port)
	}
	nc := native.Config{Backend: native.BackendPtrace, Argv: argv, Dir: cfg.Dir, Ready: withPort(cfg.Ready, port),
		ReadyDelay: cfg.ReadyDelay, ReadyTimeout: cfg.ReadyTimeout, StopGrace: 3 * time.Second}
	// The workload and the check run while the app is up; their exit
	// status says which failed.
	switch w, c := withPort(cfg.Workload, port), withPort(cfg.Check, port); {
	case w != "" && c != "":
		nc.Workload = "(" + w + ") || exit 101; (" + c + ") || exit 102"
	case w != "":
		nc.Workload = "(" + w + ") || exit 101"
	case c != "":
		nc.Workload = "(" + c + ") || exit 102"
	}
	return nc
}

// Run runs the app once with variant v and judges it.
func Run(ctx context.Context, cfg Config, v Variant) Outcome {
	port, err := FreePort()
	if err != nil {
		return Outcome{Reason: err.Error()}
	}
	nc := cfg.nativeConfig(port)
	nc.Fail, nc.Fake = v.Fail, v.Fake
	// Faked calls must stop the tracee; nothing else need.
	for name := range v.Fake {
		nc.Trace = append(nc.Trace, name)
	}
	var answered atomic.Int64
	if v.Answer != nil {
		nc.Answer = func(ev *trace.Event) (int64, bool) {
			r, ok := v.Answer(ev)
			if ok {
				answered.Add(1)
			}
			return r, ok
		}
		nc.AnswerSyscalls = v.AnswerSyscalls
		nc.Trace = append(nc.Trace, v.AnswerSyscalls...)
	}
	nc.Quiet = len(nc.Trace) == 0
	workEnd := int64(-1)
	logFile, logPath, err := cfg.openLog(v.Label)
	if err != nil {
		return Outcome{Reason: err.Error()}
	}
	if logFile != nil {
		defer logFile.Close()
		if cfg.LogDir == "" {
			defer os.Remove(logPath)
			logPath = ""
		}
		nc.Stdout, nc.Stderr = logFile, logFile
		if nc.Workload != "" {
			wf, err := os.CreateTemp("", "syscov-workload-*.log")
			if err != nil {
				return Outcome{Reason: err.Error()}
			}
			defer os.Remove(wf.Name())
			defer wf.Close()
			nc.WorkloadOut = wf
		}
		// What the app writes after the workload is its shutdown: not
		// part of the verdict (a stubbed signal handler ends it otherwise).
		nc.BeforeStop = func() {
			if st, err := logFile.Stat(); err == nil {
				workEnd = st.Size()
			}
		}
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	res, err := native.Run(ctx, nc)
	out := Outcome{Elapsed: time.Since(start), Log: logPath, Answered: int(answered.Load())}
	if logFile != nil {
		if nc.WorkloadOut != nil {
			// The log holds both, the workload's after the app's.
			out.WorkloadOutput, _ = io.ReadAll(io.NewSectionReader(nc.WorkloadOut, 0, OutputLimit))
			logFile.Write([]byte("--- the workload wrote:\n"))
			logFile.Write(out.WorkloadOutput)
		}
		limit := int64(OutputLimit)
		if workEnd >= 0 {
			limit = min(limit, workEnd)
		}
		out.Output, _ = io.ReadAll(io.NewSectionReader(logFile, 0, limit))
		if nc.WorkloadOut != nil {
			out.Output = append(out.Output, out.WorkloadOutput...)
		}
	}
	switch {
	case err != nil:
		out.Reason = err.Error()
	case res.Canceled:
		out.Reason = "timeout"
	case crashSignals[res.Signal]:
		out.Reason = "crashed: " + res.Signal
	case res.AppEnded:
		out.Reason = fmt.Sprintf("the app ended during the workload (exit status %d)", res.ExitCode)
	case res.WorkloadErr != nil:
		out.Reason = workloadReason(res.WorkloadErr)
	case nc.Workload == "" && (res.ExitCode != 0 || res.Signal != ""):
		out.Reason = fmt.Sprintf("exit status %d", res.ExitCode)
	case nc.Workload != "" && !res.Stopped:
		out.Reason = "the app ended during the workload"
	default:
		out.OK = true
	}
	return out
}

// openLog opens the file a run's output goes to: LogDir/LABEL.log, or a
// private temporary file when only Output is asked; nil when neither.
func (cfg Config) openLog(label string) (*os.File, string, error) {
	switch {
	case cfg.LogDir != "":
		if label == "" {
			label = "run"
		}
		name := strings.Map(func(r rune) rune {
			if r == '/' || r == ' ' || r < 0x20 {
				return '_'
			}
			return r
		}, label)
		p := filepath.Join(cfg.LogDir, name+".log")
		// A run's log is new: a file there (a link planted, a name two
		// runs share) is an error, never written through.
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
		return f, p, err
	case cfg.Output:
		f, err := os.CreateTemp("", "syscov-run-*.log")
		if err != nil {
			return nil, "", err
		}
		return f, f.Name(), nil
	}
	return nil, "", nil
}

func workloadReason(err error) string {
	s := err.Error()
	switch {
	case strings.HasSuffix(s, "exit status 101"):
		return "the workload failed"
	case strings.HasSuffix(s, "exit status 102"):
		return "the check failed"
	}
	return s
}

// Used runs the app once, fully traced, and returns the syscalls it makes
// (with their call counts) and the outcome of that unmodified run.
func Used(ctx context.Context, cfg Config) (map[string]int, Outcome, error) {
	port, err := FreePort()
	if err != nil {
		return nil, Outcome{}, err
	}
	nc := cfg.nativeConfig(port)
	var mu sync.Mutex
	used := map[string]int{}
	nc.OnEvent = func(ev *trace.Event) {
		if ev.Kind == trace.KindSyscall {
			mu.Lock()
			used[ev.Name]++
			if cfg.OnEvent != nil {
				cfg.OnEvent(ev)
			}
			mu.Unlock()
		}
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, 4*timeout)
	defer cancel()
	start := time.Now()
	res, err := native.Run(ctx, nc)
	if err != nil {
		return nil, Outcome{}, err
	}
	out := Outcome{OK: res.WorkloadErr == nil && !res.Canceled && !crashSignals[res.Signal] && (nc.Workload != "" || res.ExitCode == 0), Elapsed: time.Since(start)}
	if !out.OK {
		out.Reason = fmt.Sprintf("workload: %v, exit %d %s", res.WorkloadErr, res.ExitCode, res.Signal)
	}
	return used, out, nil
}

// Unprobeable are syscalls a probe never changes: the exec that starts the
// app (the filter is installed before it), the calls that end a process
// or return from a signal handler (they do not return).
var Unprobeable = map[string]bool{"execve": true, "execveat": true, "exit": true, "exit_group": true, "rt_sigreturn": true}

// Task is one run of a plan.
type Task struct {
	Name    string // the syscall, or "" for a combination
	Kind    string // "stub" or "fake"
	Replica int
	Variant Variant
}

// RunAll runs tasks with jobs workers and calls done for each outcome, in
// completion order.
func RunAll(ctx context.Context, cfg Config, tasks []Task, jobs int, done func(Task, Outcome)) {
	if jobs < 1 {
		jobs = 1
	}
	ch := make(chan Task)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 0; i < jobs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range ch {
				o := Run(ctx, cfg, t.Variant)
				mu.Lock()
				done(t, o)
				mu.Unlock()
			}
		}()
	}
	for _, t := range tasks {
		if ctx.Err() != nil {
			break
		}
		ch <- t
	}
	close(ch)
	wg.Wait()
}

// StubFake are the two variants of one syscall.
func StubFake(name string) (stub, fake Variant) {
	return Variant{Fail: map[string]int{name: int(syscall.ENOSYS)}}, Variant{Fake: map[string]int64{name: 0}}
}

// Sorted returns map keys sorted.
func Sorted(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

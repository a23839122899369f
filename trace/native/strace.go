package native

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/guard"
)

// straceApp runs the real strace and streams its output through the strace
// reader of the trace package.
type straceApp struct {
	g        *guard.Guarded
	cmd      *exec.Cmd
	doneCh   chan struct{}
	mu       sync.Mutex
	appPid   int
	pids     map[int]bool
	exitCode int
	sig      string
	err      error
	// appEnded: strace printed the app's end; killing: syscov is
	// killing the run (strace dying then is expected).
	appEnded, killing bool
}

// StraceArgs are the strace options syscov uses for cfg.
func StraceArgs(cfg Config, out string) []string {
	args := []string{"-f", "-q", "-ttt", "-T", "-o", out}
	if cfg.Stacks {
		args = append(args, "-k")
	}
	if len(cfg.Trace) > 0 {
		args = append(args, "-e", "trace="+strings.Join(cfg.Trace, ","), "--seccomp-bpf")
	}
	return append(append(args, "--"), cfg.Argv...)
}

func startStrace(cfg Config) (app, error) {
	bin := cfg.StraceBinary
	if bin == "" {
		bin = "strace"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("--backend strace: %w (install Debian's strace package)", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, StraceArgs(cfg, "/dev/fd/3")...)
	cmd.Dir, cmd.Env = cfg.Dir, cfg.Env
	cmd.Stdout, cmd.Stderr = cfg.Stdout, cfg.Stderr
	cmd.ExtraFiles = []*os.File{pw}
	// strace runs under a guard: if syscov dies (kill -9, SIGPIPE), the
	// guard kills strace and every app process, which strace alone would
	// leave running untraced.
	g, err := guard.Wrap(context.Background(), cmd)
	if err != nil {
		pr.Close()
		pw.Close()
		return nil, err
	}
	if err := g.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, err
	}
	pw.Close()
	cmd = g.Cmd
	s := &straceApp{g: g, cmd: cmd, doneCh: make(chan struct{}), pids: map[int]bool{}}
	r, err := trace.NewReader(pr, "strace", 0, trace.Options{Format: trace.FormatStrace})
	if err != nil {
		cmd.Process.Kill()
		return nil, err
	}
	threads := newThreadMap()
	deliver := func(ev *trace.Event) {
		s.mu.Lock()
		if s.appPid == 0 && ev.PID != 0 {
			s.appPid = ev.PID
		}
		s.pids[ev.TID] = ev.Kind != trace.KindExit
		if ev.Kind == trace.KindExit && ev.PID == s.appPid {
			s.exitCode, s.sig = ev.ExitCode, ev.Signal
			s.appEnded = true
		}
		s.mu.Unlock()
		cfg.OnEvent(ev)
	}
	go func() {
		defer close(s.doneCh)
		for r.Scan() {
			threads.add(r.Event(), deliver)
		}
		threads.flush(deliver)
		readErr := r.Err()
		pr.Close()
		err := cmd.Wait()
		var xe *exec.ExitError
		if err != nil && !errors.As(err, &xe) {
			s.err = err
		} else if readErr != nil {
			s.err = readErr
		}
		if s.appPid == 0 && err != nil {
			s.err = fmt.Errorf("strace: %w", err)
		}
		// strace killed from outside (the OOM killer, kill -9) before the
		// app ended: the trace is cut there, and the guard killed the
		// app, which would have gone on untraced. Not a clean run.
		s.mu.Lock()
		if ws, ok := processStatus(cmd); ok && s.err == nil && !s.killing && !s.appEnded && ws.Signaled() {
			s.err = fmt.Errorf("strace was killed by %s before the app ended: the trace stops there (the app was killed too)", trace.SignalName(int(ws.Signal())))
		}
		s.mu.Unlock()
	}()
	return s, nil
}

func (s *straceApp) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appPid
}

func (s *straceApp) signal(sig syscall.Signal) error {
	if p := s.pid(); p != 0 {
		return syscall.Kill(p, sig)
	}
	return errors.New("the app's pid is not known yet")
}

func (s *straceApp) killAll() {
	// The app's processes first, so that strace can still print how they
	// ended ("+++ killed by SIGKILL +++"), then, shortly after, strace and
	// whatever is left (through the guard).
	s.mu.Lock()
	s.killing = true
	for pid, alive := range s.pids {
		if alive && pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	s.mu.Unlock()
	select {
	case <-s.doneCh:
	case <-time.After(500 * time.Millisecond):
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.g.Kill()
	if s.cmd.Process != nil {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
}

func (s *straceApp) done() <-chan struct{} { return s.doneCh }

func (s *straceApp) wait() (int, string, error) {
	<-s.doneCh
	return s.exitCode, s.sig, s.err
}

// threadMap gives strace's events their process: strace names threads by
// tid. A tid's process comes from the clone that made it (CLONE_THREAD:
// the parent's process) or, while the thread lives, from /proc. The
// events of a tid that is gone before either tells are held back until
// its clone shows up (strace often prints a new thread's first calls
// before the parent's clone returns), at most maxHeld of them.
type threadMap struct {
	pid  map[int]int
	held map[int][]trace.Event
}

const maxHeld = 4096

func newThreadMap() *threadMap {
	return &threadMap{pid: map[int]int{}, held: map[int][]trace.Event{}}
}

func (m *threadMap) add(ev *trace.Event, deliver func(*trace.Event)) {
	tid := ev.PID
	if tid <= 0 {
		deliver(ev)
		return
	}
	pid, ok := m.pid[tid]
	if !ok {
		if held := m.held[tid]; len(held) > 0 && len(held) < maxHeld {
			m.held[tid] = append(held, ev.Clone())
			return
		}
		if g, found := trace.LookupThreadGroup(tid); found {
			pid, ok = g, true
			m.pid[tid] = g
		} else if len(m.held[tid]) < maxHeld {
			m.held[tid] = append(m.held[tid], ev.Clone())
			return
		} else {
			pid, ok = tid, true
			m.resolve(tid, tid, deliver)
		}
	}
	ev.TID, ev.PID = tid, pid
	deliver(ev)
	if ev.Kind == trace.KindSyscall && ev.RetVal > 0 {
		switch ev.Name {
		case "clone", "clone3", "fork", "vfork":
			child, childPid := int(ev.RetVal), int(ev.RetVal)
			if ev.HasCloneFlags && ev.CloneFlags&trace.CloneThread != 0 {
				childPid = pid
			}
			m.resolve(child, childPid, deliver)
		}
	}
}

// resolve sets a tid's process and delivers what was held of it.
func (m *threadMap) resolve(tid, pid int, deliver func(*trace.Event)) {
	m.pid[tid] = pid
	for i := range m.held[tid] {
		ev := &m.held[tid][i]
		ev.TID, ev.PID = tid, pid
		deliver(ev)
	}
	delete(m.held, tid)
}

// flush delivers what is still held, each tid as its own process.
func (m *threadMap) flush(deliver func(*trace.Event)) {
	tids := make([]int, 0, len(m.held))
	for tid := range m.held {
		tids = append(tids, tid)
	}
	sort.Ints(tids)
	for _, tid := range tids {
		m.resolve(tid, tid, deliver)
	}
}

// processStatus is how a command that was waited for ended.
func processStatus(cmd *exec.Cmd) (syscall.WaitStatus, bool) {
	if cmd.ProcessState == nil {
		return 0, false
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ws, ok
}

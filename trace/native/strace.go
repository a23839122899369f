package native

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"

	"github.com/syscov/syscov/trace"
)

// straceApp runs the real strace and streams its output through the strace
// reader of the trace package.
type straceApp struct {
	cmd      *exec.Cmd
	doneCh   chan struct{}
	mu       sync.Mutex
	appPid   int
	pids     map[int]bool
	exitCode int
	sig      string
	err      error
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
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, err
	}
	pw.Close()
	s := &straceApp{cmd: cmd, doneCh: make(chan struct{}), pids: map[int]bool{}}
	r, err := trace.NewReader(pr, "strace", 0, trace.Options{Format: trace.FormatStrace})
	if err != nil {
		cmd.Process.Kill()
		return nil, err
	}
	tgid := map[int]int{} // strace names threads by tid: find their process
	go func() {
		defer close(s.doneCh)
		for r.Scan() {
			ev := r.Event()
			if ev.PID > 0 {
				g, ok := tgid[ev.PID]
				if !ok {
					g = trace.ThreadGroup(ev.PID)
					tgid[ev.PID] = g
				}
				ev.TID, ev.PID = ev.PID, g
			}
			s.mu.Lock()
			if s.appPid == 0 && ev.PID != 0 {
				s.appPid = ev.PID
			}
			s.pids[ev.TID] = ev.Kind != trace.KindExit
			if ev.Kind == trace.KindExit && ev.PID == s.appPid {
				s.exitCode, s.sig = ev.ExitCode, ev.Signal
			}
			s.mu.Unlock()
			cfg.OnEvent(ev)
		}
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
	s.mu.Lock()
	defer s.mu.Unlock()
	for pid, alive := range s.pids {
		if alive && pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if s.cmd.Process != nil {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
}

func (s *straceApp) done() <-chan struct{} { return s.doneCh }

func (s *straceApp) wait() (int, string, error) {
	<-s.doneCh
	return s.exitCode, s.sig, s.err
}

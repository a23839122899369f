// Package guard makes what syscov starts die with it, whatever kills
// syscov (kill -9, SIGPIPE): a command wrapped by Wrap runs under a small
// guard process (syscov itself, re-executed) that is the command's
// parent and its tree's subreaper. The guard holds the read end of a pipe
// whose write end only syscov holds; when syscov dies the pipe ends, and
// the guard kills the command's whole tree, orphans included. When the
// command ends by itself, the guard kills what it left behind (a
// daemonized child, a workload's background job) and exits as the
// command did. It is part of the trace stage of the pipeline: the
// tracers and the workload runner start their processes through it.
package guard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/syscov/syscov/trace"
)

const (
	envFD     = "SYSCOV_GUARD_FD"
	envFollow = "SYSCOV_GUARD_FOLLOW"
)

// Guarded is a command that runs under a guard.
type Guarded struct {
	Cmd  *exec.Cmd // the guard's command: Start and Wait it
	life *os.File  // the write end: open until syscov exits or Kill
	once sync.Once
}

// Wrap returns a command that runs cmd under a guard. cmd must not have
// been started; its path, arguments, directory, environment, standard
// files and extra files are kept; the guard and the command get a process
// group of their own. When ctx ends, the tree is killed.
func Wrap(ctx context.Context, cmd *exec.Cmd) (*Guarded, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	fd := 3 + len(cmd.ExtraFiles)
	g := exec.CommandContext(ctx, self, cmd.Args[1:]...)
	g.Args[0] = cmd.Args[0]
	g.Env = append(append([]string(nil), env...), envFD+"="+strconv.Itoa(fd)+":"+cmd.Path)
	g.Dir, g.Stdin, g.Stdout, g.Stderr = cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr
	g.ExtraFiles = append(append([]*os.File(nil), cmd.ExtraFiles...), pr)
	g.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	gd := &Guarded{Cmd: g, life: pw}
	g.Cancel = func() error { gd.Kill(); return nil }
	g.WaitDelay = 5 * time.Second
	return gd, nil
}

// WrapFollowing is Wrap for an app that may daemonize (redis-server
// --daemonize yes, memcached -d, a double fork and setsid): when the
// command ends, what it left running is not killed but waited for (the
// guard is its subreaper), and the guard exits, as the command did, once
// the whole tree has ended. syscov's end, or Kill, still kills it all.
func WrapFollowing(ctx context.Context, cmd *exec.Cmd) (*Guarded, error) {
	g, err := Wrap(ctx, cmd)
	if err == nil {
		g.Cmd.Env = append(g.Cmd.Env, envFollow+"=1")
	}
	return g, err
}

// Start starts the guard (and so the command).
func (g *Guarded) Start() error {
	err := g.Cmd.Start()
	// The read end is the guard's alone.
	g.Cmd.ExtraFiles[len(g.Cmd.ExtraFiles)-1].Close()
	if err != nil {
		g.life.Close()
	}
	return err
}

// Kill has the guard kill the command's whole tree (its group and every
// process below it, wherever they moved) and exit.
func (g *Guarded) Kill() {
	g.once.Do(func() { g.life.Close() })
}

// Pid is the guard's pid, which is also the process group of the guard
// and the command.
func (g *Guarded) Pid() int { return g.Cmd.Process.Pid }

// RunIfRequested runs the guard when this process was started as one,
// and never returns then. main calls it first.
func RunIfRequested() {
	spec, ok := os.LookupEnv(envFD)
	if !ok {
		return
	}
	os.Unsetenv(envFD)
	_, follow := os.LookupEnv(envFollow)
	os.Unsetenv(envFollow)
	followOrphans = follow
	fdText, path, _ := strings.Cut(spec, ":")
	fd, err := strconv.Atoi(fdText)
	if err != nil || path == "" {
		fmt.Fprintf(os.Stderr, "syscov guard: bad %s\n", envFD)
		os.Exit(126)
	}
	os.Exit(run(fd, path, os.Args))
}

func run(fd int, path string, args []string) int {
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	// Threads first: under a pid limit the command may leave the guard
	// no room for one when it must kill the tree (a fork bomb).
	trace.ReserveThreads(8)
	life := os.NewFile(uintptr(fd), "guard")
	var extra []*os.File
	for i := 3; i < fd; i++ {
		extra = append(extra, os.NewFile(uintptr(i), "fd"+strconv.Itoa(i)))
	}
	cmd := exec.Command(path, args[1:]...)
	cmd.Args[0] = args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = extra
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "syscov guard: %v\n", err)
		return 127
	}
	for _, f := range extra {
		f.Close()
	}
	// Signals meant for the group are the command's: the guard outlives
	// them to clean up (ignored only now: an ignored signal would be
	// ignored by the command too).
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGPIPE)
	go func() {
		var b [1]byte
		for {
			if _, err := life.Read(b[:]); err != nil {
				// syscov is gone: nothing it started may stay.
				killTree()
				os.Exit(137)
			}
		}
	}()
	err := cmd.Wait()
	if followOrphans {
		waitTree()
	}
	killTree()
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		if ws, ok := xe.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			sig := ws.Signal()
			dieBy(sig)
			return 128 + int(sig)
		}
		return xe.ExitCode()
	}
	if err != nil {
		return 127
	}
	return 0
}

// followOrphans: the guard waits for what the command left running.
var followOrphans bool

// waitTree waits until every descendant has ended: as subreaper, the
// guard is the parent of every orphan of the tree (a daemon).
func waitTree() {
	me := os.Getpid()
	for len(descendants(me)) > 0 {
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(-1, &ws, 0, nil); err == syscall.ECHILD {
			return
		}
	}
}

// killTree kills every descendant of this process (as subreaper, orphans
// of the tree are its children too) until none is left.
func killTree() {
	me := os.Getpid()
	for round := 0; round < 100; round++ {
		kids := descendants(me)
		if len(kids) == 0 {
			return
		}
		for _, p := range kids {
			syscall.Kill(p, syscall.SIGKILL)
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// descendants lists the processes below pid, from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp := trace.ParentPID(p); pp > 0 {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// dieBy ends the guard by sig, as the command ended: with the kernel's
// default action, not the Go runtime's (which prints a crash report for
// SIGSEGV, SIGBUS, SIGFPE, SIGABRT …).
func dieBy(sig syscall.Signal) {
	signal.Reset(sig)
	// struct kernel_sigaction: handler SIG_DFL, no flags, no restorer, empty mask.
	var act [4]uint64
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	var set unix.Sigset_t
	set.Val[0] = 1 << (uint(sig) - 1)
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_UNBLOCK, uintptr(unsafe.Pointer(&set)), 0, 8, 0, 0)
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0) // the command dumped its core already, if it did
	unix.Tgkill(os.Getpid(), unix.Gettid(), sig)
	time.Sleep(100 * time.Millisecond)
}

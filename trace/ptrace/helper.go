package ptrace

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/syscov/syscov/trace/guard"
)

const (
	helperEnv  = "SYSCOV_EXEC_HELPER"
	seccompEnv = "SYSCOV_SECCOMP"
	guardEnv   = "SYSCOV_GUARD_FD" // the guard's marker (package guard)
)

// The helper's handshake with the tracer: it writes a byte on helperReady
// once it runs (its own execve long done), then waits for a byte on
// helperGo, which the tracer writes once it has attached (PTRACE_SEIZE).
const (
	helperGo    = 3
	helperReady = 4
)

// The helper runs from this package's init: while packages initialise,
// the Go runtime keeps the main goroutine on the process's first thread,
// the one the tracer seized; main.main could already run on another, and
// an execve from an untraced thread would leave the command untraced.
func init() { RunHelperIfRequested() }

// RunHelperIfRequested turns the process into the exec helper when syscov
// started it as one: it installs the seccomp filter and executes the traced
// command, never returning. Otherwise it returns at once. (It runs from
// the package's init already; a later call does nothing.)
func RunHelperIfRequested() {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	if _, ok := os.LookupEnv(guardEnv); ok {
		return // the guard that runs the helper (guard.RunIfRequested)
	}
	runtime.LockOSThread()
	// The tracer seizes this thread (the one that will exec the command),
	// then lets it go on. The helper says its pid: under a guard, it is
	// not its starter's child.
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(os.Getpid()))
	unix.Write(helperReady, b[:])
	unix.Close(helperReady)
	for {
		if _, err := unix.Read(helperGo, b[:]); err != unix.EINTR {
			break
		}
	}
	unix.Close(helperGo)
	err := helperExec(os.Args[1:], os.Getenv(seccompEnv))
	fmt.Fprintf(os.Stderr, "syscov: %v\n", err)
	os.Exit(127)
}

func helperExec(argv []string, spec string) error {
	if len(argv) == 0 {
		return fmt.Errorf("exec helper: no command")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, helperEnv+"=") && !strings.HasPrefix(kv, seccompEnv+"=") {
			env = append(env, kv)
		}
	}
	if _, ok := os.LookupEnv(seccompEnv); ok {
		actions, err := decodeActions(spec)
		if err != nil {
			return err
		}
		if err := installFilter(actions); err != nil {
			return err
		}
	}
	// The tracer sees this execve as the start of the trace.
	return unix.Exec(path, argv, env)
}

func installFilter(actions map[int]Action) error {
	prog, err := buildFilter(actions)
	if err != nil {
		return err
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); errno != 0 {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w", errno)
	}
	runtime.KeepAlive(prog)
	return nil
}

// HelperConfig is how the exec helper runs the command.
type HelperConfig struct {
	Dir string
	Env []string // the command's environment (the helper's markers are added)
	// Stdin, Stdout, Stderr of the command; nil is /dev/null.
	Stdin, Stdout, Stderr *os.File
	// Guarded runs the helper under a guard (package guard), which kills
	// the command's whole tree when syscov dies: for a backend that,
	// unlike ptrace (PTRACE_O_EXITKILL), does not take its tracees along.
	Guarded bool
}

// Helper is an exec helper that runs and waits to be released: whatever
// traces the command (the ptrace tracer seizes it, the eBPF backend puts
// its pid in the traced set) is in place before the command's first
// instruction. It is its own process group's leader and dies with the
// thread that started it (PR_SET_PDEATHSIG).
type Helper struct {
	Pid     int
	release int // the pipe's write end: a byte releases the helper
	// Guard runs the helper when HelperConfig.Guarded: wait for it (it
	// exits as the command did).
	Guard *guard.Guarded
}

// SpawnHelper starts the exec helper for argv (syscov runs itself again)
// and returns once it runs, waiting to be released. Call it from a thread
// locked to its OS thread that outlives the command: the helper's parent
// death signal follows that thread.
func SpawnHelper(argv []string, c HelperConfig) (*Helper, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	env := append(c.Env[:len(c.Env):len(c.Env)], helperEnv+"=1")
	var gopipe, readypipe [2]int
	if err := unix.Pipe2(gopipe[:], unix.O_CLOEXEC); err != nil {
		return nil, err
	}
	if err := unix.Pipe2(readypipe[:], unix.O_CLOEXEC); err != nil {
		unix.Close(gopipe[0])
		unix.Close(gopipe[1])
		return nil, err
	}
	var g *guard.Guarded
	pid := 0
	if c.Guarded {
		cmd := exec.Command(self, argv...)
		cmd.Args[0] = self
		cmd.Dir, cmd.Env = c.Dir, env
		cmd.Stdin, cmd.Stdout, cmd.Stderr = orNull(c.Stdin), orNull(c.Stdout), orNull(c.Stderr)
		cmd.ExtraFiles = []*os.File{os.NewFile(uintptr(gopipe[0]), "go"), os.NewFile(uintptr(readypipe[1]), "ready")}
		// The app may daemonize: the guard follows what it leaves
		// running instead of killing it (the tracer decides the end).
		if g, err = guard.WrapFollowing(context.Background(), cmd); err == nil {
			err = g.Start()
		}
	} else {
		files := []uintptr{devNull(c.Stdin), devNull(c.Stdout), devNull(c.Stderr), uintptr(gopipe[0]), uintptr(readypipe[1])}
		pid, err = syscall.ForkExec(self, append([]string{self}, argv...), &syscall.ProcAttr{
			Dir:   c.Dir,
			Env:   env,
			Files: files,
			Sys:   &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
		})
	}
	unix.Close(gopipe[0])
	unix.Close(readypipe[1])
	if err != nil {
		unix.Close(gopipe[1])
		unix.Close(readypipe[0])
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	// Seize only once the helper runs: seized during its own execve, the
	// tracer would take that execve for the command's.
	var b [4]byte
	n := 0
	for n < len(b) {
		k, err := unix.Read(readypipe[0], b[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || k <= 0 {
			break
		}
		n += k
	}
	unix.Close(readypipe[0])
	if n < len(b) {
		unix.Close(gopipe[1])
		if g != nil {
			g.Kill()
			g.Cmd.Wait()
		} else {
			unix.Kill(pid, unix.SIGKILL)
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, 0, nil)
		}
		return nil, fmt.Errorf("start %s: the exec helper did not start", argv[0])
	}
	if g != nil {
		pid = int(binary.NativeEndian.Uint32(b[:]))
	}
	return &Helper{Pid: pid, release: gopipe[1], Guard: g}, nil
}

func orNull(f *os.File) *os.File {
	if f != nil {
		return f
	}
	nullOnce.Do(func() { nullFile, _ = os.OpenFile(os.DevNull, os.O_RDWR, 0) })
	return nullFile
}

// Release lets the helper execute the command.
func (h *Helper) Release() {
	unix.Write(h.release, []byte{1})
	unix.Close(h.release)
}

// Abort kills the helper before it ran anything and reaps it.
func (h *Helper) Abort() {
	unix.Close(h.release)
	if h.Guard != nil {
		h.Guard.Kill()
		h.Guard.Cmd.Wait()
		return
	}
	unix.Kill(h.Pid, unix.SIGKILL)
	var ws unix.WaitStatus
	unix.Wait4(h.Pid, &ws, 0, nil)
}

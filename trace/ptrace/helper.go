package ptrace

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	helperEnv  = "SYSCOV_EXEC_HELPER"
	seccompEnv = "SYSCOV_SECCOMP"
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
	runtime.LockOSThread()
	// The tracer seizes this thread (the one that will exec the command),
	// then lets it go on.
	var b [1]byte
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

// Package ptrace is syscov's built-in tracer: an own ptrace(2) loop on
// golang.org/x/sys/unix that follows fork, vfork, clone, clone3, threads
// and execve, merges each syscall's entry and exit into one trace.Event
// (arguments, result, errno, duration), and reports signals and exits.
//
// It sits in the trace stage of the pipeline (trace → analyze → report):
// it produces the same events as the readers of strace text do.
//
// The traced command is started through a small helper: syscov re-executes
// itself with SYSCOV_EXEC_HELPER set, and the helper installs an optional
// seccomp-bpf filter (so that untraced syscalls never stop the tracee, as
// strace --seccomp-bpf does) and then executes the command. Every program
// that uses this package must call RunHelperIfRequested first thing in main
// (and in TestMain).
//
// Only x86_64 is supported for now; the event model and tables also cover
// aarch64.
package ptrace

// Package trace is the first stage of syscov's pipeline (trace → analyze →
// report). It holds the one event model every source is turned into, the
// readers for every input format (strace text, strace -ff file sets, syscov's
// own JSON Lines trace files), the writer for trace files, and the syscall
// tables per architecture.
//
// A Reader streams: it never holds a whole trace, and the Event it returns is
// valid until the next call to Scan (callers copy what they keep; an Event is
// a plain value, so copying it is an assignment).
//
// It imports no other syscov package; its sub-packages (the recorders:
// ptrace, native, unikernel, probe, workload, guard) import only trace and
// one another.
package trace

import (
	"fmt"
	"strings"
	"time"
)

// Kind says what an Event records.
type Kind uint8

const (
	// KindSyscall is one system call, entry and exit merged.
	KindSyscall Kind = iota + 1
	// KindSignal is a signal delivered to a process (strace's `--- SIG ---`).
	KindSignal
	// KindExit is a process or thread ending (`+++ exited with N +++`,
	// `+++ killed by SIG +++`, `+++ superseded by execve +++`).
	KindExit
	// KindMessage is a line of the tracer or kernel that is not a syscall:
	// a unikernel log message, a note of the tracer.
	KindMessage
	// KindOutput is output of the traced app that ended up in the log.
	KindOutput
)

var kindNames = [...]string{KindSyscall: "syscall", KindSignal: "signal", KindExit: "exit", KindMessage: "message", KindOutput: "output"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, bool) {
	for k, n := range kindNames {
		if n == s && n != "" {
			return Kind(k), true
		}
	}
	return 0, false
}

// Status is the outcome of a syscall.
type Status uint8

const (
	// StatusOK: the call returned without error.
	StatusOK Status = iota + 1
	// StatusError: the call returned an error (Errno says which).
	StatusError
	// StatusUnsupported: the system does not implement the call (ENOSYS, or
	// a unikernel's "is not available" message).
	StatusUnsupported
	// StatusStubbed: the call is a stub that pretends or does nothing.
	StatusStubbed
	// StatusUnfinished: the call never returned while it was traced:
	// exit and exit_group, a call pending when its process died or was
	// detached, or when the trace ended (strace's `= ?`).
	StatusUnfinished
	// StatusUnknown: the call returned but its result is unknown (a
	// unikernel line cut at the shim's buffer size, a call request with no
	// result line).
	StatusUnknown
)

var statusNames = [...]string{StatusOK: "ok", StatusError: "error", StatusUnsupported: "unsupported", StatusStubbed: "stubbed", StatusUnfinished: "unfinished", StatusUnknown: "unknown"}

func (s Status) String() string {
	if int(s) < len(statusNames) && statusNames[s] != "" {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", s)
}

// ParseStatus is the inverse of Status.String.
func ParseStatus(s string) (Status, bool) {
	for k, n := range statusNames {
		if n == s && n != "" {
			return Status(k), true
		}
	}
	return 0, false
}

// Origin says which side of a comparison an event comes from.
type Origin uint8

const (
	OriginNative Origin = iota + 1
	OriginUnikernel
)

func (o Origin) String() string {
	switch o {
	case OriginNative:
		return "native"
	case OriginUnikernel:
		return "unikernel"
	}
	return "unknown"
}

// ParseOrigin is the inverse of Origin.String.
func ParseOrigin(s string) Origin {
	switch s {
	case "native":
		return OriginNative
	case "unikernel":
		return OriginUnikernel
	}
	return 0
}

// UnikernelPID is the synthetic pid of every unikernel event: a unikernel
// has one address space and its console names no process.
const UnikernelPID = 1

// NoTime marks Event.Time as unknown.
const NoTime = -1

// Frame is one frame of a user-space call stack, innermost first.
type Frame struct {
	// Object is the file the code lives in (/usr/lib/x86_64-linux-gnu/libc.so.6).
	Object string `json:"object,omitempty"`
	// Func is the symbol, when known; Offset the offset into it.
	Func   string `json:"func,omitempty"`
	Offset uint64 `json:"offset,omitempty"`
	// Addr is the address relative to Object (strace -k's bracketed value)
	// or absolute when Object is empty.
	Addr uint64 `json:"addr,omitempty"`
	// File and Line are the source position, when the object (or its
	// debug file) has DWARF line information.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

func (f Frame) String() string {
	switch {
	case f.Func != "":
		return fmt.Sprintf("%s(%s+0x%x)", f.Object, f.Func, f.Offset)
	case f.Object != "":
		return fmt.Sprintf("%s(+0x%x)", f.Object, f.Addr)
	}
	return fmt.Sprintf("0x%x", f.Addr)
}

// Pos is where in an input an event was read: file and 1-based line.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Event is one thing that happened in a traced run. Kind says which fields
// carry meaning:
//
//   - KindSyscall: Name, Nr, Args, Ret, RetVal, Errno, Status, Duration,
//     Stack, Injected;
//   - KindSignal: Signal, Text (the siginfo), Stack (strace -k);
//   - KindExit: ExitCode or Signal (killed), CoreDumped, Text (the raw
//     reason, e.g. "superseded by execve in pid 42");
//   - KindMessage: Level, Library, Text, and SrcFile/SrcLine for a kernel
//     message that names its source position, Thread and Caller when the
//     kernel log prints them (libukprint's PRINT_THREAD, PRINT_CALLER);
//   - KindOutput: Text.
//
// PID, TID, Time, Pos and Origin apply to every kind.
type Event struct {
	Kind   Kind
	Origin Origin
	// PID is the process (thread group); TID the thread. A reader that
	// cannot tell them apart (strace names only one id per line) sets both
	// to the id it has.
	PID, TID int
	// Time is nanoseconds: since the Unix epoch for absolute timestamps
	// (strace -ttt), since midnight for -t/-tt, since the first event for
	// relative ones (-r); NoTime when the input has none.
	Time int64
	// Comm is the command name, when the input names it (strace -Y).
	Comm string

	Name string // syscall name as the source prints it
	Nr   int    // syscall number for Arch, -1 when unknown
	// Arch is the ABI of this call when it is not the trace's: a 64-bit
	// process that makes 32-bit calls (int $0x80, strace's "[ Process
	// PID=N runs in 32 bit mode. ]") has ArchI386 on them. Empty: the
	// trace's (Header.Arch).
	Arch Arch
	Args string // raw argument text, without the outer parentheses
	Ret  string // raw result text after "= ", e.g. "-1 ENOENT (No such file or directory)"
	// RetVal is the numeric result when Ret starts with a number.
	RetVal   int64
	Errno    string // errno name, e.g. "ENOENT"; empty on success
	Status   Status
	Duration time.Duration // time spent in the call; -1 when unknown
	Injected bool          // strace fault injection produced the result
	// CloneFlags are the flags of a clone or clone3 call (the exit
	// signal in the low byte), when HasCloneFlags: read from the
	// registers by the tracer, or from the text once by a reader.
	CloneFlags    uint64
	HasCloneFlags bool
	Stack         []Frame

	Signal     string // signal name (KindSignal, KindExit when killed)
	ExitCode   int
	CoreDumped bool

	Level   string // message level: dbg, info, warn, err, crit
	Library string // message library, e.g. libsyscall_shim
	SrcFile string // source file a message names
	SrcLine int
	// Thread is the kernel thread a message names ("main", "0x4001a000",
	// "n/a"); Caller its return and frame addresses ("r:0x…,f:0x…").
	Thread, Caller string
	Text           string

	Pos Pos
}

// Clone returns a deep copy of e that stays valid after the reader moves on.
func (e *Event) Clone() Event {
	c := *e
	if e.Stack != nil {
		c.Stack = append([]Frame(nil), e.Stack...)
	}
	return c
}

// StopMarker is the text of the message event a native run writes when
// syscov sends the app its stop signal (after the workload): what the app
// does from then on is its shutdown, not its work.
const StopMarker = "syscov sent the stop signal"

// NewStopMarker is the event that marks the start of the shutdown phase.
func NewStopMarker(t int64, signal string) Event {
	return Event{Kind: KindMessage, Time: t, Duration: -1, Level: "info", Library: "syscov", Text: StopMarker + " " + signal, Signal: signal}
}

// IsStopMarker reports whether ev marks the start of the shutdown phase.
func IsStopMarker(ev *Event) bool {
	return ev.Kind == KindMessage && ev.Library == "syscov" && strings.HasPrefix(ev.Text, StopMarker)
}

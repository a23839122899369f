// Package job runs syscov's jobs from start to end — check, probe, the
// recording of a native or unikernel run — over the three stages of the
// pipeline (trace → analyze → report), so that a Go program can call them
// as the command does. It may import every stage; no stage imports it.
// cmd/syscov parses flags, builds a job and maps its errors to exit codes.
package job

import (
	"fmt"
	"io"

	"github.com/syscov/syscov/trace"
)

// Version is syscov's version, written into trace headers and reports.
const Version = "0.1.0"

// Output is where a job writes: its verdict and progress, and what it
// warns about malformed input.
type Output struct {
	Stdout, Stderr io.Writer
	// Warn reports a malformed input line (nil: dropped).
	Warn func(*trace.SyntaxError)
}

// Exit codes a job's errors carry (ExitError); a usage error is 2 and
// any other error 1.
const (
	ExitFailure     = 1   // the run failed, or proves nothing
	ExitLacks       = 4   // the app needs what the unikernel lacks
	ExitBootFailure = 3   // the unikernel run proves nothing: no boot, a crash, no syscall
	ExitTimeout     = 124 // --timeout passed
	ExitInterrupt   = 130 // Ctrl-C (SIGINT) or SIGTERM to syscov
)

// UsageError is an error in how a job was asked for: exit code 2.
type UsageError struct{ Msg string }

func (u *UsageError) Error() string { return u.Msg }

// Usagef makes a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Sprintf(format, args...)}
}

// ExitError carries a specific exit code (a traced program's status, a
// verdict).
type ExitError struct {
	Code int
	Err  error
}

func (x *ExitError) Error() string {
	if x.Err == nil {
		return fmt.Sprintf("exit status %d", x.Code)
	}
	return x.Err.Error()
}

func (x *ExitError) Unwrap() error { return x.Err }

// Command syscov finds the syscalls an application needs that a unikernel
// lacks. It is the front of the pipeline trace → analyze → report: it parses
// flags, opens files, and maps results to exit codes; everything else lives
// in the trace, analyze and report packages.
//
// Exit codes: 0 success, 1 failure, 2 usage error.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

	flag "github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/syscov/syscov/internal/outfile"
	"github.com/syscov/syscov/job"
	"github.com/syscov/syscov/report"
	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/guard"
	"github.com/syscov/syscov/trace/ptrace"
)

// version is syscov's version, printed by `syscov version` and written into
// trace headers.
const version = "0.1.0"

const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	guard.RunIfRequested()
	ptrace.RunHelperIfRequested()
	os.Exit(profiled(func() int { return run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr) }))
}

// profiled runs f under Go's CPU profiler when SYSCOV_CPUPROFILE names a
// file (for syscov's developers: `go tool pprof syscov FILE`).
func profiled(f func() int) int {
	path := os.Getenv("SYSCOV_CPUPROFILE")
	if path == "" {
		return f()
	}
	out, err := outfile.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "syscov: SYSCOV_CPUPROFILE: %v\n", err)
		return f()
	}
	defer out.Close()
	pprof.StartCPUProfile(out)
	defer pprof.StopCPUProfile()
	return f()
}

// env is what a command may touch of the outside world.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// warnings counts the malformed lines warned about; past maxWarnings
	// they are only counted (a megabyte of garbage is not 4,000 lines of
	// stderr), and the count is told at the end.
	warnings int
}

const maxWarnings = 20

// warn reports a malformed input line: file:line: reason.
func (e *env) warn(se *trace.SyntaxError) {
	e.warnings++
	if e.warnings <= maxWarnings {
		fmt.Fprintf(e.stderr, "syscov: warning: %v\n", se)
	}
}

type command struct {
	name    string
	summary string
	run     func(e *env, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"check", "the main job: trace an app, run it in the unikernel, diff, coverage, reports", runCheck},
		{"trace", "record an app natively: every syscall of every process and thread", runTrace},
		{"summary", "per-syscall calls, errors and time of traces (like strace -c)", runSummary},
		{"diff", "where a unikernel run departs from the native one, and what it lacks", runDiff},
		{"coverage", "which syscalls of apps a unikernel supports, and what to implement first", runCoverage},
		{"probe", "which missing syscalls must really be implemented, and which can be stubbed or faked", runProbe},
		{"profile", "a pprof profile of the code paths that lead to each syscall", runProfile},
		{"bench", "size, boot time, memory and throughput of the app, native against unikernel", runBench},
		{"kb", "the Unikraft support tables: list, show, import", runKB},
		{"catalog", "many apps into a results store: run a manifest, fan out on a batch engine", runCatalog},
		{"completion", "a shell completion script (bash, zsh, fish) from syscov's own flags", runCompletion},
		{"man", "syscov's man page (roff), from its own flags", runMan},
		{"version", "print syscov's version", func(e *env, _ []string) error {
			fmt.Fprintf(e.stdout, "syscov %s\n", version)
			return nil
		}},
	}
}

// isTerminal reports whether w is a terminal (colour is for people, not
// for files and pipes).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// outputWriter remembers the first error of the command's output: a
// report written to a full disk or a closed pipe must not pass.
type outputWriter struct {
	w   io.Writer
	err error
}

func (o *outputWriter) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.w.Write(p)
	if err != nil {
		o.err = err
	}
	return n, err
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	color := isTerminal(stdout) && os.Getenv("NO_COLOR") == ""
	report.SetColor(color)
	// Text from traces (argv, paths, app output, console lines) reaches
	// stdout and stderr: a raw ESC or BEL in it is escaped, never sent to
	// the terminal (syscov's own colours pass).
	out := &outputWriter{w: stdout}
	vout, verr := report.NewVisibleWriter(out, color), report.NewVisibleWriter(stderr, false)
	code := runWith(args, stdin, vout, verr)
	vout.Flush()
	verr.Flush()
	if out.err != nil && code != exitUsage {
		fmt.Fprintf(stderr, "syscov: writing the output: %v\n", out.err)
		return exitFail
	}
	return code
}

func runWith(args []string, stdin io.Reader, stdout io.Writer, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 {
			args = []string{args[1], "--help"}
		} else {
			printUsage(stdout)
			if len(args) == 0 {
				return exitUsage
			}
			return exitOK
		}
	}
	if args[0] == "--version" {
		args[0] = "version"
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(e, args[1:])
		if e.warnings > maxWarnings {
			fmt.Fprintf(e.stderr, "syscov: warning: %d more malformed lines not shown (%d in all; --strict makes the first one an error)\n", e.warnings-maxWarnings, e.warnings)
		}
		return exitCode(e, c.name, err)
	}
	fmt.Fprintf(stderr, "syscov: unknown command %q\n", args[0])
	printUsage(stderr)
	return exitUsage
}

func exitCode(e *env, name string, err error) int {
	var ue *job.UsageError
	var xe *job.ExitError
	var fe *report.FormatError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &fe):
		fmt.Fprintf(e.stderr, "syscov %s: %v\n", name, fe)
		return exitUsage
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "syscov %s: %s\n", name, ue.Msg)
		fmt.Fprintf(e.stderr, "Run 'syscov %s --help' for usage.\n", name)
		return exitUsage
	case errors.As(err, &xe):
		if xe.Err != nil {
			fmt.Fprintf(e.stderr, "syscov %s: %v\n", name, xe.Err)
		}
		return xe.Code
	default:
		fmt.Fprintf(e.stderr, "syscov %s: %v\n", name, err)
		return exitFail
	}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: syscov COMMAND [FLAGS] [ARGS]")
	fmt.Fprintln(w, "\nsyscov finds the syscalls an app needs that a unikernel lacks.\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'syscov COMMAND --help' for a command's flags.")
}

// newFlagSet makes the FlagSet of a command: errors are returned, not
// fatal. Commands that run a program call SetInterspersed(false), so that
// `syscov trace -- ls -l` passes -l to ls; the others take flags anywhere.
func newFlagSet(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: syscov %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
		if ex := examples[name]; len(ex) > 0 {
			fmt.Fprintln(e.stderr, "\nExamples:")
			for _, x := range ex {
				fmt.Fprintf(e.stderr, "  %s\n", x)
			}
		}
	}
	noteFlagSet(fs, usage)
	return fs
}

// parseFlags parses args; a bad flag is a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if described(fs) {
		return flag.ErrHelp // collecting docs: the flags are defined, nothing runs
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &job.UsageError{Msg: strings.TrimSpace(err.Error())}
	}
	return nil
}

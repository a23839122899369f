package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	flag "github.com/spf13/pflag"

	"github.com/syscov/syscov/job"
	"github.com/syscov/syscov/report"
	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/workload"
)

// inputFlags are the flags every command that reads traces takes.
type inputFlags struct {
	format string
	strict bool
	arch   string
}

func (f *inputFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.format, "input-format", "auto", "input format: auto (sniffed), strace, unikraft (a console log) or syscov (JSON Lines)")
	fs.BoolVar(&f.strict, "strict", false, "fail (exit 1) on the first malformed input line instead of skipping it")
	fs.StringVar(&f.arch, "arch", "", "syscall ABI of strace inputs: x86_64 or aarch64 (default: the host's)")
}

// reportFlags are the flags of a command that reads traces and prints a
// report: the input flags and --format.
type reportFlags struct {
	inputFlags
	format string
}

func (f *reportFlags) register(fs *flag.FlagSet) {
	f.inputFlags.register(fs)
	fs.StringVar(&f.format, "format", "table", "output format: table, markdown, json or html")
}

// parse parses args; a command without inputs is a usage error saying
// noInput. It returns the output format and the reader options.
func (f *reportFlags) parse(e *env, fs *flag.FlagSet, args []string, noInput string) (report.Format, trace.Options, error) {
	if err := parseFlags(fs, args); err != nil {
		return "", trace.Options{}, err
	}
	if fs.NArg() == 0 {
		return "", trace.Options{}, job.Usagef("%s", noInput)
	}
	format, err := report.ParseFormat(f.format)
	if err != nil {
		return "", trace.Options{}, &job.UsageError{Msg: err.Error()}
	}
	opts, err := f.options(e)
	return format, opts, err
}

// options turns the flags into reader options; malformed lines are warned
// about on stderr as file:line: reason.
func (f *inputFlags) options(e *env) (trace.Options, error) {
	format, err := trace.ParseFormat(f.format)
	if err != nil {
		return trace.Options{}, &job.UsageError{Msg: err.Error()}
	}
	opts := trace.Options{Format: format, Strict: f.strict}
	if f.arch != "" {
		a, err := trace.ParseArch(f.arch)
		if err != nil {
			return trace.Options{}, &job.UsageError{Msg: err.Error()}
		}
		opts.Arch = a
	}
	opts.Warn = e.warn
	return opts, nil
}

// eachTrace opens every trace named on the command line (an -ff set of
// NAME.PID files counts as one) and calls fn with its reader.
func eachTrace(paths []string, opts trace.Options, fn func(name string, r trace.Reader) error) error {
	for _, group := range trace.GroupInputs(paths) {
		r, err := trace.OpenSet(group, opts)
		if err != nil {
			return err
		}
		name := group[0]
		if len(group) > 1 {
			name = fmt.Sprintf("%s (%d -ff files)", strings.TrimSuffix(group[0], filepath.Ext(group[0])), len(group))
		}
		err = fn(name, r)
		if cerr := r.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readyFlags say when an app is ready for its workload (trace, check,
// probe).
type readyFlags struct {
	spec           string
	delay, timeout time.Duration
}

func (r *readyFlags) register(fs *flag.FlagSet, timeout time.Duration) {
	fs.StringVar(&r.spec, "ready", "", "the app is ready when tcp:PORT (or tcp:HOST:PORT) accepts connections (the app's own socket), unix:PATH does, an http:// URL answers 2xx, or log:REGEX matches a line of its output")
	fs.DurationVar(&r.delay, "ready-delay", 0, "the app is ready after this delay")
	fs.DurationVar(&r.timeout, "ready-timeout", timeout, "give up when the app is not ready after this")
}

// ready checks --ready and returns the readiness rule.
func (r *readyFlags) ready() (workload.Ready, error) {
	if r.delay < 0 {
		return workload.Ready{}, job.Usagef("--ready-delay %v: want 0 or more", r.delay)
	}
	if r.timeout <= 0 {
		return workload.Ready{}, job.Usagef("--ready-timeout %v: want a positive duration", r.timeout)
	}
	if r.spec != "" {
		if err := workload.Check(strings.ReplaceAll(r.spec, "{port}", "1")); err != nil {
			return workload.Ready{}, &job.UsageError{Msg: err.Error()}
		}
	}
	return workload.Ready{Spec: r.spec, Delay: r.delay, Timeout: r.timeout}, nil
}

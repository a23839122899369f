package main

import (
	"fmt"
	"strings"

	flag "github.com/spf13/pflag"

	"github.com/syscov/syscov/trace"
)

// inputFlags are the flags every command that reads traces takes.
type inputFlags struct {
	format string
	strict bool
	arch   string
}

func (f *inputFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.format, "input-format", "auto", "input format: auto, strace or syscov (JSON Lines)")
	fs.BoolVar(&f.strict, "strict", false, "fail (exit 1) on the first malformed input line instead of skipping it")
	fs.StringVar(&f.arch, "arch", "", "syscall ABI of strace inputs: x86_64 or aarch64 (default: the host's)")
}

// options turns the flags into reader options; malformed lines are warned
// about on stderr as file:line: reason.
func (f *inputFlags) options(e *env) (trace.Options, error) {
	format, err := trace.ParseFormat(f.format)
	if err != nil {
		return trace.Options{}, &usageError{err.Error()}
	}
	opts := trace.Options{Format: format, Strict: f.strict}
	if f.arch != "" {
		a, err := trace.ParseArch(f.arch)
		if err != nil {
			return trace.Options{}, &usageError{err.Error()}
		}
		opts.Arch = a
	}
	opts.Warn = func(se *trace.SyntaxError) {
		fmt.Fprintf(e.stderr, "syscov: warning: %v\n", se)
	}
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
			name = fmt.Sprintf("%s (%d -ff files)", strings.TrimSuffix(group[0], "."+lastDotPart(group[0])), len(group))
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

func lastDotPart(s string) string {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[i+1:]
	}
	return ""
}

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/syscov/syscov/job"
	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/native"
)

func runTrace(e *env, args []string) error {
	fs := newFlagSet(e, "trace", "trace [FLAGS] -- CMD [ARGS]\n       syscov trace --unikernel IMAGE [FLAGS] -- [APP ARGS]")
	fs.SetInterspersed(false)
	var bf backendFlags
	bf.register(fs)
	stacks := fs.Bool("stacks", false, "record the user-space call stack of every syscall")
	out := fs.StringP("output", "o", "", "trace file to write (JSON Lines); '-' for stdout (default: NAME.trace after the command)")
	workloadCmd := fs.String("workload", "", "shell command to run against the app once it is ready; the app is stopped after it")
	var rdy readyFlags
	rdy.register(fs, 30*time.Second)
	stopSignal := fs.String("stop-signal", "SIGTERM", "signal that stops the app after the workload")
	stopGrace := fs.Duration("stop-grace", 5*time.Second, "SIGKILL the app this long after the stop signal")
	timeout := fs.Duration("timeout", 0, "end the whole run after this long (exit 124)")
	filter := fs.String("filter", "", "trace only these syscalls: NAME,NAME,%class (ptrace: a seccomp-bpf filter, others never stop the app; eBPF: the others are left out in the kernel)")
	dir := fs.String("dir", "", "working directory of the app and the workload")
	var uf job.UnikernelOptions
	registerUnikernel(fs, &uf, "run the app inside this Unikraft image on qemu-system-x86_64 instead of natively")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	argv := fs.Args()
	if *dir != "" {
		if fi, err := os.Stat(*dir); err != nil || !fi.IsDir() {
			return job.Usagef("--dir %s: no such directory", *dir)
		}
	}
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	ready, err := rdy.ready()
	if err != nil {
		return err
	}
	if *out == "" && uf.Image == "" && len(argv) > 0 {
		*out = baseName(argv[0]) + ".trace"
	}
	// One writer per trace file: a second syscov on the same -o fails at
	// once (FILE.syscov.lock beside it).
	// (RunUnikernelTrace takes its own, once it has named the trace.)
	if uf.Image == "" && *out != "" {
		unlock, err := job.LockOutput(*out)
		if err != nil {
			return err
		}
		defer unlock()
	}
	if uf.Image != "" {
		if fs.Changed("backend") || fs.Changed("ring-buffer") || *stacks || *filter != "" {
			return job.Usagef("--backend, --ring-buffer, --stacks and --filter are for native runs, not --unikernel")
		}
		return job.RunUnikernelTrace(e.output(), ctx, uf, argv, *out, ready, *workloadCmd, *dir, *timeout)
	}
	if len(argv) == 0 {
		return job.Usagef("no command: syscov trace [FLAGS] -- CMD [ARGS]")
	}
	cfg := native.Config{
		Argv: argv, Dir: *dir, Stacks: *stacks,
		Ready: ready.Spec, ReadyDelay: ready.Delay, ReadyTimeout: ready.Timeout,
		Workload: *workloadCmd, StopGrace: *stopGrace,
	}
	if err := bf.apply(&cfg); err != nil {
		return err
	}
	sig, err := parseSignal(*stopSignal)
	if err != nil {
		return &job.UsageError{Msg: err.Error()}
	}
	cfg.StopSignal = sig
	if *filter != "" {
		names, err := trace.ExpandSyscallSet(*filter, trace.HostArch())
		if err != nil {
			return &job.UsageError{Msg: "--filter: " + err.Error()}
		}
		cfg.Trace = names
	}
	path := *out

	// The app's output goes to syscov's stderr, so that a trace written to
	// stdout stays clean.
	cfg.Stdout, cfg.Stderr = os.Stderr, os.Stderr

	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	res, err := job.RecordNative(ctx, cfg, path, e.stdout, nil)
	if err != nil {
		return err
	}
	if path != "-" {
		fmt.Fprintf(e.stderr, "syscov: wrote %d events to %s\n", res.Events, path)
	}
	switch {
	case res.Canceled && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &job.ExitError{Code: job.ExitTimeout, Err: fmt.Errorf("timed out after %v; the traced processes were killed", *timeout)}
	case res.Canceled:
		return &job.ExitError{Code: job.ExitInterrupt, Err: errors.New("interrupted; the traced processes were killed")}
	case res.WorkloadErr != nil:
		return res.WorkloadErr
	case cfg.Workload != "":
		return nil // syscov stopped the app: its status is in the trace
	case res.Signal != "":
		return &job.ExitError{Code: res.ExitCode, Err: fmt.Errorf("the app was killed by %s", res.Signal)}
	case res.ExitCode != 0:
		return &job.ExitError{Code: res.ExitCode, Err: nil}
	}
	return nil
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	if p == "" {
		return "syscov"
	}
	return p
}

func parseSignal(s string) (syscall.Signal, error) {
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if n := trace.SignalNumber(name); n > 0 {
		return syscall.Signal(n), nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

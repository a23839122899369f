package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/native"
)

// Exit codes of `syscov trace` besides 0/1/2: the app's own exit status
// (128+N when signal N killed it) when it runs to its end; these when
// syscov ended the run.
const (
	exitTimeout   = 124 // --timeout passed
	exitInterrupt = 130 // Ctrl-C (SIGINT) or SIGTERM to syscov
)

func runTrace(e *env, args []string) error {
	fs := newFlagSet(e, "trace", "trace [FLAGS] -- CMD [ARGS]\n       syscov trace --unikernel IMAGE [FLAGS] -- [APP ARGS]")
	fs.SetInterspersed(false)
	backend := fs.String("backend", "ptrace", "tracer: ptrace (built in) or strace (the real strace binary)")
	stacks := fs.Bool("stacks", false, "record the user-space call stack of every syscall")
	out := fs.StringP("output", "o", "", "trace file to write (JSON Lines); '-' for stdout (default: NAME.trace after the command)")
	workloadCmd := fs.String("workload", "", "shell command to run against the app once it is ready; the app is stopped after it")
	var rdy readyFlags
	rdy.register(fs, 30*time.Second)
	stopSignal := fs.String("stop-signal", "SIGTERM", "signal that stops the app after the workload")
	stopGrace := fs.Duration("stop-grace", 5*time.Second, "SIGKILL the app this long after the stop signal")
	timeout := fs.Duration("timeout", 0, "end the whole run after this long (exit 124)")
	filter := fs.String("filter", "", "trace only these syscalls: NAME,NAME,%class (a seccomp-bpf filter; others never stop the app)")
	dir := fs.String("dir", "", "working directory of the app and the workload")
	var uf unikernelFlags
	uf.register(fs, "run the app inside this Unikraft image on qemu-system-x86_64 instead of natively")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	argv := fs.Args()
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	ready, err := rdy.ready()
	if err != nil {
		return err
	}
	if uf.image != "" {
		if *backend != "ptrace" || *stacks || *filter != "" {
			return usagef("--backend, --stacks and --filter are for native runs, not --unikernel")
		}
		return runUnikernelTrace(e, ctx, uf, argv, *out, ready, *workloadCmd, *dir, *timeout)
	}
	if len(argv) == 0 {
		return usagef("no command: syscov trace [FLAGS] -- CMD [ARGS]")
	}
	cfg := native.Config{
		Backend: native.Backend(*backend), Argv: argv, Dir: *dir, Stacks: *stacks,
		Ready: ready.Spec, ReadyDelay: ready.Delay, ReadyTimeout: ready.Timeout,
		Workload: *workloadCmd, StopGrace: *stopGrace,
	}
	if cfg.Backend != native.BackendPtrace && cfg.Backend != native.BackendStrace {
		return usagef("--backend %q: want ptrace or strace", *backend)
	}
	sig, err := parseSignal(*stopSignal)
	if err != nil {
		return &usageError{err.Error()}
	}
	cfg.StopSignal = sig
	if *filter != "" {
		names, err := trace.ExpandSyscallSet(*filter, trace.HostArch())
		if err != nil {
			return &usageError{"--filter: " + err.Error()}
		}
		cfg.Trace = names
	}
	path := *out
	if path == "" {
		path = baseName(argv[0]) + ".trace"
	}

	// The app's output goes to syscov's stderr, so that a trace written to
	// stdout stays clean.
	cfg.Stdout, cfg.Stderr = os.Stderr, os.Stderr

	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	res, err := recordNative(ctx, cfg, path, e.stdout, nil)
	if err != nil {
		return err
	}
	if path != "-" {
		fmt.Fprintf(e.stderr, "syscov: wrote %d events to %s\n", res.Events, path)
	}
	switch {
	case res.Canceled && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &exitError{exitTimeout, fmt.Errorf("timed out after %v; the traced processes were killed", *timeout)}
	case res.Canceled:
		return &exitError{exitInterrupt, errors.New("interrupted; the traced processes were killed")}
	case res.WorkloadErr != nil:
		return res.WorkloadErr
	case cfg.Workload != "":
		return nil // syscov stopped the app: its status is in the trace
	case res.Signal != "":
		return &exitError{res.ExitCode, fmt.Errorf("the app was killed by %s", res.Signal)}
	case res.ExitCode != 0:
		return &exitError{res.ExitCode, nil}
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

// recordNative runs cfg and writes its trace to path ("-": stdout),
// flushed at least every 100 ms so that a crash loses little: the file is
// readable up to its last complete line.
//
// also, when set, sees every event too.
func recordNative(ctx context.Context, cfg native.Config, path string, stdout io.Writer, also func(*trace.Event)) (*native.Result, error) {
	var w io.Writer = stdout
	if path != "-" {
		file, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		w = file
	}
	tw, err := trace.NewWriter(w, native.Header(cfg, "syscov "+version))
	if err != nil {
		return nil, err
	}
	tw.FlushEvery(100 * time.Millisecond)
	pr := newProgress(os.Stderr, "trace of "+cfg.Argv[0])
	// A trace that cannot be written (a full disk, a reader gone from
	// -o -) ends the run: the app is stopped, not traced into nothing.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	cfg.OnEvent = func(ev *trace.Event) {
		if tw.Write(ev) != nil {
			stop()
		}
		if also != nil {
			also(ev)
		}
		pr.tick(0)
	}
	res, err := native.Run(ctx, cfg)
	pr.done()
	writeErr := tw.Close()
	if writeErr != nil {
		where := path
		if path == "-" {
			where = "stdout"
		}
		return nil, fmt.Errorf("writing the trace to %s: %w (the app was stopped)", where, writeErr)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

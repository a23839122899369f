package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/syscov/syscov/job"
	"github.com/syscov/syscov/report"
)

// runProbe finds which syscalls an app needs for real: it runs the app
// once to learn the syscalls it uses (or takes a given set), then, for
// each, again with it failing with ENOSYS and again with it faked to
// return 0, judging each run by the workload, the check and the app not
// crashing.
func runProbe(e *env, args []string) error {
	fs := newFlagSet(e, "probe", "probe [--syscalls NAME,…|--missing-against unikraft[@V]] [--ready tcp:PORT] [--workload CMD] [--check CMD] [--replicas N] [--jobs N] [--timeout D] [--out DIR] -- CMD ARGS")
	fs.SetInterspersed(false)
	names := fs.String("syscalls", "", "probe these syscalls (NAME,NAME,%class) instead of all the app uses")
	missingAgainst := fs.String("missing-against", "", "probe only the used syscalls this support table lacks (unikraft, unikraft@V, a file)")
	var rdy readyFlags // {port} in --ready, --workload, --check and CMD: a free port per run
	rdy.register(fs, 30*time.Second)
	workloadCmd := fs.String("workload", "", "shell command run against the app; a run fails when it fails")
	check := fs.String("check", "", "shell command run after the workload, while the app is up; a run fails when it fails")
	replicas := fs.Int("replicas", 1, "runs per syscall and variant; replicas that disagree are flagged and retried")
	jobs := fs.Int("jobs", runtime.NumCPU(), "runs in parallel")
	timeout := fs.Duration("timeout", 60*time.Second, "a run that takes longer fails")
	outDir := fs.String("out", "", "also write probe.{txt,md,json} into this directory, and each run's output and reason under runs/")
	partial := fs.Bool("partial", false, "also probe each use of a syscall the table judges by its arguments (socket AF_INET apart from AF_UNIX, a fork-like clone apart from a thread's) alone")
	format := fs.String("format", "table", "output format: table, markdown, json or html")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return job.Usagef("no command: syscov probe [FLAGS] -- CMD [ARGS]")
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		return &job.UsageError{Msg: err.Error()}
	}
	if *replicas < 1 || *jobs < 1 {
		return job.Usagef("--replicas and --jobs must be at least 1")
	}
	ready, err := rdy.ready()
	if err != nil {
		return err
	}
	p := &job.Probe{Partial: *partial, Argv: argv, Syscalls: *names, MissingAgainst: *missingAgainst, Ready: ready, Workload: *workloadCmd,
		Check: *check, Replicas: *replicas, Jobs: *jobs, Timeout: *timeout, Out: *outDir}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := p.Run(ctx, e.output())
	if rep != nil {
		// An interrupted probe still prints the runs it finished.
		if rerr := report.Render(e.stdout, f, report.ProbeDoc{Report: rep}); err == nil {
			err = rerr
		}
	}
	return err
}

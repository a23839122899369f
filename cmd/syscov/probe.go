package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/report"
	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/probe"
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
	outDir := fs.String("out", "", "also write probe.{txt,md,json} into this directory")
	format := fs.String("format", "table", "output format: table, markdown, json or html")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return usagef("no command: syscov probe [FLAGS] -- CMD [ARGS]")
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		return &usageError{err.Error()}
	}
	if *replicas < 1 || *jobs < 1 {
		return usagef("--replicas and --jobs must be at least 1")
	}
	ready, err := rdy.ready()
	if err != nil {
		return err
	}
	cfg := probe.Config{Argv: argv, Ready: ready.Spec, ReadyDelay: ready.Delay, ReadyTimeout: ready.Timeout,
		Workload: *workloadCmd, Check: *check, Timeout: *timeout}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()

	// 1. Which syscalls: traced once, unmodified (the run must succeed).
	used, base, err := probe.Used(ctx, cfg)
	if ctx.Err() != nil {
		return &exitError{exitInterrupt, errors.New("interrupted during the unmodified run; the app was stopped")}
	}
	if err != nil {
		return fmt.Errorf("the unmodified run: %w", err)
	}
	if !base.OK {
		return fmt.Errorf("the app does not work even unmodified: %s", base.Reason)
	}
	set := probe.Sorted(used)
	if *names != "" {
		set, err = trace.ExpandSyscallSet(*names, trace.HostArch())
		if err != nil {
			return &usageError{"--syscalls: " + err.Error()}
		}
	}
	if *missingAgainst != "" {
		table, err := loadSupportTable(*missingAgainst)
		if err != nil {
			return err
		}
		var missing []string
		for _, n := range set {
			if table.Lookup(trace.HostArch(), n).Level != analyze.Implemented {
				missing = append(missing, n)
			}
		}
		set = missing
	}
	rep := &analyze.ProbeReport{App: filepath.Base(argv[0]), Command: argv, Workload: *workloadCmd, Check: *check, Replicas: *replicas, Jobs: *jobs}
	results := map[string]*analyze.ProbeResult{}
	var tasks []probe.Task
	for _, n := range set {
		if probe.Unprobeable[n] {
			rep.Skipped = append(rep.Skipped, n)
			continue
		}
		results[n] = &analyze.ProbeResult{Name: n, Calls: used[n]}
		stub, fake := probe.StubFake(n)
		for r := 0; r < *replicas; r++ {
			tasks = append(tasks, probe.Task{Name: n, Kind: "stub", Replica: r, Variant: stub}, probe.Task{Name: n, Kind: "fake", Replica: r, Variant: fake})
		}
	}
	pr := newProgress(e.stderr, "probe runs")
	record := func(t probe.Task, o probe.Outcome) {
		rep.Runs++
		pr.events = rep.Runs - 1
		results[t.Name].Record(t.Kind, o.OK, o.Reason)
		if pr.on {
			fmt.Fprintf(e.stderr, "\rprobe: %d/%d runs", rep.Runs, len(tasks))
		}
	}
	probe.RunAll(ctx, cfg, tasks, *jobs, record)
	// 2. Replicas that disagree: run again, and take the majority.
	var retry []probe.Task
	for _, r := range results {
		if r.Disagree() {
			stub, fake := probe.StubFake(r.Name)
			for i := 0; i < *replicas+1; i++ {
				retry = append(retry, probe.Task{Name: r.Name, Kind: "stub", Variant: stub}, probe.Task{Name: r.Name, Kind: "fake", Variant: fake})
			}
		}
	}
	probe.RunAll(ctx, cfg, retry, *jobs, record)
	pr.done()
	if ctx.Err() != nil {
		return &exitError{exitInterrupt, fmt.Errorf("interrupted")}
	}
	for _, r := range results {
		r.Decide()
		rep.Results = append(rep.Results, *r)
	}
	rep.SortResults()

	// 3. The combinations: every stub-able syscall stubbed together, every
	// fake-able one faked together.
	var stubAll, fakeAll []string
	for _, r := range rep.Results {
		if r.Verdict == analyze.WorksStubbed || r.Verdict == analyze.WorksBoth {
			stubAll = append(stubAll, r.Name)
		}
		if r.Verdict == analyze.WorksFaked || r.Verdict == analyze.WorksBoth {
			fakeAll = append(fakeAll, r.Name)
		}
	}
	if len(stubAll) > 0 {
		v := probe.Variant{Fail: map[string]int{}}
		for _, n := range stubAll {
			v.Fail[n] = int(syscall.ENOSYS)
		}
		o := probe.Run(ctx, cfg, v)
		rep.Runs++
		rep.Combos = append(rep.Combos, analyze.Combo{Kind: "stub", Names: stubAll, OK: o.OK, Reason: o.Reason})
	}
	if len(fakeAll) > 0 {
		v := probe.Variant{Fake: map[string]int64{}}
		for _, n := range fakeAll {
			v.Fake[n] = 0
		}
		o := probe.Run(ctx, cfg, v)
		rep.Runs++
		rep.Combos = append(rep.Combos, analyze.Combo{Kind: "fake", Names: fakeAll, OK: o.OK, Reason: o.Reason})
	}
	rep.Elapsed = time.Since(start)

	if *outDir != "" {
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			return err
		}
		for ext, rf := range map[string]report.Format{"txt": report.FormatTable, "md": report.FormatMarkdown, "json": report.FormatJSON} {
			var b bytes.Buffer
			if err := report.Probe(&b, rf, rep); err != nil {
				return err
			}
			if err := writeFile(filepath.Join(*outDir, "probe."+ext), b.Bytes()); err != nil {
				return err
			}
		}
	}
	return report.Probe(e.stdout, f, rep)
}

// loadProbe reads probe.json for coverage and check: the app it probed
// and its verdicts.
func loadProbe(path string) (string, map[string]analyze.ProbeVerdict, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	var rep analyze.ProbeReport
	if err := jsonUnmarshal(data, &rep); err != nil || !strings.HasPrefix(rep.Schema, "syscov.probe/") {
		return "", nil, fmt.Errorf("%s: not a syscov probe report (syscov probe --format json)", path)
	}
	app := rep.App
	if len(rep.Command) > 0 {
		app = filepath.Base(rep.Command[0])
	}
	return app, rep.Verdicts(), nil
}

// loadJudgement loads what uses are judged against: a support table and
// the probe verdicts of the probed apps, by app.
func loadJudgement(against string, probeFiles []string) (*analyze.SupportTable, map[string]map[string]analyze.ProbeVerdict, error) {
	table, err := loadSupportTable(against)
	if err != nil || len(probeFiles) == 0 {
		return table, nil, err
	}
	probes := map[string]map[string]analyze.ProbeVerdict{}
	for _, f := range probeFiles {
		app, verdicts, err := loadProbe(f)
		if err != nil {
			return nil, nil, err
		}
		probes[app] = verdicts
	}
	return table, probes, nil
}

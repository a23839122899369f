package job

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/report"
	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/probe"
	"github.com/syscov/syscov/trace/workload"
)

// Probe finds which syscalls an app needs for real: it runs the app once
// to learn the syscalls it uses (or takes a given set), then, for each,
// again with it failing with ENOSYS and again with it faked to return 0,
// judging each run by the workload, the check and the app not crashing.
type Probe struct {
	Argv []string
	// Syscalls, when set, are the syscalls to probe (NAME,NAME,%class)
	// instead of all the app uses; MissingAgainst keeps only those the
	// support table it names lacks.
	Syscalls, MissingAgainst string
	Ready                    workload.Ready
	Workload, Check          string
	Replicas, Jobs           int
	Timeout                  time.Duration // a run that takes longer fails
	// Partial also probes each use of a syscall the table judges by its
	// arguments (socket AF_INET apart from socket AF_UNIX, a fork-like
	// clone apart from a thread's), stubbed and faked alone; the table is
	// MissingAgainst's, else the newest built in.
	Partial bool
	// Out, when set, is where probe.{txt,md,json} are written too.
	Out string
}

// Run runs every probe and returns the report.
func (p *Probe) Run(ctx context.Context, o Output) (*analyze.ProbeReport, error) {
	cfg := probe.Config{Argv: p.Argv, Ready: p.Ready.Spec, ReadyDelay: p.Ready.Delay, ReadyTimeout: p.Ready.Timeout,
		Workload: p.Workload, Check: p.Check, Timeout: p.Timeout}
	if p.Out != "" {
		// Every run's output and reason are kept: the evidence of each
		// verdict.
		cfg.LogDir = filepath.Join(p.Out, "runs")
		if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	// One writer per --out, from before the first run.
	if p.Out != "" {
		unlock, err := LockDir(p.Out)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	var uses *useSet
	if p.Partial {
		spec := p.MissingAgainst
		if spec == "" {
			spec = "unikraft"
		}
		table, err := LoadSupportTable(spec)
		if err != nil {
			return nil, err
		}
		judge, err := analyze.NewJudge(table, nil)
		if err != nil {
			return nil, err
		}
		uses = &useSet{judge: judge, arch: trace.HostArch(), calls: map[string]int{}, name: map[string]string{}}
		cfg.OnEvent = uses.add
	}

	// 1. Which syscalls: traced once, unmodified (the run must succeed).
	used, base, err := probe.Used(ctx, cfg)
	if ctx.Err() != nil {
		return nil, &ExitError{Code: ExitInterrupt, Err: errors.New("interrupted during the unmodified run; the app was stopped")}
	}
	if err != nil {
		return nil, fmt.Errorf("the unmodified run: %w", err)
	}
	if !base.OK {
		return nil, fmt.Errorf("the app does not work even unmodified: %s", base.Reason)
	}
	set := probe.Sorted(used)
	if p.Syscalls != "" {
		set, err = trace.ExpandSyscallSet(p.Syscalls, trace.HostArch())
		if err != nil {
			return nil, &UsageError{Msg: "--syscalls: " + err.Error()}
		}
	}
	if p.MissingAgainst != "" {
		table, err := LoadSupportTable(p.MissingAgainst)
		if err != nil {
			return nil, err
		}
		// The judge decides, as everywhere: a syscall some of whose uses
		// are rejected by argument is probed too.
		judge, err := analyze.NewJudge(table, nil)
		if err != nil {
			return nil, err
		}
		var missing []string
		for _, n := range set {
			if judge.Unsupported(trace.HostArch(), n, false) {
				missing = append(missing, n)
			}
		}
		set = missing
	}
	rep := &analyze.ProbeReport{App: filepath.Base(p.Argv[0]), Command: p.Argv, Workload: p.Workload, Check: p.Check, Replicas: p.Replicas, Jobs: p.Jobs}
	results := map[string]*analyze.ProbeResult{}
	var tasks []probe.Task
	for _, n := range set {
		if probe.Unprobeable[n] {
			rep.Skipped = append(rep.Skipped, n)
			continue
		}
		results[n] = &analyze.ProbeResult{Name: n, Calls: used[n]}
		stub, fake := probe.StubFake(n)
		for r := 0; r < p.Replicas; r++ {
			tasks = append(tasks, probe.Task{Name: n, Kind: "stub", Replica: r, Variant: labelled(stub, n, "stub", r)}, probe.Task{Name: n, Kind: "fake", Replica: r, Variant: labelled(fake, n, "fake", r)})
		}
	}
	if uses != nil {
		for _, key := range uses.keys() {
			results[key] = &analyze.ProbeResult{Name: key, Calls: uses.calls[key]}
			stub, fake := uses.variants(key)
			for r := 0; r < p.Replicas; r++ {
				tasks = append(tasks, probe.Task{Name: key, Kind: "stub", Replica: r, Variant: labelled(stub, key, "stub", r)}, probe.Task{Name: key, Kind: "fake", Replica: r, Variant: labelled(fake, key, "fake", r)})
			}
		}
	}
	pr := NewProgress(o.Stderr, "probe runs")
	var lastWrite time.Time
	record := func(t probe.Task, out probe.Outcome) {
		if ctx.Err() != nil {
			return // a run cut short by the interrupt proves nothing
		}
		rep.Runs++
		results[t.Name].Record(t.Kind, out.OK, out.Reason)
		pr.Line("probe: %d/%d runs", rep.Runs, len(tasks))
		// Written as it goes (at most once a second): a finished run
		// is a result kept, whatever happens to syscov later.
		if p.Out != "" && time.Since(lastWrite) >= time.Second {
			lastWrite = time.Now()
			snap := partialProbe(rep, results, fmt.Sprintf("still running: %d of %d runs done", rep.Runs, len(tasks)), start)
			if err := p.write(snap); err != nil {
				fmt.Fprintf(o.Stderr, "syscov: %v\n", err)
			}
		}
	}
	probe.RunAll(ctx, cfg, tasks, p.Jobs, record)
	// 2. Replicas that disagree: run again, and take the majority.
	var retry []probe.Task
	for _, r := range results {
		if r.Disagree() {
			stub, fake := probe.StubFake(r.Name)
			if uses != nil && uses.name[r.Name] != "" {
				stub, fake = uses.variants(r.Name)
			}
			for i := 0; i < p.Replicas+1; i++ {
				retry = append(retry, probe.Task{Name: r.Name, Kind: "stub", Variant: stub}, probe.Task{Name: r.Name, Kind: "fake", Variant: fake})
			}
		}
	}
	probe.RunAll(ctx, cfg, retry, p.Jobs, record)
	pr.Done()
	if ctx.Err() != nil {
		// What finished is kept: the report of the runs done, marked
		// partial, written and returned with the interrupt's code.
		snap := partialProbe(rep, results, fmt.Sprintf("interrupted after %d of %d runs", rep.Runs, len(tasks)+len(retry)), start)
		if p.Out != "" {
			if err := p.write(snap); err != nil {
				return snap, err
			}
		}
		return snap, &ExitError{Code: ExitInterrupt, Err: fmt.Errorf("interrupted after %d of %d runs; the report holds the syscalls whose runs were done", rep.Runs, len(tasks)+len(retry))}
	}
	for _, r := range results {
		r.Decide()
		rep.Results = append(rep.Results, *r)
	}
	rep.SortResults()

	p.combinations(ctx, cfg, rep)
	rep.Elapsed = time.Since(start)
	if ctx.Err() != nil {
		rep.Partial = "interrupted during the combined runs (every syscall's own runs are done)"
	}
	if p.Out != "" {
		if err := p.write(rep); err != nil {
			return nil, err
		}
	}
	if rep.Partial != "" {
		return rep, &ExitError{Code: ExitInterrupt, Err: errors.New(rep.Partial)}
	}
	return rep, nil
}

// write writes probe.{txt,md,json} into p.Out.
func (p *Probe) write(rep *analyze.ProbeReport) error {
	if err := os.MkdirAll(p.Out, 0o755); err != nil {
		return err
	}
	for ext, rf := range map[string]report.Format{"txt": report.FormatTable, "md": report.FormatMarkdown, "json": report.FormatJSON} {
		var b bytes.Buffer
		if err := report.Render(&b, rf, report.ProbeDoc{Report: rep}); err != nil {
			return err
		}
		if err := WriteReport(filepath.Join(p.Out, "probe."+ext), b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// partialProbe is the report of the runs done so far: the syscalls whose
// stubbed and faked runs are both done, decided; the others named.
func partialProbe(rep *analyze.ProbeReport, results map[string]*analyze.ProbeResult, why string, start time.Time) *analyze.ProbeReport {
	snap := *rep
	snap.Results, snap.Unfinished, snap.Combos = nil, nil, nil
	snap.Partial, snap.Elapsed = why, time.Since(start)
	for _, r := range results {
		if r.StubRuns == 0 || r.FakeRuns == 0 {
			snap.Unfinished = append(snap.Unfinished, r.Name)
			continue
		}
		c := *r
		c.Decide()
		snap.Results = append(snap.Results, c)
	}
	sort.Strings(snap.Unfinished)
	snap.SortResults()
	return &snap
}

// combinations runs every stub-able syscall stubbed together, and every
// fake-able one faked together: what holds one by one may not hold all
// at once.
func (p *Probe) combinations(ctx context.Context, cfg probe.Config, rep *analyze.ProbeReport) {
	var stubAll, fakeAll []string
	for _, r := range rep.Results {
		if strings.Contains(r.Name, " ") {
			continue // a use of --partial ("socket AF_UNIX"): its syscall's verdict stands for it here
		}
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
		out := probe.Run(ctx, cfg, v)
		rep.Runs++
		rep.Combos = append(rep.Combos, analyze.Combo{Kind: "stub", Names: stubAll, OK: out.OK, Reason: out.Reason})
	}
	if len(fakeAll) > 0 {
		v := probe.Variant{Fake: map[string]int64{}}
		for _, n := range fakeAll {
			v.Fake[n] = 0
		}
		out := probe.Run(ctx, cfg, v)
		rep.Runs++
		rep.Combos = append(rep.Combos, analyze.Combo{Kind: "fake", Names: fakeAll, OK: out.OK, Reason: out.Reason})
	}
}

// labelled names a run (its log under --out/runs).
func labelled(v probe.Variant, name, kind string, replica int) probe.Variant {
	v.Label = fmt.Sprintf("%s-%s-%d", name, kind, replica+1)
	return v
}

// useSet collects the uses a probe's unmodified run makes of the syscalls
// the table judges by argument: the keys the judge counts them under.
type useSet struct {
	judge *analyze.Judge
	arch  trace.Arch
	calls map[string]int    // use key → calls
	name  map[string]string // use key → syscall
}

func (u *useSet) add(ev *trace.Event) {
	s := u.judge.Table.Lookup(u.arch, ev.Name)
	forkable := ev.Name == "clone" || ev.Name == "clone3"
	if len(s.Rules) == 0 && !forkable {
		return
	}
	key, _, _ := u.judge.Support(u.arch, ev)
	if key == ev.Name {
		return // a use no rule tells apart: probed with the syscall
	}
	u.calls[key]++
	u.name[key] = ev.Name
}

func (u *useSet) keys() []string { return probe.Sorted(u.calls) }

// variants are the stub (-ENOSYS) and the fake (0) of one use alone: the
// judge picks its calls at their entry.
func (u *useSet) variants(key string) (stub, fake probe.Variant) {
	name := u.name[key]
	is := func(ev *trace.Event) bool {
		k, _, _ := u.judge.Support(u.arch, ev)
		return k == key
	}
	stub = probe.Variant{AnswerSyscalls: []string{name}, Answer: func(ev *trace.Event) (int64, bool) { return -int64(syscall.ENOSYS), is(ev) }}
	fake = probe.Variant{AnswerSyscalls: []string{name}, Answer: func(ev *trace.Event) (int64, bool) { return 0, is(ev) }}
	return stub, fake
}

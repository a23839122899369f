package job

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/report"
	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/native"
	"github.com/syscov/syscov/trace/unikernel"
	"github.com/syscov/syscov/trace/workload"
)

// Check is the main job: trace the app natively (with stacks), optionally
// run it in a Unikraft image with the same workload, diff the two runs,
// compute coverage, write every report into Out and print a short verdict.
type Check struct {
	Argv []string
	// AppArgs are the app's arguments in the unikernel, when they differ
	// from Argv.
	AppArgs  []string
	Out      string // directory for the traces and reports
	Workload string // shell command run against the app once it is ready
	Ready    workload.Ready
	Timeout  time.Duration // each run ends after this long (0: never)
	Stacks   bool
	Backend  native.Backend
	// RingBuffer is the eBPF backend's ring buffer size (0: the default).
	RingBuffer int
	// Judgement is what the runs are judged by.
	Judgement Judgement
	// Unikernel is the unikernel run; none when Unikernel.Image is "".
	Unikernel UnikernelOptions
	// Verification verifies each lacking use by a native run with the
	// use answered as the target answers it (on unless Off).
	Verification Verification
	// Rerun is the command line that runs this check again, for the
	// reports.
	Rerun string
	// AppOutput is where the app's own stdout and stderr go (nil:
	// syscov's stderr); the catalog gives each app its log.
	AppOutput *os.File
	// Native is the native run's result once Run has made it (how the
	// app ended: the catalog tells an app that died from an answer).
	Native *native.Result

	verifyNote string // why some impacts stayed predictions
	// nativeWorkload is what the workload wrote alike in two unmodified
	// native runs: what it must write against the guest too.
	nativeWorkload *analyze.StableOutput

	// notes are what the runs did not prove, for every report.
	notes report.RunNotes
}

// Run runs the check. Its error says what the exit status is: an
// *ExitError with ExitLacks when the app needs what the unikernel lacks,
// ExitBootFailure when the unikernel run proves nothing, ExitInterrupt;
// nil when nothing the app needs is lacking.
func (c *Check) Run(ctx context.Context, o Output) error {
	// The image and the unikernel's command line are checked before the
	// native run: a bad image must not cost a native run first.
	j := c.Judgement
	plan, err := planFor(o, c.Unikernel, c.Argv, c.AppArgs)
	if err != nil {
		return err
	}
	if plan != nil {
		j.Image, j.ImageLibs = filepath.Base(c.Unikernel.Image), LibSet(plan.Image.Libraries)
		if j, err = j.ForImage(plan.Image.Version); err != nil {
			return err
		}
	}
	warnCPUFeatures(ctx, o, c.Unikernel, plan) // before any unikernel run
	unlock, err := prepareOut(c.Out)
	if err != nil {
		return err
	}
	defer unlock()
	// 1. The native run.
	nativePath := filepath.Join(c.Out, "native.trace")
	files, nativeStart, live, err := c.runNative(ctx, o, j, nativePath)
	if err != nil {
		if c.notes.Incomplete != "" {
			return c.writeIncomplete(o, j, nativePath, plan, err)
		}
		return err
	}
	// 1b. Each lacking use verified by a run with it answered as the
	// target answers it; the judge weighs those runs first.
	vo := c.verify(ctx, o, j.Judge(), live)
	if len(vo.results) > 0 {
		app := live.Program
		j.Verified = map[string]map[string]analyze.Verification{app: vo.results}
	}
	if vo.runs > 0 || vo.skipped != "" {
		msg := fmt.Sprintf("%d runs in %s", vo.runs, vo.elapsed.Round(10*time.Millisecond))
		if vo.skipped != "" {
			msg += "; " + vo.skipped
		}
		fmt.Fprintf(o.Stderr, "syscov: verification: %s\n", msg)
	}
	c.verifyNote, c.nativeWorkload = vo.skipped, vo.workload
	// 2. The unikernel run, with the same workload, and the diff.
	var d *analyze.Diff
	var apps []*analyze.AppCoverage
	var ukFailure error
	if plan != nil {
		if d, apps, ukFailure, err = c.runUnikernel(ctx, o, j, plan, nativePath, files, nativeStart); err != nil {
			return err
		}
	}
	// 3. Coverage, when no diff drew it from the same pass.
	if apps == nil {
		if apps, err = CoverageOf([]string{nativePath}, trace.Options{}, j); err != nil {
			return err
		}
	}
	if ukFailure != nil && c.notes.Incomplete == "" && unikernelIncomplete(ukFailure) {
		c.notes.Incomplete = ukFailure.Error()
	}
	var nothing error
	if apps[0].Calls == 0 && c.notes.Incomplete == "" {
		nothing = fmt.Errorf("%s: no syscall of the app to judge (every one recorded was set aside as start-up noise or a wrapper's): nothing is proved", nativePath)
		c.notes.Incomplete = nothing.Error()
	}
	// 4. Reports.
	if err := c.writeReports(d, apps, plan); err != nil {
		return err
	}
	if c.notes.Incomplete != "" {
		fmt.Fprintf(o.Stdout, "incomplete: %s\n", c.notes.Incomplete)
	}
	if nothing != nil {
		return nothing
	}
	// 5. The verdict.
	return c.verdict(o, j, d, apps[0], ukFailure)
}

// withTimeout bounds one run by c.Timeout.
func (c *Check) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.Timeout > 0 {
		return context.WithTimeout(ctx, c.Timeout)
	}
	return context.WithCancel(ctx)
}

// runNative records the native run into path (stacks for the calls the
// judge will not call supported), noting the files it uses.
func (c *Check) runNative(ctx context.Context, o Output, j Judgement, path string) (*analyze.FileUses, time.Time, *analyze.AppCoverage, error) {
	appOut := os.Stderr
	if c.AppOutput != nil {
		appOut = c.AppOutput
	}
	cfg := native.Config{Backend: c.Backend, RingBuffer: c.RingBuffer, Argv: c.Argv, Stacks: c.Stacks, Ready: c.Ready.Spec, ReadyDelay: c.Ready.Delay,
		ReadyTimeout: c.Ready.Timeout, Workload: c.Workload, Stdout: appOut, Stderr: appOut,
	}
	cfg.StackSyscalls, cfg.StackFor = stackFor(j.Judge(), trace.HostArch())
	nctx, cancel := c.withTimeout(ctx)
	defer cancel()
	files := analyze.NewFileUses()
	files.StartDir, _ = os.Getwd()
	// The uses the verification runs answer, judged as the run goes (the
	// reports' coverage is read from the trace afterwards, with what
	// those runs showed).
	live := analyze.NewCoverageBuilder(filepath.Base(c.Argv[0]), path, trace.Header{Arch: trace.HostArch()}, j.Judge(), j.Apps.Filter())
	start := time.Now()
	nres, err := RecordNative(nctx, cfg, path, o.Stdout, func(ev *trace.Event) {
		files.Add(ev)
		live.Add(ev)
	})
	c.Native = nres
	if err != nil {
		return nil, start, nil, fmt.Errorf("native run: %w", err)
	}
	c.noteNative(o, nres)
	if nres.Canceled {
		// Ctrl-C (or SIGTERM) wins over the workload it cut short.
		code, why := ExitInterrupt, "the native run was interrupted; the app was killed"
		if ctx.Err() == nil && errors.Is(nctx.Err(), context.DeadlineExceeded) {
			code, why = ExitTimeout, fmt.Sprintf("the native run timed out after %v; the app was killed", c.Timeout)
		}
		c.notes.Incomplete = why
		return files, start, live.Coverage(nil), &ExitError{code, errors.New(why)}
	}
	if nres.WorkloadErr != nil {
		return nil, start, nil, fmt.Errorf("native run: %w", nres.WorkloadErr)
	}
	if c.Workload == "" && c.Ready.Spec == "" && !nres.Stopped && (nres.ExitCode != 0 || nres.Signal != "") && c.Unikernel.Image == "" {
		// A tool's own run is its test: one that failed natively, with no
		// unikernel run to compare, proves nothing of what the unikernel
		// lacks (and cannot be verified). With one, the guest's run is
		// still judged (a crash explained), with the warning.
		why := fmt.Sprintf("the app exited with status %d natively: a run that failed proves nothing (give a command that succeeds, or --workload for a server)", nres.ExitCode)
		c.notes.Incomplete = why
		return files, start, live.Coverage(nil), &ExitError{ExitFailure, errors.New(why)}
	}
	fmt.Fprintf(o.Stderr, "syscov: native run of %s: %d events in %s\n", c.Argv[0], nres.Events, path)
	return files, start, live.Coverage(nil), nil
}

// runUnikernel records the unikernel run (its initrd with the files the
// native run found) and diffs it with the native one. failure is why the
// run proves nothing (no boot, a crash, no syscall); a guest that crashed
// after running the app is still diffed (what it lacked may be why).
func (c *Check) runUnikernel(ctx context.Context, o Output, j Judgement, plan *UnikernelPlan, nativePath string, files *analyze.FileUses, nativeStart time.Time) (d *analyze.Diff, apps []*analyze.AppCoverage, failure, err error) {
	ukPath := filepath.Join(c.Out, "unikernel.trace")
	c.Unikernel.ConsoleLog = filepath.Join(c.Out, "unikernel.console.log")
	if plan.Rootfs != nil {
		for _, skipped := range AddNativeFiles(plan.Rootfs, files, nativeStart) {
			fmt.Fprintf(o.Stderr, "syscov: not packed: %s\n", skipped)
		}
	}
	var wout *os.File
	if c.Workload != "" {
		if wout, err = os.CreateTemp("", "syscov-guest-workload-*.log"); err != nil {
			return nil, nil, nil, err
		}
		defer os.Remove(wout.Name())
		defer wout.Close()
		c.Unikernel.WorkloadOut = wout
	}
	uctx, cancel := c.withTimeout(ctx)
	ures, err := RecordUnikernel(o, uctx, c.Unikernel, plan, ukPath, c.Ready, c.Workload, "")
	cancel()
	if ures == nil {
		return nil, nil, nil, fmt.Errorf("unikernel run: %w", err)
	}
	failure = UnikernelFailure(ures, c.Timeout)
	if failure != nil {
		failure = plan.Explain(failure)
	}
	if failure == nil && ures.Syscalls == 0 {
		failure = &ExitError{ExitBootFailure, fmt.Errorf("the unikernel run made no syscall (%s%s); see %s", ures.Ended, DetailSuffix(ures.Detail), c.Unikernel.ConsoleLog)}
	}
	crashed := ures.Syscalls > 0 && (ures.Ended == unikernel.EndCrash || ures.Ended == unikernel.EndPanic)
	// What the app did there: ready and the workload passed is a run
	// that worked (what failed in it is done without); a guest that never
	// got ready or failed the workload proves nothing by itself, unless
	// the diff finds what it lacked (judged below).
	var notDone error
	switch {
	case failure != nil:
	case c.Ready.Spec != "" && ures.Ready == 0:
		notDone = &ExitError{ExitFailure, fmt.Errorf("the unikernel run proves nothing by itself: the app was never ready there (%s); see %s", c.Ready.Spec, c.Unikernel.ConsoleLog)}
	case ures.WorkloadErr != nil:
		notDone = &ExitError{ExitFailure, fmt.Errorf("the unikernel run proves nothing by itself: the workload failed against the guest: %v; see %s", ures.WorkloadErr, c.Unikernel.ConsoleLog)}
	case c.Workload == "" && c.Ready.Spec != "":
		j.UnikernelWorked = true // ready, and nothing more was asked
	case c.Workload != "" && c.nativeWorkload != nil:
		got, _ := io.ReadAll(io.NewSectionReader(wout, 0, 1<<20))
		if missing := c.nativeWorkload.Missing(got, 3); len(missing) > 0 {
			fmt.Fprintf(o.Stderr, "syscov: the workload against the guest did not write what it writes natively: %s\n", quoteLines(missing))
		} else {
			j.UnikernelWorked = true
		}
	}
	if failure == nil {
		failure = notDone
	}
	if failure == nil || crashed || notDone != nil {
		ra, err := AnalyzeRuns(nativePath, ukPath, trace.Options{}, 5, nil, j, true)
		if err != nil {
			return nil, nil, nil, err
		}
		d, apps = ra.Diff, []*analyze.AppCoverage{ra.Coverage}
	}
	return d, apps, failure, nil
}

// writeReports writes coverage.{txt,md,json}, diff.{txt,md,json} when
// there is a diff, report.html and report.md into c.Out.
func (c *Check) writeReports(d *analyze.Diff, apps []*analyze.AppCoverage, plan *UnikernelPlan) error {
	write := func(name string, render func(f report.Format, b *bytes.Buffer) error, f report.Format) error {
		var b bytes.Buffer
		if err := render(f, &b); err != nil {
			return err
		}
		return WriteReport(filepath.Join(c.Out, name), b.Bytes())
	}
	for _, f := range []report.Format{report.FormatTable, report.FormatMarkdown, report.FormatJSON} {
		ext := map[report.Format]string{report.FormatTable: "txt", report.FormatMarkdown: "md", report.FormatJSON: "json"}[f]
		if err := write("coverage."+ext, func(f report.Format, b *bytes.Buffer) error {
			return report.Render(b, f, report.CoverageDoc{Apps: apps, RunNotes: c.notes})
		}, f); err != nil {
			return err
		}
		if d != nil {
			if err := write("diff."+ext, func(f report.Format, b *bytes.Buffer) error {
				return report.Render(b, f, report.DiffDoc{Diff: d, RunNotes: c.notes})
			}, f); err != nil {
				return err
			}
		}
	}

	page := report.Page{Title: "syscov check: " + ShellJoin(c.Argv), Diff: d, Apps: apps,
		Env:       []report.KV{{Key: "syscov", Value: Version}, {Key: "host kernel", Value: HostKernel()}, {Key: "native command", Value: ShellJoin(c.Argv)}},
		Generated: "generated by syscov " + Version + " at " + time.Now().UTC().Format(time.RFC3339), RunNotes: c.notes}
	if c.Workload != "" {
		page.Env = append(page.Env, report.KV{Key: "workload", Value: c.Workload})
	}
	page.Env = append(page.Env, report.KV{Key: "rerun", Value: c.Rerun})
	if d != nil {
		page.Verdict = report.Verdict(d)
		page.Env = append(page.Env, report.KV{Key: "unikernel image", Value: c.Unikernel.Image})
		if d.Unikraft != "" {
			page.Env = append(page.Env, report.KV{Key: "Unikraft", Value: d.Unikraft})
		}
	}
	if plan != nil {
		page.Env = append(page.Env, report.KV{Key: "image libraries", Value: strings.Join(plan.Image.Libraries, " ")})
		page.Env = append(page.Env, report.KV{Key: "kernel command line", Value: plan.Cmdline})
		if plan.Rootfs != nil {
			page.Env = append(page.Env, report.KV{Key: "root filesystem", Value: fmt.Sprintf("%d paths packed by syscov into unikernel.initrd.cpio: %s", len(plan.Rootfs.List()), packedPaths(plan.Rootfs))})
		}
	}
	var html bytes.Buffer
	if err := report.Render(&html, report.FormatHTML, page); err != nil {
		return err
	}
	if err := WriteReport(filepath.Join(c.Out, "report.html"), html.Bytes()); err != nil {
		return err
	}
	var md bytes.Buffer
	if err := report.Render(&md, report.FormatMarkdown, page); err != nil {
		return err
	}
	if err := WriteReport(filepath.Join(c.Out, "report.md"), md.Bytes()); err != nil {
		return err
	}

	return nil
}

// verdict prints the short verdict and says, as an error, what the exit
// status is.
func (c *Check) verdict(o Output, j Judgement, d *analyze.Diff, a *analyze.AppCoverage, ukFailure error) error {
	lacks := false
	if d != nil {
		fmt.Fprintf(o.Stdout, "%s\n", report.VerdictColor(d.Lacks(j.Strict) || d.Crash != nil, report.Verdict(d)))
		report.CrashText(o.Stdout, d) // a crash, explained, is what it lacks first
		lacks = d.Lacks(j.Strict)
	}
	if a.TableWarning != "" {
		fmt.Fprintf(o.Stdout, "WARNING: %s\n", a.TableWarning)
	}
	fmt.Fprintf(o.Stdout, "%s against %s: %d distinct syscalls, %d missing (%d blocking), %d partial, %d stubbed; %s %% of %d calls supported\n",
		a.App, a.Table, a.Distinct(), a.Missing, len(a.Blocking), a.Partial, a.Stubbed, analyze.Percent(a.Weighted()), a.Calls)
	if a.TableWhy != "" {
		fmt.Fprintf(o.Stdout, "  table: %s\n", a.TableWhy)
	}
	if a.Config != "" {
		fmt.Fprintf(o.Stdout, "  levels for %s\n", a.Config)
	}
	shown := 0
	for _, u := range append(append([]*analyze.UsedSyscall(nil), a.Blocking...), a.Tolerated...) {
		if shown == 8 {
			fmt.Fprintf(o.Stdout, "  … %d more in %s\n", len(a.Blocking)+len(a.Tolerated)-8, filepath.Join(c.Out, "coverage.txt"))
			break
		}
		shown++
		line := fmt.Sprintf("  %-8s %-18s %6d calls  %-26s first at %s", u.Impact, u.Key, u.Calls, u.Class, u.SiteString())
		if u.Closure != "" && u.Impact != analyze.Noise {
			line += "; to close: " + u.Closure
		}
		if u.Evidence != "" {
			line += " [" + string(u.Evidence) + "]"
		}
		fmt.Fprintln(o.Stdout, report.ImpactColor(string(u.Impact), line))
	}
	if c.verifyNote != "" {
		fmt.Fprintf(o.Stdout, "  %s\n", c.verifyNote)
	}
	if ukFailure != nil && d != nil {
		fmt.Fprintf(o.Stdout, "the unikernel run failed: %v\n", ukFailure)
	}
	fmt.Fprintf(o.Stdout, "reports in %s\n", c.Out)
	if ukFailure != nil && (d == nil || !d.Lacks(j.Strict)) {
		return ukFailure
	}
	if len(a.Blocking) > 0 {
		lacks = true
	}
	if j.Strict {
		for _, u := range a.Tolerated {
			if u.Impact == analyze.Degrades {
				lacks = true
			}
		}
	}
	if lacks {
		return &ExitError{Code: ExitLacks}
	}
	return nil
}

// stackFor decides at syscall entry whether a call's stack is worth
// unwinding: only for the calls the judge will not call supported (the
// call sites the reports show), so that check costs what a plain trace
// costs on the hot path of a server.
func stackFor(j *analyze.Judge, arch trace.Arch) (names []string, f func(nr int, args [6]uint64) bool) {
	tab := trace.Table(arch)
	const cloneVM = 0x100
	need := map[int]bool{}
	for _, name := range tab.Names() {
		if j.Unsupported(arch, name, false) {
			need[tab.Number(name)] = true
			names = append(names, name)
		}
	}
	clone, clone3, fork, vfork := tab.Number("clone"), tab.Number("clone3"), tab.Number("fork"), tab.Number("vfork")
	for _, n := range []string{"clone", "clone3", "fork", "vfork"} {
		if !need[tab.Number(n)] {
			names = append(names, n)
		}
	}
	return names, func(nr int, args [6]uint64) bool {
		switch nr {
		case clone:
			return need[nr] || args[0]&cloneVM == 0 && j.Unsupported(arch, "clone", true)
		case clone3, fork, vfork:
			return true // flags behind a pointer (clone3), or always a new process
		}
		return need[nr]
	}
}

// packedPaths lists the files syscov packed, for the report.
func packedPaths(r *unikernel.Rootfs) string {
	var files []string
	for _, e := range r.List() {
		if !e.Dir {
			files = append(files, e.Guest)
		}
	}
	return strings.Join(files, " ")
}

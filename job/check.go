package job

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	// Rerun is the command line that runs this check again, for the
	// reports.
	Rerun string

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
	}
	unlock, err := prepareOut(c.Out)
	if err != nil {
		return err
	}
	defer unlock()
	// 1. The native run.
	nativePath := filepath.Join(c.Out, "native.trace")
	files, nativeStart, err := c.runNative(ctx, o, j, nativePath)
	if err != nil {
		if c.notes.Incomplete != "" {
			return c.writeIncomplete(o, j, nativePath, plan, err)
		}
		return err
	}
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
func (c *Check) runNative(ctx context.Context, o Output, j Judgement, path string) (*analyze.FileUses, time.Time, error) {
	cfg := native.Config{Backend: c.Backend, RingBuffer: c.RingBuffer, Argv: c.Argv, Stacks: c.Stacks, Ready: c.Ready.Spec, ReadyDelay: c.Ready.Delay,
		ReadyTimeout: c.Ready.Timeout, Workload: c.Workload, Stdout: os.Stderr, Stderr: os.Stderr,
	}
	cfg.StackSyscalls, cfg.StackFor = stackFor(j.Judge(), trace.HostArch())
	nctx, cancel := c.withTimeout(ctx)
	defer cancel()
	files := analyze.NewFileUses()
	start := time.Now()
	nres, err := RecordNative(nctx, cfg, path, o.Stdout, files.Add)
	if err != nil {
		return nil, start, fmt.Errorf("native run: %w", err)
	}
	c.noteNative(o, nres)
	if nres.Canceled {
		// Ctrl-C (or SIGTERM) wins over the workload it cut short.
		code, why := ExitInterrupt, "the native run was interrupted; the app was killed"
		if ctx.Err() == nil && errors.Is(nctx.Err(), context.DeadlineExceeded) {
			code, why = ExitTimeout, fmt.Sprintf("the native run timed out after %v; the app was killed", c.Timeout)
		}
		c.notes.Incomplete = why
		return files, start, &ExitError{code, errors.New(why)}
	}
	if nres.WorkloadErr != nil {
		return nil, start, fmt.Errorf("native run: %w", nres.WorkloadErr)
	}
	fmt.Fprintf(o.Stderr, "syscov: native run of %s: %d events in %s\n", c.Argv[0], nres.Events, path)
	return files, start, nil
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
	if failure == nil || crashed {
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
		fmt.Fprintf(o.Stdout, "%s\n", report.VerdictColor(d.Lacks(j.Strict), report.Verdict(d)))
		lacks = d.Lacks(j.Strict)
	}
	fmt.Fprintf(o.Stdout, "%s against %s: %d distinct syscalls, %d missing (%d blocking), %d partial, %d stubbed; %s %% of %d calls supported\n",
		a.App, a.Table, a.Distinct(), a.Missing, len(a.Blocking), a.Partial, a.Stubbed, analyze.Percent(a.Weighted()), a.Calls)
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
		fmt.Fprintln(o.Stdout, report.ImpactColor(string(u.Impact), line))
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

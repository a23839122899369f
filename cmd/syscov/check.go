package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/report"
	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/native"
	"github.com/syscov/syscov/trace/unikernel"
)

// runCheck is the main job: trace the app natively (built-in tracer, with
// stacks), optionally run it in the unikernel with the same workload, diff,
// compute coverage, print a short verdict and write every report into the
// output directory. Exit 4 when the app needs syscalls the unikernel lacks.
func runCheck(e *env, args []string) error {
	fs := newFlagSet(e, "check", "check [--unikernel IMAGE ...] [--ready tcp:PORT] [--workload CMD] [--out DIR] -- CMD [ARGS]")
	fs.SetInterspersed(false)
	outDir := fs.String("out", "syscov-out", "directory for the traces and reports")
	workloadCmd := fs.String("workload", "", "shell command run against the app (natively and in the unikernel) once it is ready")
	var rdy readyFlags
	rdy.register(fs, 30*time.Second)
	timeout := fs.Duration("timeout", 0, "end each run after this long")
	stacks := fs.Bool("stacks", true, "record native call stacks (call sites in the reports)")
	backend := fs.String("backend", "ptrace", "native tracer: ptrace or strace")
	appArgs := fs.StringArray("app-arg", nil, "unikernel: the app's arguments, when they differ from CMD ARGS (repeatable)")
	var jf judgeFlags
	jf.register(fs)
	var uf unikernelFlags
	uf.register(fs, "also run the app in this Unikraft image on qemu-system-x86_64")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return usagef("no command: syscov check [FLAGS] -- CMD [ARGS]")
	}
	ready, err := rdy.ready()
	if err != nil {
		return err
	}
	j, err := jf.judgement()
	if err != nil {
		return err
	}
	// The image and the unikernel's command line are checked before the
	// native run: a bad image must not cost a native run first.
	var plan *unikernelPlan
	if uf.image != "" {
		ukArgs := argv
		if len(*appArgs) > 0 {
			ukArgs = *appArgs
		}
		if plan, err = planUnikernel(uf, ukArgs); err != nil {
			return err
		}
		plan.warn(e)
		j.image, j.imageLibs = filepath.Base(uf.image), libSet(plan.image.Libraries)
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	withTimeout := func() (context.Context, context.CancelFunc) {
		if *timeout > 0 {
			return context.WithTimeout(ctx, *timeout)
		}
		return context.WithCancel(ctx)
	}

	// 1. The native run.
	nativePath := filepath.Join(*outDir, "native.trace")
	cfg := native.Config{Backend: native.Backend(*backend), Argv: argv, Stacks: *stacks, Ready: ready.Spec, ReadyDelay: ready.Delay,
		ReadyTimeout: ready.Timeout, Workload: *workloadCmd, Stdout: os.Stderr, Stderr: os.Stderr,
		StackFor: stackFor(j.judge(), trace.HostArch())}
	nctx, cancel := withTimeout()
	files := analyze.NewFileUses()
	nativeStart := time.Now()
	nres, err := recordNative(nctx, cfg, nativePath, e.stdout, files.Add)
	cancel()
	if err != nil {
		return fmt.Errorf("native run: %w", err)
	}
	if nres.WorkloadErr != nil {
		return fmt.Errorf("native run: %w", nres.WorkloadErr)
	}
	if nres.Canceled {
		return &exitError{exitInterrupt, fmt.Errorf("the native run was interrupted or timed out")}
	}
	fmt.Fprintf(e.stderr, "syscov: native run of %s: %d events in %s\n", argv[0], nres.Events, nativePath)

	// 2. The unikernel run, with the same workload.
	var d *analyze.Diff
	var apps []*analyze.AppCoverage
	var ukFailure error
	if plan != nil {
		ukPath := filepath.Join(*outDir, "unikernel.trace")
		uf.consoleLog = filepath.Join(*outDir, "unikernel.console.log")
		if plan.rootfs != nil {
			for _, skipped := range addNativeFiles(plan.rootfs, files, nativeStart) {
				fmt.Fprintf(e.stderr, "syscov: not packed: %s\n", skipped)
			}
		}
		uctx, cancel := withTimeout()
		ures, err := recordUnikernel(e, uctx, uf, plan, ukPath, ready, *workloadCmd, "")
		cancel()
		if ures == nil {
			return fmt.Errorf("unikernel run: %w", err)
		}
		// A run that did not boot, crashed, or made no syscall says
		// nothing of what the unikernel lacks: no diff verdict from it.
		ukFailure = unikernelFailure(ures, *timeout)
		if ukFailure != nil {
			ukFailure = plan.explain(ukFailure)
		}
		if ukFailure == nil && ures.Syscalls == 0 {
			ukFailure = &exitError{exitBootFailure, fmt.Errorf("the unikernel run made no syscall (%s%s); see %s", ures.Ended, detailSuffix(ures.Detail), uf.consoleLog)}
		}
		// A guest that crashed after running the app is diffed (what it
		// lacked may be why), but never passes.
		crashed := ures.Syscalls > 0 && (ures.Ended == unikernel.EndCrash || ures.Ended == unikernel.EndPanic)
		if ukFailure == nil || crashed {
			ra, err := analyzeRuns(nativePath, ukPath, trace.Options{}, 5, nil, j, true)
			if err != nil {
				return err
			}
			d, apps = ra.diff, []*analyze.AppCoverage{ra.coverage}
		}
	}

	// 3. Coverage, when no diff drew it from the same pass.
	if apps == nil {
		if apps, err = coverageOf([]string{nativePath}, trace.Options{}, j); err != nil {
			return err
		}
	}

	// 4. Reports.
	write := func(name string, render func(f report.Format, b *bytes.Buffer) error, f report.Format) error {
		var b bytes.Buffer
		if err := render(f, &b); err != nil {
			return err
		}
		return writeFile(filepath.Join(*outDir, name), b.Bytes())
	}
	for _, f := range []report.Format{report.FormatTable, report.FormatMarkdown, report.FormatJSON} {
		ext := map[report.Format]string{report.FormatTable: "txt", report.FormatMarkdown: "md", report.FormatJSON: "json"}[f]
		if err := write("coverage."+ext, func(f report.Format, b *bytes.Buffer) error { return report.Coverage(b, f, apps, nil) }, f); err != nil {
			return err
		}
		if d != nil {
			if err := write("diff."+ext, func(f report.Format, b *bytes.Buffer) error { return report.Diff(b, f, d) }, f); err != nil {
				return err
			}
		}
	}

	page := report.Page{Title: "syscov check: " + shellJoin(argv), Diff: d, Apps: apps,
		Env:       []report.KV{{Key: "syscov", Value: version}, {Key: "host kernel", Value: hostKernel()}, {Key: "native command", Value: shellJoin(argv)}},
		Generated: "generated by syscov " + version + " at " + time.Now().UTC().Format(time.RFC3339)}
	if *workloadCmd != "" {
		page.Env = append(page.Env, report.KV{Key: "workload", Value: *workloadCmd})
	}
	page.Env = append(page.Env, report.KV{Key: "rerun", Value: "syscov check " + shellJoin(args)})
	if d != nil {
		page.Verdict = report.Verdict(d)
		page.Env = append(page.Env, report.KV{Key: "unikernel image", Value: uf.image})
		if d.Unikraft != "" {
			page.Env = append(page.Env, report.KV{Key: "Unikraft", Value: d.Unikraft})
		}
	}
	if plan != nil {
		page.Env = append(page.Env, report.KV{Key: "image libraries", Value: strings.Join(plan.image.Libraries, " ")})
		page.Env = append(page.Env, report.KV{Key: "kernel command line", Value: plan.cmdline})
		if plan.rootfs != nil {
			page.Env = append(page.Env, report.KV{Key: "root filesystem", Value: fmt.Sprintf("%d paths packed by syscov into unikernel.initrd.cpio: %s", len(plan.rootfs.List()), packedPaths(plan.rootfs))})
		}
	}
	var html bytes.Buffer
	if err := report.HTML(&html, page); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(*outDir, "report.html"), html.Bytes()); err != nil {
		return err
	}
	var md bytes.Buffer
	if err := report.Markdown(&md, page); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(*outDir, "report.md"), md.Bytes()); err != nil {
		return err
	}

	// 5. The verdict.
	a := apps[0]
	lacks := false
	if d != nil {
		fmt.Fprintf(e.stdout, "%s\n", report.VerdictColor(d.Lacks(j.strict), report.Verdict(d)))
		lacks = d.Lacks(j.strict)
	}
	fmt.Fprintf(e.stdout, "%s against %s: %d distinct syscalls, %d missing (%d blocking), %d partial, %d stubbed; %s %% of %d calls supported\n",
		a.App, a.Table, a.Distinct(), a.Missing, len(a.Blocking), a.Partial, a.Stubbed, analyze.Percent(a.Weighted()), a.Calls)
	shown := 0
	for _, u := range append(append([]*analyze.UsedSyscall(nil), a.Blocking...), a.Tolerated...) {
		if shown == 8 {
			fmt.Fprintf(e.stdout, "  … %d more in %s\n", len(a.Blocking)+len(a.Tolerated)-8, filepath.Join(*outDir, "coverage.txt"))
			break
		}
		shown++
		line := fmt.Sprintf("  %-8s %-18s %6d calls  %-26s first at %s", u.Impact, u.Key, u.Calls, u.Class, u.SiteString())
		if u.Closure != "" && u.Impact != analyze.Noise {
			line += "; to close: " + u.Closure
		}
		fmt.Fprintln(e.stdout, report.ImpactColor(string(u.Impact), line))
	}
	if ukFailure != nil && d != nil {
		fmt.Fprintf(e.stdout, "the unikernel run failed: %v\n", ukFailure)
	}
	fmt.Fprintf(e.stdout, "reports in %s\n", *outDir)
	if ukFailure != nil && (d == nil || !d.Lacks(j.strict)) {
		return ukFailure
	}
	if len(a.Blocking) > 0 {
		lacks = true
	}
	if j.strict {
		for _, u := range a.Tolerated {
			if u.Impact == analyze.Degrades {
				lacks = true
			}
		}
	}
	if lacks {
		return &exitError{code: exitLacks}
	}
	return nil
}

// stackFor decides at syscall entry whether a call's stack is worth
// unwinding: only for the calls the judge will not call supported (the
// call sites the reports show), so that check costs what a plain trace
// costs on the hot path of a server.
func stackFor(j *analyze.Judge, arch trace.Arch) func(nr int, args [6]uint64) bool {
	tab := trace.Table(arch)
	const cloneVM = 0x100
	need := map[int]bool{}
	for _, name := range tab.Names() {
		if j.Unsupported(arch, name, false) {
			need[tab.Number(name)] = true
		}
	}
	clone, clone3, fork, vfork := tab.Number("clone"), tab.Number("clone3"), tab.Number("fork"), tab.Number("vfork")
	return func(nr int, args [6]uint64) bool {
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

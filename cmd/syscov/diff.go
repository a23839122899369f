package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/report"
	"github.com/syscov/syscov/trace"
)

// exitLacks is the exit status of `syscov diff` and `syscov check` when
// the unikernel lacks syscalls the app needs (missing or not supported),
// so that CI jobs can gate on it.
const exitLacks = 4

func runDiff(e *env, args []string) error {
	fs := newFlagSet(e, "diff", "diff NATIVE UNIKERNEL [--context N] [--ignore NAMES] [--format table|markdown|json]")
	var rf reportFlags
	rf.register(fs)
	context := fs.Int("context", 5, "events of context around the first divergence")
	ignore := fs.String("ignore", "default", "syscalls set aside before aligning: 'default' (start-up noise), 'none', or NAME,NAME (added to the default with a leading +)")
	f, opts, err := rf.parse(e, fs, args, "want two inputs: the native trace and the unikernel trace (or console log)")
	if err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want two inputs: the native trace and the unikernel trace (or console log)")
	}
	d, err := diffInputs(fs.Arg(0), fs.Arg(1), opts, *context, ignoreList(*ignore))
	if err != nil {
		return err
	}
	if f == report.FormatMarkdown || f == report.FormatHTML {
		// For an issue: the environment and the coverage figures too.
		page, err := diffPage(fs.Arg(0), fs.Arg(1), opts, d)
		if err != nil {
			return err
		}
		if f == report.FormatHTML {
			err = report.HTML(e.stdout, page)
		} else {
			err = report.Markdown(e.stdout, page)
		}
		if err != nil {
			return err
		}
	} else if err := report.Diff(e.stdout, f, d); err != nil {
		return err
	}
	if d.Lacks() {
		return &exitError{code: exitLacks}
	}
	return nil
}

func ignoreList(spec string) []string {
	switch {
	case spec == "default" || spec == "":
		return nil
	case spec == "none":
		return []string{}
	case strings.HasPrefix(spec, "+"):
		return append(analyze.DefaultIgnore(), strings.Split(spec[1:], ",")...)
	}
	return strings.Split(spec, ",")
}

func diffInputs(native, uni string, opts trace.Options, context int, ignore []string) (*analyze.Diff, error) {
	// Both runs are held for the alignment: collect garbage less often,
	// the heap is mostly those events (peak RSS stays well under 1 GiB for
	// two runs of a million syscalls).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	b := analyze.NewDiffBuilder(context, ignore)
	nr, err := trace.Open(native, opts)
	if err != nil {
		return nil, err
	}
	defer nr.Close()
	uopts := opts
	uopts.Origin = trace.OriginUnikernel
	ur, err := trace.Open(uni, uopts)
	if err != nil {
		return nil, err
	}
	defer ur.Close()
	// The two runs are read at the same time (the builder keeps their
	// state apart).
	nativeDone := make(chan error, 1)
	go func() {
		for nr.Scan() {
			b.AddNative(nr.Event())
		}
		nativeDone <- nr.Err()
	}()
	for ur.Scan() {
		ev := ur.Event()
		ev.Origin = trace.OriginUnikernel
		b.AddUnikernel(ev)
	}
	if err := <-nativeDone; err != nil {
		return nil, err
	}
	if err := ur.Err(); err != nil {
		return nil, err
	}
	b.SetSources(native, uni, ur.Header())
	d := b.Diff()
	if d.NativeLen == 0 {
		return nil, fmt.Errorf("%s: no syscalls", native)
	}
	return d, nil
}

// diffPage is the page of a diff: the verdict, the environment from both
// traces' headers, the diff and the native run's coverage refined by the
// unikernel run.
func diffPage(native, uni string, opts trace.Options, d *analyze.Diff) (report.Page, error) {
	page := report.Page{Title: "syscov diff", Verdict: report.Verdict(d), Diff: d,
		Env: []report.KV{{Key: "syscov", Value: version}}}
	for _, in := range []struct{ label, path string }{{"native", native}, {"unikernel", uni}} {
		r, err := trace.Open(in.path, opts)
		if err != nil {
			return page, err
		}
		h := r.Header()
		r.Close()
		if h.HostKernel != "" {
			page.Env = append(page.Env, report.KV{Key: in.label + " host kernel", Value: h.HostKernel})
		}
		if len(h.Command) > 0 {
			page.Env = append(page.Env, report.KV{Key: in.label + " command", Value: strings.Join(h.Command, " ")})
		}
		if h.Workload != "" {
			page.Env = append(page.Env, report.KV{Key: in.label + " workload", Value: h.Workload})
		}
		if len(h.VMM) > 0 {
			page.Env = append(page.Env, report.KV{Key: "VMM", Value: strings.Join(h.VMM, " ")})
		}
		page.Env = append(page.Env, report.KV{Key: in.label + " trace", Value: in.path})
	}
	if d.Unikraft != "" {
		page.Env = append(page.Env, report.KV{Key: "Unikraft", Value: d.Unikraft})
	}
	table, err := analyze.EmbeddedTable("unikraft")
	if err != nil {
		return page, err
	}
	apps, err := coverageOf([]string{native, uni}, opts, table, nil)
	if err != nil {
		return page, err
	}
	page.Apps = apps[:1]
	return page, nil
}

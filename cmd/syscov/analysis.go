package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	flag "github.com/spf13/pflag"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/unikernel"
)

// appFlags say which processes of a native trace are the app.
type appFlags struct {
	all  bool
	only string
}

func (a *appFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&a.all, "all-processes", false, "count every process of a native trace as the app's (by default wrappers such as sh -c, env and pyenv shims are set aside)")
	fs.StringVar(&a.only, "only", "", "the app is the process that execs the program named EXE (a base name), in a larger tree")
}

// filter makes the app filter of one native input (nil: keep all).
func (a appFlags) filter() *analyze.AppFilter {
	if a.all {
		return nil
	}
	return analyze.NewAppFilter(a.only)
}

// judgement is what every analysis of a command is judged by.
type judgement struct {
	table *analyze.SupportTable
	// config is the image's Kconfig given with --config; without it, the
	// libraries of the unikernel image (imageLibs, when known) turn the
	// table's library options on and off.
	config    *analyze.Config
	image     string
	imageLibs map[string]bool
	probe     map[string]map[string]analyze.ProbeVerdict
	apps      appFlags
	strict    bool // --strict-impact: degrades fail too
}

func (j judgement) judge() *analyze.Judge {
	jd, err := analyze.NewJudge(j.table, j.probe)
	if err != nil {
		panic(err) // the embedded knowledge file is checked by the tests
	}
	switch {
	case j.config != nil:
		jd.Table = j.table.WithConfig(j.config)
	case j.imageLibs != nil && j.table.ConfigOf() != nil:
		jd.Table = j.table.WithConfig(analyze.ConfigWithLibraries(j.table, j.image, j.imageLibs))
	}
	return jd
}

// input is one trace (or strace -ff set) read by a command.
type input struct {
	name string
	r    trace.Reader
	// syscalls counts the syscall events read, to refuse inputs without.
	syscalls int
}

// openInputs opens every input group once.
func openInputs(paths []string, opts trace.Options) ([]*input, error) {
	var out []*input
	for _, group := range trace.GroupInputs(paths) {
		r, err := trace.OpenSet(group, opts)
		if err != nil {
			closeInputs(out)
			return nil, err
		}
		name := group[0]
		if len(group) > 1 {
			name = fmt.Sprintf("%s (%d -ff files)", strings.TrimSuffix(group[0], "."+lastDotPart(group[0])), len(group))
		}
		out = append(out, &input{name: name, r: r})
	}
	return out, nil
}

func closeInputs(ins []*input) {
	for _, in := range ins {
		in.r.Close()
	}
}

// scan reads every event of the input once, passing it to each consumer.
func (in *input) scan(consumers ...func(*trace.Event)) error {
	for in.r.Scan() {
		ev := in.r.Event()
		if ev.Kind == trace.KindSyscall {
			in.syscalls++
		}
		for _, c := range consumers {
			c(ev)
		}
	}
	if err := in.r.Err(); err != nil {
		return err
	}
	return in.empty()
}

// empty is the error for an input without a single syscall: an analysis
// of nothing must not pass.
func (in *input) empty() error {
	if in.syscalls > 0 {
		return nil
	}
	return fmt.Errorf("%s: no syscalls: %s", in.name, describeInput(strings.SplitN(in.name, " (", 2)[0]))
}

// describeInput says what an input without syscalls looks like.
func describeInput(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "not a file syscov can read"
	}
	defer f.Close()
	head := make([]byte, 8<<10)
	n, _ := io.ReadFull(f, head)
	head = bytes.TrimSpace(head[:n])
	switch {
	case len(head) == 0:
		return "the file is empty"
	case bytes.Contains(head, []byte("% time")) && bytes.Contains(head, []byte("usecs/call")):
		return "this is a strace -c summary table, not a trace: record with strace -f -o FILE (without -c), or syscov trace"
	case bytes.HasPrefix(head, []byte(`{"syscov_trace"`)):
		return "a syscov trace with a header and no syscall events (did the run start?)"
	case bytes.Contains(head, []byte("Powered by")) || bytes.Contains(head, []byte("Unikraft")):
		return "a Unikraft console without syscall lines: is the syscall shim's strace output on (CONFIG_LIBSYSCALL_SHIM_STRACE)?"
	}
	return "no line reads as a syscall of strace, a Unikraft console or a syscov trace"
}

// coverageOf judges each input as one app: every input is read once; the
// unikernel runs among them refine the table for all (the judgement is
// made at the end).
func coverageOf(paths []string, opts trace.Options, j judgement) ([]*analyze.AppCoverage, error) {
	ins, err := openInputs(paths, opts)
	if err != nil {
		return nil, err
	}
	defer closeInputs(ins)
	judge := j.judge()
	refine := analyze.NewRefinement()
	var builders []*analyze.CoverageBuilder
	for _, in := range ins {
		hdr := in.r.Header()
		var filter *analyze.AppFilter
		if hdr.Origin != trace.OriginUnikernel.String() {
			filter = j.apps.filter()
		}
		b := analyze.NewCoverageBuilder(analyze.AppName(hdr, in.name), in.name, hdr, judge, filter)
		if err := in.scan(b.Add, refine.Add); err != nil {
			return nil, err
		}
		builders = append(builders, b)
	}
	apps := make([]*analyze.AppCoverage, len(builders))
	for i, b := range builders {
		apps[i] = b.Coverage(refine)
	}
	return apps, nil
}

// runsAnalysis is what check and diff draw from a native and a unikernel
// run: the diff and the native app's coverage refined by the unikernel.
type runsAnalysis struct {
	diff     *analyze.Diff
	coverage *analyze.AppCoverage
	native   trace.Header
	uni      trace.Header
}

// analyzeRuns reads the native and the unikernel trace once each (at the
// same time) and feeds every analysis from that one pass: the diff and,
// with withCoverage, the native app's coverage.
func analyzeRuns(native, uni string, opts trace.Options, context int, ignore []string, j judgement, withCoverage bool) (*runsAnalysis, error) {
	// Both runs are held for the alignment: collect garbage less often,
	// the heap is mostly those events (peak RSS stays well under 1 GiB for
	// two runs of a million syscalls).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	nins, err := openInputs([]string{native}, opts)
	if err != nil {
		return nil, err
	}
	defer closeInputs(nins)
	uopts := opts
	uopts.Origin = trace.OriginUnikernel
	uins, err := openInputs([]string{uni}, uopts)
	if err != nil {
		return nil, err
	}
	defer closeInputs(uins)
	nin, uin := nins[0], uins[0]
	if j.imageLibs == nil {
		j.image, j.imageLibs = imageLibsOf(uin.r.Header())
	}
	judge := j.judge()
	d := analyze.NewDiffBuilder(context, ignore)
	d.UseJudge(judge, j.apps.filter())
	cov := analyze.NewCoverageBuilder(analyze.AppName(nin.r.Header(), nin.name), nin.name, nin.r.Header(), judge, j.apps.filter())
	refine := analyze.NewRefinement()
	// The builders keep each side's state apart: the two runs are read
	// at the same time.
	nativeDone := make(chan error, 1)
	consumers := []func(*trace.Event){d.AddNative}
	if withCoverage {
		consumers = append(consumers, cov.Add)
	}
	go func() { nativeDone <- nin.scan(consumers...) }()
	uerr := uin.scan(func(ev *trace.Event) {
		ev.Origin = trace.OriginUnikernel
		d.AddUnikernel(ev)
		if withCoverage {
			refine.Add(ev)
		}
	})
	if err := <-nativeDone; err != nil {
		return nil, err
	}
	if uerr != nil {
		return nil, fmt.Errorf("the unikernel side: %w", uerr)
	}
	d.SetSources(native, uni, uin.r.Header())
	d.SetNativeHeader(nin.r.Header())
	out := &runsAnalysis{diff: d.Diff(), native: nin.r.Header(), uni: uin.r.Header()}
	if withCoverage {
		out.coverage = cov.Coverage(refine)
	}
	if out.diff.NativeLen == 0 {
		return nil, errors.New(native + ": no syscalls of the app to compare (every one was set aside as start-up noise or a wrapper's)")
	}
	return out, nil
}

// imageLibsOf reads the libraries of the image a unikernel trace booted
// (the -kernel of its VMM command line), when that file is still there.
func imageLibsOf(h trace.Header) (image string, libs map[string]bool) {
	for i, a := range h.VMM {
		if a == "-kernel" && i+1 < len(h.VMM) {
			if im, err := unikernel.InspectImage(h.VMM[i+1]); err == nil {
				return filepath.Base(h.VMM[i+1]), libSet(im.Libraries)
			}
		}
	}
	return "", nil
}

func libSet(libs []string) map[string]bool {
	if len(libs) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, l := range libs {
		m[l] = true
	}
	return m
}

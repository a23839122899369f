package job

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/unikernel"
)

// AppSelection says which processes of a native trace are the app.
type AppSelection struct {
	// All counts every process as the app's (no wrapper set aside).
	All bool
	// Only is the program the app execs (a base name), in a larger tree.
	Only string
}

// Filter makes the app filter of one native input (nil: keep all).
func (a AppSelection) Filter() *analyze.AppFilter {
	if a.All {
		return nil
	}
	return analyze.NewAppFilter(a.Only)
}

// Judgement is what every analysis of a command is judged by.
type Judgement struct {
	Table *analyze.SupportTable
	// Config is the image's Kconfig given with --config; without it, the
	// libraries of the unikernel image (ImageLibs, when known) turn the
	// table's library options on and off.
	Config    *analyze.Config
	Image     string
	ImageLibs map[string]bool
	Probe     map[string]map[string]analyze.ProbeVerdict
	Apps      AppSelection
	Strict    bool // --strict-impact: degrades fail too
}

// Judge is the judge of support and impact of this judgement.
func (j Judgement) Judge() *analyze.Judge {
	jd, err := analyze.NewJudge(j.Table, j.Probe)
	if err != nil {
		panic(err) // the embedded knowledge file is checked by the tests
	}
	switch {
	case j.Config != nil:
		jd.Table = j.Table.WithConfig(j.Config)
	case j.ImageLibs != nil && j.Table.ConfigOf() != nil:
		jd.Table = j.Table.WithConfig(analyze.ConfigWithLibraries(j.Table, j.Image, j.ImageLibs))
	}
	return jd
}

// Input is one trace (or strace -ff set) read by a command.
type Input struct {
	Name string
	R    trace.Reader
	// Syscalls counts the syscall events read, to refuse inputs without.
	Syscalls int
}

// OpenInputs opens every input group once.
func OpenInputs(paths []string, opts trace.Options) ([]*Input, error) {
	var out []*Input
	for _, group := range trace.GroupInputs(paths) {
		r, err := trace.OpenSet(group, opts)
		if err != nil {
			CloseInputs(out)
			return nil, err
		}
		name := group[0]
		if len(group) > 1 {
			name = fmt.Sprintf("%s (%d -ff files)", strings.TrimSuffix(group[0], "."+lastDotPart(group[0])), len(group))
		}
		out = append(out, &Input{Name: name, R: r})
	}
	return out, nil
}

func CloseInputs(ins []*Input) {
	for _, in := range ins {
		in.R.Close()
	}
}

// Scan reads every event of the input once, passing it to each consumer.
func (in *Input) Scan(consumers ...func(*trace.Event)) error {
	for in.R.Scan() {
		ev := in.R.Event()
		if ev.Kind == trace.KindSyscall {
			in.Syscalls++
		}
		for _, c := range consumers {
			c(ev)
		}
	}
	if err := in.R.Err(); err != nil {
		return err
	}
	return in.Empty()
}

// Empty is the error for an input without a single syscall: an analysis
// of nothing must not pass.
func (in *Input) Empty() error {
	if in.Syscalls > 0 {
		return nil
	}
	return fmt.Errorf("%s: no syscalls: %s", in.Name, DescribeInput(strings.SplitN(in.Name, " (", 2)[0]))
}

// DescribeInput says what an input without syscalls looks like.
func DescribeInput(path string) string {
	if path == "-" {
		return "no line of standard input reads as a syscall of strace, a Unikraft console or a syscov trace"
	}
	f, err := os.Open(path)
	if err != nil {
		return "not a file syscov can read"
	}
	defer f.Close()
	head := make([]byte, 8<<10)
	n, _ := io.ReadFull(f, head)
	head = bytes.TrimSpace(head[:n])
	for _, c := range []struct{ magic, name, tool string }{
		{"\x1f\x8b", "gzip", "zcat"}, {"\xfd7zXZ\x00", "xz", "xzcat"}, {"\x28\xb5\x2f\xfd", "zstd", "zstdcat"}, {"BZh", "bzip2", "bzcat"},
	} {
		if bytes.HasPrefix(head, []byte(c.magic)) {
			return fmt.Sprintf("%s-compressed: decompress it first (%s FILE | syscov COMMAND -)", c.name, c.tool)
		}
	}
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

// CoverageOf judges each input as one app: every input is read once; the
// unikernel runs among them refine the table for all (the Judgement is
// made at the end).
func CoverageOf(paths []string, opts trace.Options, j Judgement) ([]*analyze.AppCoverage, error) {
	ins, err := OpenInputs(paths, opts)
	if err != nil {
		return nil, err
	}
	defer CloseInputs(ins)
	judge := j.Judge()
	refine := analyze.NewRefinement()
	var builders []*analyze.CoverageBuilder
	for _, in := range ins {
		hdr := in.R.Header()
		var filter *analyze.AppFilter
		if hdr.Origin != trace.OriginUnikernel.String() {
			filter = j.Apps.Filter()
		}
		b := analyze.NewCoverageBuilder(analyze.AppName(hdr, in.Name), in.Name, hdr, judge, filter)
		if err := in.Scan(b.Add, refine.Add); err != nil {
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

// RunsAnalysis is what check and diff draw from a native and a unikernel
// run: the diff and the native app's coverage refined by the unikernel.
type RunsAnalysis struct {
	Diff     *analyze.Diff
	Coverage *analyze.AppCoverage
	Native   trace.Header
	Uni      trace.Header
}

// AnalyzeRuns reads the native and the unikernel trace once each (at the
// same time) and feeds every analysis from that one pass: the diff and,
// with withCoverage, the native app's coverage.
func AnalyzeRuns(native, uni string, opts trace.Options, context int, ignore []string, j Judgement, withCoverage bool) (*RunsAnalysis, error) {
	// Both runs are held for the alignment: collect garbage less often,
	// the heap is mostly those events (peak RSS stays well under 1 GiB for
	// two runs of a million syscalls).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	nins, err := OpenInputs([]string{native}, opts)
	if err != nil {
		return nil, err
	}
	defer CloseInputs(nins)
	uopts := opts
	uopts.Origin = trace.OriginUnikernel
	uins, err := OpenInputs([]string{uni}, uopts)
	if err != nil {
		return nil, err
	}
	defer CloseInputs(uins)
	nin, uin := nins[0], uins[0]
	if j.ImageLibs == nil {
		j.Image, j.ImageLibs = ImageLibsOf(uin.R.Header())
	}
	judge := j.Judge()
	d := analyze.NewDiffBuilder(context, ignore)
	d.UseJudge(judge, j.Apps.Filter())
	cov := analyze.NewCoverageBuilder(analyze.AppName(nin.R.Header(), nin.Name), nin.Name, nin.R.Header(), judge, j.Apps.Filter())
	refine := analyze.NewRefinement()
	// The builders keep each side's state apart: the two runs are read
	// at the same time.
	nativeDone := make(chan error, 1)
	consumers := []func(*trace.Event){d.AddNative}
	if withCoverage {
		consumers = append(consumers, cov.Add)
	}
	go func() { nativeDone <- nin.Scan(consumers...) }()
	uerr := uin.Scan(func(ev *trace.Event) {
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
	d.SetSources(native, uni, uin.R.Header())
	d.SetNativeHeader(nin.R.Header())
	out := &RunsAnalysis{Diff: d.Diff(), Native: nin.R.Header(), Uni: uin.R.Header()}
	if withCoverage {
		out.Coverage = cov.Coverage(refine)
	}
	if out.Diff.NativeLen == 0 {
		return nil, errors.New(native + ": no syscalls of the app to compare (every one was set aside as start-up noise or a wrapper's)")
	}
	return out, nil
}

// ImageLibsOf reads the libraries of the image a unikernel trace booted
// (the -kernel of its VMM command line), when that file is still there.
func ImageLibsOf(h trace.Header) (image string, libs map[string]bool) {
	for i, a := range h.VMM {
		if a == "-kernel" && i+1 < len(h.VMM) {
			if im, err := unikernel.InspectImage(h.VMM[i+1]); err == nil {
				return filepath.Base(h.VMM[i+1]), LibSet(im.Libraries)
			}
		}
	}
	return "", nil
}

func LibSet(libs []string) map[string]bool {
	if len(libs) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, l := range libs {
		m[l] = true
	}
	return m
}

func lastDotPart(s string) string {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[i+1:]
	}
	return ""
}

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
	// Verified are check's verification runs, by app and use key.
	Verified map[string]map[string]analyze.Verification
	// UnikernelWorked: the app did its job in the unikernel run.
	UnikernelWorked bool
	Apps            AppSelection
	Strict          bool // --strict-impact: degrades fail too
	// Explicit: --against named the table; else the image's Unikraft
	// version picks it (ForImage).
	Explicit bool
}

// Judge is the judge of support and impact of this judgement.
func (j Judgement) Judge() *analyze.Judge {
	jd, err := analyze.NewJudge(j.Table, j.Probe)
	if err != nil {
		panic(err) // the embedded knowledge file is checked by the tests
	}
	jd.Verified, jd.UnikernelWorked = j.Verified, j.UnikernelWorked
	switch {
	case j.Config != nil:
		jd.Table = j.Table.WithConfig(j.Config)
		jd.Table.ConfigGiven = true
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
	// pending are events PeekVersion read, which Scan hands on first.
	pending []trace.Event
}

// PeekVersion reads a unikernel run up to its boot banner (or its first
// syscall), so that the table can be chosen before any event is judged;
// the events it read are Scan's first. The input is still read once.
func (in *Input) PeekVersion() string {
	for in.R.Header().Unikraft == "" && len(in.pending) < 100000 && in.R.Scan() {
		ev := *in.R.Event()
		in.pending = append(in.pending, ev)
		if ev.Kind == trace.KindSyscall {
			break
		}
	}
	return in.R.Header().Unikraft
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
	for i := range in.pending {
		ev := &in.pending[i]
		if ev.Kind == trace.KindSyscall {
			in.Syscalls++
		}
		for _, c := range consumers {
			c(ev)
		}
	}
	in.pending = nil
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
	path := strings.SplitN(in.Name, " (", 2)[0]
	if why := consoleFailure(path); why != "" {
		return &ExitError{ExitBootFailure, fmt.Errorf("%s: no syscalls: %s", in.Name, why)}
	}
	return fmt.Errorf("%s: no syscalls: %s", in.Name, DescribeInput(path))
}

// consoleFailure reads a Unikraft console that made no syscall for why:
// app-elfloader could not start the app (the unikernel booted), or an
// error stopped the boot. "" when it says neither.
func consoleFailure(path string) string {
	r, err := trace.Open(path, trace.Options{Format: trace.FormatUnikraft, Origin: trace.OriginUnikernel})
	if err != nil {
		return ""
	}
	defer r.Close()
	var app, appEnd, lastErr, fatal string
	for n := 0; n < 100000 && r.Scan(); n++ {
		ev := r.Event()
		if ev.Kind != trace.KindMessage || ev.Level != "err" && ev.Level != "crit" {
			continue
		}
		text := strings.TrimSpace(ev.Text)
		if end, _ := unikernel.AppFailure(ev.Library, text); end != "" {
			app, appEnd = text, end
		} else if !strings.HasPrefix(text, "*") {
			lastErr = text
			if fatal == "" && (ev.Level == "crit" || strings.Contains(text, "returned error")) {
				fatal = text
			}
		}
	}
	booted := "the unikernel booted"
	if v := r.Header().Unikraft; v != "" {
		booted += " (Unikraft " + v + ")"
	}
	switch {
	case app != "":
		return fmt.Sprintf("%s but app-elfloader could not start the app (%s: %s)", booted, appEnd, app)
	case fatal != "":
		return "the unikernel did not boot: " + fatal
	case lastErr != "" && r.Header().Unikraft == "":
		return "the unikernel did not boot: " + lastErr
	}
	return ""
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
	version := ""
	for _, in := range ins {
		if h := in.R.Header(); h.Origin == trace.OriginUnikernel.String() && version == "" {
			in.PeekVersion()
			version = imageVersion(in.R.Header())
		}
	}
	if j, err = j.ForImage(version); err != nil {
		return nil, err
	}
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
	uin.PeekVersion()
	if j, err = j.ForImage(imageVersion(uin.R.Header())); err != nil {
		return nil, err
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
	ExplainCrash(out.Diff, uni, out.Uni)
	if withCoverage {
		out.Coverage = cov.Coverage(refine)
	}
	if out.Diff.NativeLen == 0 {
		return nil, errors.New(native + ": no syscalls of the app to compare (every one was set aside as start-up noise or a wrapper's)")
	}
	return out, nil
}

// imageVersion is the Unikraft version of a unikernel run: its banner
// (see Input.PeekVersion), else the .uk_libinfo of the image it booted
// (when still there).
func imageVersion(h trace.Header) string {
	if h.Unikraft != "" {
		return h.Unikraft
	}

	for i, a := range h.VMM {
		if a == "-kernel" && i+1 < len(h.VMM) {
			if im, err := unikernel.InspectImage(h.VMM[i+1]); err == nil {
				return im.Version
			}
		}
	}
	return ""
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

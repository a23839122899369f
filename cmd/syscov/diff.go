package main

import (
	"strings"

	flag "github.com/spf13/pflag"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/job"
	"github.com/syscov/syscov/report"
	"github.com/syscov/syscov/trace"
)

func runDiff(e *env, args []string) error {
	fs := newFlagSet(e, "diff", "diff NATIVE UNIKERNEL [--context N] [--ignore NAMES] [--against TABLE] [--format table|markdown|json|html]")
	var rf reportFlags
	rf.register(fs)
	context := fs.Int("context", 5, "events of context around the first divergence")
	ignore := fs.String("ignore", "default", "syscalls set aside before aligning: 'default' (start-up noise), 'none', or NAME,NAME (added to the default with a leading +)")
	var jf judgeFlags
	jf.register(fs)
	f, opts, err := rf.parse(e, fs, args, "want two inputs: the native trace and the unikernel trace (or console log)")
	if err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return job.Usagef("want two inputs: the native trace and the unikernel trace (or console log)")
	}
	j, err := jf.judgement()
	if err != nil {
		return err
	}
	page := f == report.FormatMarkdown || f == report.FormatHTML
	ra, err := job.AnalyzeRuns(fs.Arg(0), fs.Arg(1), opts, *context, ignoreList(*ignore), j, page)
	if err != nil {
		return err
	}
	d := ra.Diff
	if page {
		// For an issue: the environment and the coverage figures too.
		page := diffPage(fs.Arg(0), fs.Arg(1), ra)
		if f == report.FormatHTML {
			err = report.Render(e.stdout, report.FormatHTML, page)
		} else {
			err = report.Render(e.stdout, report.FormatMarkdown, page)
		}
		if err != nil {
			return err
		}
	} else if err := report.Render(e.stdout, f, report.DiffDoc{Diff: d}); err != nil {
		return err
	}
	if d.Lacks(j.Strict) {
		return &job.ExitError{Code: job.ExitLacks}
	}
	return nil
}

// judgeFlags are the flags of what the analysis is judged by (coverage,
// diff, check).
type judgeFlags struct {
	against string
	config  string
	probes  []string
	strict  bool
	apps    job.AppSelection
	fs      *flag.FlagSet
}

func (jf *judgeFlags) register(fs *flag.FlagSet) {
	jf.fs = fs
	fs.StringVar(&jf.against, "against", "unikraft", "support table: unikraft, unikraft@VERSION (built in) or a file from 'syscov kb import';\ndefault: the table of the image's Unikraft version (its banner or .uk_libinfo), else the newest release")
	registerConfig(fs, &jf.config)
	fs.StringArrayVar(&jf.probes, "probe", nil, "verdicts of 'syscov probe --format json' (repeatable, one per app; each applies to the app it probed): missing syscalls that work stubbed or faked degrade, not block")
	fs.BoolVar(&jf.strict, "strict-impact", false, "exit 4 also when what is lacking only degrades the app (a fallback takes over)")
	registerApps(fs, &jf.apps)
}

func (jf *judgeFlags) judgement() (job.Judgement, error) {
	table, verdicts, err := job.LoadJudgement(jf.against, jf.probes)
	if err != nil {
		return job.Judgement{}, err
	}
	cfg, err := job.LoadConfig(jf.config)
	explicit := jf.fs != nil && jf.fs.Changed("against")
	switch {
	case err != nil:
	case !explicit:
		// Not named by --against: the newest release, until an image
		// says its version.
		table, err = job.ChooseTable("")
	case table.Chosen == "":
		c := *table
		c.Chosen = "--against " + jf.against + " (the newest release built in)"
		table = &c
	}
	return job.Judgement{Table: table, Config: cfg, Probe: verdicts, Apps: jf.apps, Strict: jf.strict, Explicit: explicit}, err
}

// registerConfig adds --config, the Kconfig of the image judged against.
func registerConfig(fs *flag.FlagSet, to *string) {
	fs.StringVar(to, "config", "", "the .config of the Unikraft image: the table of that image (a syscall whose library is off is\n\"disabled: enable CONFIG_X\"); default: the libraries of the image when known, else app-elfloader's defaults")
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

// diffPage is the page of a diff: the verdict, the environment from both
// traces' headers, the diff and the native run's coverage refined by the
// unikernel run.
func diffPage(native, uni string, ra *job.RunsAnalysis) report.Page {
	d := ra.Diff
	page := report.Page{Title: "syscov diff", Verdict: report.Verdict(d), Diff: d,
		Env: []report.KV{{Key: "syscov", Value: version}}}
	for _, in := range []struct {
		label, path string
		h           trace.Header
	}{{"native", native, ra.Native}, {"unikernel", uni, ra.Uni}} {
		h := in.h
		if h.HostKernel != "" {
			page.Env = append(page.Env, report.KV{Key: in.label + " host kernel", Value: h.HostKernel})
		}
		if len(h.Command) > 0 {
			page.Env = append(page.Env, report.KV{Key: in.label + " command", Value: job.ShellJoin(h.Command)})
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
	page.Apps = []*analyze.AppCoverage{ra.Coverage}
	return page
}

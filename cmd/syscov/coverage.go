package main

import (
	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/report"
	"github.com/syscov/syscov/trace"
)

func runCoverage(e *env, args []string) error {
	fs := newFlagSet(e, "coverage", "coverage INPUT... [--against unikraft[@V]|FILE] [--format table|markdown|json]")
	var rf reportFlags
	rf.register(fs)
	against := fs.String("against", "unikraft", "support table: unikraft, unikraft@VERSION (built in) or a file from 'syscov kb import'")
	probeFile := fs.String("probe", "", "verdicts of 'syscov probe --format json': missing syscalls that work stubbed or faked are cheap, not blocking")
	f, opts, err := rf.parse(e, fs, args, "no input: name the traces of one or more apps")
	if err != nil {
		return err
	}
	table, verdicts, err := loadJudgement(*against, *probeFile)
	if err != nil {
		return err
	}
	apps, err := coverageOf(fs.Args(), opts, table, verdicts)
	if err != nil {
		return err
	}
	return report.Coverage(e.stdout, f, apps, analyze.MakePlan(apps))
}

// coverageOf reads every trace twice: first the unikernel ones refine the
// table (a syscall that answered ENOSYS is missing in that image), then
// each trace is one app's coverage.
func coverageOf(paths []string, opts trace.Options, table *analyze.SupportTable, verdicts map[string]analyze.ProbeVerdict) ([]*analyze.AppCoverage, error) {
	refine := analyze.NewRefinement()
	err := eachTrace(paths, opts, func(name string, r trace.Reader) error {
		for r.Scan() {
			refine.Add(r.Event())
		}
		return r.Err()
	})
	if err != nil {
		return nil, err
	}
	opts.Warn = nil // warned about on the first read
	var apps []*analyze.AppCoverage
	err = eachTrace(paths, opts, func(name string, r trace.Reader) error {
		b := analyze.NewCoverageBuilder(analyze.AppName(r.Header(), name), name, r.Header(), table, refine)
		b.SetProbe(verdicts)
		for r.Scan() {
			b.Add(r.Event())
		}
		if err := r.Err(); err != nil {
			return err
		}
		apps = append(apps, b.Coverage())
		return nil
	})
	return apps, err
}

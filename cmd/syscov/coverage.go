package main

import (
	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/job"
	"github.com/syscov/syscov/report"
)

func runCoverage(e *env, args []string) error {
	fs := newFlagSet(e, "coverage", "coverage INPUT... [--against unikraft[@V]|FILE] [--format table|markdown|json|html]")
	var rf reportFlags
	rf.register(fs)
	var jf judgeFlags
	jf.register(fs)
	f, opts, err := rf.parse(e, fs, args, "no input: name the traces of one or more apps")
	if err != nil {
		return err
	}
	j, err := jf.judgement()
	if err != nil {
		return err
	}
	apps, err := job.CoverageOf(fs.Args(), opts, j)
	if err != nil {
		return err
	}
	return report.Render(e.stdout, f, report.CoverageDoc{Apps: apps, Plan: analyze.MakePlan(apps)})
}

package main

import (
	"fmt"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/job"
	"github.com/syscov/syscov/report"
	"github.com/syscov/syscov/trace"
)

func runSummary(e *env, args []string) error {
	fs := newFlagSet(e, "summary", "summary [--per-process] [--format table|markdown|json] INPUT...")
	var rf reportFlags
	rf.register(fs)
	perProcess := fs.Bool("per-process", false, "also summarise each process (pid) on its own")
	f, opts, err := rf.parse(e, fs, args, "no input: name one or more traces (strace output, syscov trace files, '-' for stdin)")
	if err != nil {
		return err
	}
	var out []report.SummaryInput
	err = eachTrace(fs.Args(), opts, func(name string, r trace.Reader) error {
		b := analyze.NewSummaryBuilder(*perProcess)
		pr := job.NewProgress(e.stderr, name)
		syscalls := 0
		for r.Scan() {
			if r.Event().Kind == trace.KindSyscall {
				syscalls++
			}
			b.Add(r.Event())
			pr.Tick(r.Stats().Lines)
		}
		pr.Done()
		if err := r.Err(); err != nil {
			return err
		}
		if syscalls == 0 {
			// A summary of nothing is not a summary: empty, random or
			// compressed input fails and says what it looks like.
			return fmt.Errorf("%s: no syscalls: %s", name, job.DescribeInput(name))
		}
		st := r.Stats()
		out = append(out, report.SummaryInput{Summary: b.Summary(name), Skipped: st.Skipped, Lines: st.Lines})
		return nil
	})
	if err != nil {
		return err
	}
	return report.Render(e.stdout, f, report.SummaryDoc(out))
}

package job

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/probe"
)

// Verification is how check verifies what the unikernel lacks: the app
// is run natively again, once per lacking use, with exactly that use
// answered as the target answers it (the one judge picks the calls, at
// their entry, argument by argument; the call is skipped and returns the
// table's errno or the stub's value). The runs are probe's runs: the same
// ready, workload and check, judged the same way, plus the output: a run
// works only when its output holds every line two unmodified runs agree
// on.
type Verification struct {
	// Off skips it (--no-verify): every impact is then a prediction.
	Off bool
	// Jobs runs that many at once (default 1: the runs share the app's
	// ports and files, as the check's own run does).
	Jobs int
	// Max bounds the uses verified (default 24); the rest stay predicted.
	Max int
	// Timeout bounds one run (default: the check's --timeout, else 60s).
	Timeout time.Duration
	// Check is a command whose success says the app worked (as probe's
	// --check), run after the workload.
	Check string
}

// verifyOutcome is what the verification step found, for the verdict.
type verifyOutcome struct {
	results map[string]analyze.Verification
	// skipped says why nothing (or not everything) was verified.
	skipped string
	runs    int
	elapsed time.Duration
	// workload is what the unmodified runs' workloads wrote alike (nil
	// without a workload or without those runs).
	workload *analyze.StableOutput
}

// verify runs the verification of the lacking uses of the native run's
// coverage (cand) and returns the verified uses by key.
func (c *Check) verify(ctx context.Context, o Output, jd *analyze.Judge, cand *analyze.AppCoverage) verifyOutcome {
	v := c.Verification
	out := verifyOutcome{results: map[string]analyze.Verification{}}
	lacking := cand.Lacking()
	if v.Off || len(lacking) == 0 {
		if v.Off && len(lacking) > 0 {
			out.skipped = "--no-verify: every impact below is a prediction"
		}
		return out
	}
	if max := v.Max; max == 0 && len(lacking) > 24 || max > 0 && len(lacking) > max {
		if max == 0 {
			max = 24
		}
		out.skipped = fmt.Sprintf("verified the %d most called of %d lacking uses; the rest are predictions (--verify-max)", max, len(lacking))
		lacking = lacking[:max]
	}
	logDir := filepath.Join(c.Out, "verify")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		out.skipped = "not verified: " + err.Error()
		return out
	}
	timeout := v.Timeout
	if timeout == 0 {
		timeout = c.Timeout
	}
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	cfg := probe.Config{Argv: c.Argv, Ready: c.Ready.Spec, ReadyDelay: c.Ready.Delay, ReadyTimeout: c.Ready.Timeout,
		Workload: c.Workload, Check: v.Check, Timeout: timeout, Output: true, LogDir: logDir}
	start := time.Now()
	fmt.Fprintf(o.Stderr, "syscov: verifying %d lacking uses: the app run natively with each answered as %s answers it (--no-verify skips)\n", len(lacking), jd.Table.Name())

	// Two unmodified runs: what they agree on is what a working run
	// writes; a run that fails unmodified proves nothing.
	base := make([]probe.Outcome, 2)
	for i := range base {
		base[i] = probe.Run(ctx, cfg, probe.Variant{Label: fmt.Sprintf("unmodified-%d", i+1)})
		out.runs++
		if !base[i].OK {
			out.elapsed = time.Since(start)
			out.skipped = fmt.Sprintf("not verified: an unmodified run of the app failed (%s; see %s): its runs are not repeatable, so every impact below is a prediction", base[i].Reason, base[i].Log)
			return out
		}
	}
	stable := analyze.NewStableOutput(base[0].Output, base[1].Output)
	if c.Workload != "" {
		out.workload = analyze.NewStableOutput(base[0].WorkloadOutput, base[1].WorkloadOutput)
	}
	if v.Timeout == 0 {
		// A run with a use answered may hang where the app waits for what
		// never comes (a master whose worker was never forked): bound it
		// by what the unmodified runs took, within the check's --timeout.
		cfg.Timeout = max(10*time.Second, 4*max(base[0].Elapsed, base[1].Elapsed))
		if c.Timeout > 0 {
			cfg.Timeout = min(cfg.Timeout, c.Timeout)
		}
	}
	arch := trace.HostArch()
	tasks := make([]probe.Task, len(lacking))
	groupNote := map[string]string{}
	answers := make([]analyze.TargetAnswer, len(lacking))
	for i, u := range lacking {
		answers[i] = jd.Answer(arch, u)
	}
	for i, u := range lacking {
		// A use is answered with the lacking uses it goes with (a
		// timer's create and delete, a fork and the wait for its child):
		// the target never lets the one succeed and the other fail.
		var with []int
		var names []string
		for k, w := range lacking {
			if k == i || analyze.UseGroup(w.Key) != "" && analyze.UseGroup(w.Key) == analyze.UseGroup(u.Key) && answers[k].Emulable {
				with = append(with, k)
				if !slices.Contains(names, w.Name) {
					names = append(names, w.Name)
				}
			}
		}
		tasks[i] = probe.Task{Name: u.Key, Kind: "verify", Variant: probe.Variant{
			Label:          "answered-" + u.Key,
			AnswerSyscalls: names,
			Answer: func(ev *trace.Event) (int64, bool) {
				for _, k := range with {
					if jd.Matches(arch, lacking[k], ev) {
						return answers[k].Ret, true
					}
				}
				return 0, false
			},
		}}
		if len(with) > 1 {
			var others []string
			for _, k := range with {
				if k != i {
					others = append(others, lacking[k].Key)
				}
			}
			groupNote[u.Key] = "with " + strings.Join(others, ", ") + " answered too"
		}
	}
	var run []probe.Task
	index := map[string]int{}
	for i, t := range tasks {
		if !answers[i].Emulable {
			out.results[t.Name] = analyze.Verification{Works: false, Answer: answers[i].Text, Why: answers[i].Why}
			continue
		}
		index[t.Name] = i
		run = append(run, t)
	}
	judge := func(t probe.Task, oc probe.Outcome) analyze.Verification {
		i := index[t.Name]
		r := analyze.Verification{Works: oc.OK, Answer: answers[i].Text, Answered: oc.Answered, Why: oc.Reason, Log: relTo(c.Out, oc.Log)}
		if n := groupNote[t.Name]; n != "" {
			r.Answer += ", " + n
		}
		if oc.OK {
			if missing := stable.Missing(oc.Output, 3); len(missing) > 0 {
				r.Works, r.Why = false, "its output lacks what the unmodified runs wrote: "+quoteLines(missing)
			}
		}
		return r
	}
	var failed []probe.Task
	probe.RunAll(ctx, cfg, run, max(v.Jobs, 1), func(t probe.Task, oc probe.Outcome) {
		out.runs++
		if oc.Answered == 0 && ctx.Err() == nil {
			// The use was never made in this run (a call of the
			// shutdown, a path the run did not take): it proves
			// nothing of the use.
			return
		}
		r := judge(t, oc)
		out.results[t.Name] = r
		if !r.Works && oc.Reason != "timeout" {
			failed = append(failed, t) // a hang is not run again: it takes the longest
		}
	})
	// A failing run is run again (but a hang): a use blocks only when it
	// fails twice; one that fails once in two is said to (timing, a busy
	// host).
	for _, t := range failed {
		if ctx.Err() != nil {
			break
		}
		t.Variant.Label += "-again"
		oc := probe.Run(ctx, cfg, t.Variant)
		out.runs++
		if r := judge(t, oc); r.Works {
			first := out.results[t.Name]
			r.Why = "the first of two runs failed (" + first.Why + "; " + first.Log + "), the second worked"
			out.results[t.Name] = r
		}
	}
	if ctx.Err() != nil {
		out.skipped = "verification interrupted: the uses not verified are predictions"
	}
	out.elapsed = time.Since(start)
	return out
}

func quoteLines(lines []string) string {
	q := make([]string, len(lines))
	for i, l := range lines {
		if len(l) > 80 {
			l = l[:80] + "…"
		}
		q[i] = fmt.Sprintf("%q", l)
	}
	return strings.Join(q, ", ")
}

// relTo names a file under dir relative to it, for the reports.
func relTo(dir, p string) string {
	if p == "" {
		return ""
	}
	if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

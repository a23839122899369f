package report

import (
	"fmt"
	"strings"

	"github.com/syscov/syscov/analyze"
)

// ProbeSchema names the version of the probe JSON document.
const ProbeSchema = "syscov.probe/v1"

func runs(ok, n int, reason string) string {
	if n == 0 {
		return "-"
	}
	s := fmt.Sprintf("%d/%d ok", ok, n)
	if ok < n && reason != "" {
		s += ": " + reason
	}
	return s
}

func flaky(f bool) string {
	if f {
		return " (flaky)"
	}
	return ""
}

func comboResult(c analyze.Combo) string {
	if c.OK {
		return "the app still works"
	}
	return "the app fails (" + c.Reason + ")"
}

func pastTense(kind string) string {
	if kind == "stub" {
		return "stubbed"
	}
	return "faked"
}

// probeHead is the one-line summary of a probe report.
func probeHead(p *analyze.ProbeReport) string {
	c := p.Counts()
	if p.Partial != "" {
		s := fmt.Sprintf("incomplete: %s; %s: %d syscalls probed so far: %d required, %d work stubbed, %d work faked, %d work both",
			p.Partial, p.App, len(p.Results), c[analyze.Required], c[analyze.WorksStubbed], c[analyze.WorksFaked], c[analyze.WorksBoth])
		if len(p.Unfinished) > 0 {
			s += fmt.Sprintf("; %d not finished: %s", len(p.Unfinished), strings.Join(p.Unfinished, ", "))
		}
		return s
	}
	return fmt.Sprintf("%s: %d syscalls probed (%d runs, %d replica(s), %d job(s), %.1f s): %d required, %d work stubbed, %d work faked, %d work both",
		p.App, len(p.Results), p.Runs, p.Replicas, p.Jobs, p.Elapsed.Seconds(), c[analyze.Required], c[analyze.WorksStubbed], c[analyze.WorksFaked], c[analyze.WorksBoth])
}

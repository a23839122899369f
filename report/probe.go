package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/syscov/syscov/analyze"
)

// ProbeSchema names the version of the probe JSON document.
const ProbeSchema = "syscov.probe/v1"

// Probe renders the verdicts of `syscov probe`.
func Probe(w io.Writer, f Format, p *analyze.ProbeReport) error {
	p.Schema = ProbeSchema
	c := p.Counts()
	head := fmt.Sprintf("%s: %d syscalls probed (%d runs, %d replica(s), %d job(s), %.1f s): %d required, %d work stubbed, %d work faked, %d work both",
		p.App, len(p.Results), p.Runs, p.Replicas, p.Jobs, p.Elapsed.Seconds(), c[analyze.Required], c[analyze.WorksStubbed], c[analyze.WorksFaked], c[analyze.WorksBoth])
	switch f {
	case FormatHTML:
		return HTML(w, Page{Title: "syscov probe: " + p.App, Verdict: head, Probe: p})
	case FormatJSON:
		return writeJSON(w, p)
	case FormatMarkdown:
		fmt.Fprintf(w, "**%s**\n\n", mdText(head))
		fmt.Fprintln(w, "| syscall | calls | stubbed (ENOSYS) | faked (0) | verdict |")
		fmt.Fprintln(w, "|---|--:|---|---|---|")
		for _, r := range p.Results {
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s%s |\n", mdCell(r.Name), r.Calls, mdCell(runs(r.StubOK, r.StubRuns, r.StubReason)), mdCell(runs(r.FakeOK, r.FakeRuns, r.FakeReason)), r.Verdict, flaky(r.Flaky))
		}
		for _, cb := range p.Combos {
			fmt.Fprintf(w, "\n- all %d syscalls that work %s %s together: %s", len(cb.Names), pastTense(cb.Kind), pastTense(cb.Kind), comboResult(cb))
		}
		fmt.Fprintln(w)
		return nil
	}
	fmt.Fprintln(w, head)
	var rows [][]string
	for _, r := range p.Results {
		rows = append(rows, []string{r.Name, strconv.Itoa(r.Calls), cut(runs(r.StubOK, r.StubRuns, r.StubReason), 26), cut(runs(r.FakeOK, r.FakeRuns, r.FakeReason), 26), string(r.Verdict) + flaky(r.Flaky)})
	}
	if err := renderTable(w, []string{"syscall", "calls", "stubbed (ENOSYS)", "faked (0)", "verdict"}, rows, nil, []bool{false, true, false, false, false}); err != nil {
		return err
	}
	for _, cb := range p.Combos {
		fmt.Fprintf(w, "all %d syscalls that work %s, %s together: %s\n", len(cb.Names), pastTense(cb.Kind), pastTense(cb.Kind), comboResult(cb))
	}
	if len(p.Skipped) > 0 {
		fmt.Fprintf(w, "not probed (they start or end the process): %s\n", strings.Join(p.Skipped, ", "))
	}
	return nil
}

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

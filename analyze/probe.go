package analyze

import (
	"sort"
	"time"
)

// ProbeVerdict says what a syscall needs to be for the app to work.
type ProbeVerdict string

const (
	Required     ProbeVerdict = "required"      // neither a stub nor a fake will do
	WorksStubbed ProbeVerdict = "works stubbed" // ENOSYS is fine, a fake success is not
	WorksFaked   ProbeVerdict = "works faked"   // a fake success is fine, ENOSYS is not
	WorksBoth    ProbeVerdict = "works both"    // either will do
)

// Cheap reports whether the syscall need not be implemented for real.
func (v ProbeVerdict) Cheap() bool { return v == WorksStubbed || v == WorksFaked || v == WorksBoth }

// ProbeResult is what the runs of one syscall showed.
type ProbeResult struct {
	Name     string `json:"name"`
	Calls    int    `json:"calls"`
	StubOK   int    `json:"stub_ok"`
	StubRuns int    `json:"stub_runs"`
	FakeOK   int    `json:"fake_ok"`
	FakeRuns int    `json:"fake_runs"`
	// Reasons say why a stubbed or faked run failed (the first one).
	StubReason string       `json:"stub_reason,omitempty"`
	FakeReason string       `json:"fake_reason,omitempty"`
	Flaky      bool         `json:"flaky,omitempty"`
	Verdict    ProbeVerdict `json:"verdict"`
}

// Record adds the outcome of one run.
func (r *ProbeResult) Record(kind string, ok bool, reason string) {
	switch kind {
	case "stub":
		r.StubRuns++
		if ok {
			r.StubOK++
		} else if r.StubReason == "" {
			r.StubReason = reason
		}
	case "fake":
		r.FakeRuns++
		if ok {
			r.FakeOK++
		} else if r.FakeReason == "" {
			r.FakeReason = reason
		}
	}
}

// Disagree reports whether the replicas of a variant disagree.
func (r *ProbeResult) Disagree() bool {
	return (r.StubOK > 0 && r.StubOK < r.StubRuns) || (r.FakeOK > 0 && r.FakeOK < r.FakeRuns)
}

// Decide sets the verdict by majority of the runs of each variant.
func (r *ProbeResult) Decide() {
	r.Flaky = r.Disagree()
	stub := r.StubRuns > 0 && 2*r.StubOK > r.StubRuns
	fake := r.FakeRuns > 0 && 2*r.FakeOK > r.FakeRuns
	switch {
	case stub && fake:
		r.Verdict = WorksBoth
	case stub:
		r.Verdict = WorksStubbed
	case fake:
		r.Verdict = WorksFaked
	default:
		r.Verdict = Required
	}
}

// Combo is a run with a set of syscalls changed together.
type Combo struct {
	Kind   string   `json:"kind"` // stub or fake
	Names  []string `json:"names"`
	OK     bool     `json:"ok"`
	Reason string   `json:"reason,omitempty"`
}

// ProbeReport is the result of `syscov probe`.
type ProbeReport struct {
	Schema   string        `json:"schema"`
	App      string        `json:"app"`
	Command  []string      `json:"command"`
	Workload string        `json:"workload,omitempty"`
	Check    string        `json:"check,omitempty"`
	Replicas int           `json:"replicas"`
	Jobs     int           `json:"jobs"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Runs     int           `json:"runs"`
	Results  []ProbeResult `json:"results"`
	Combos   []Combo       `json:"combinations"`
	// Skipped are used syscalls a probe cannot change (execve, exit).
	Skipped []string `json:"skipped,omitempty"`
	// Partial says why the report is not the whole probe (interrupted,
	// or still running: written as it goes); Unfinished are the syscalls
	// whose stubbed and faked runs were not both done, left out of
	// Results (no verdict from half the runs).
	Partial    string   `json:"partial,omitempty"`
	Unfinished []string `json:"unfinished,omitempty"`
}

// Counts returns how many syscalls got each verdict.
func (p *ProbeReport) Counts() map[ProbeVerdict]int {
	out := map[ProbeVerdict]int{}
	for _, r := range p.Results {
		out[r.Verdict]++
	}
	return out
}

// SortResults orders results: required first, then by calls.
func (p *ProbeReport) SortResults() {
	rank := map[ProbeVerdict]int{Required: 0, WorksFaked: 1, WorksStubbed: 2, WorksBoth: 3}
	sort.Slice(p.Results, func(i, j int) bool {
		a, b := p.Results[i], p.Results[j]
		if rank[a.Verdict] != rank[b.Verdict] {
			return rank[a.Verdict] < rank[b.Verdict]
		}
		if a.Calls != b.Calls {
			return a.Calls > b.Calls
		}
		return a.Name < b.Name
	})
}

// Verdicts maps syscall names to their probe verdicts.
func (p *ProbeReport) Verdicts() map[string]ProbeVerdict {
	out := map[string]ProbeVerdict{}
	for _, r := range p.Results {
		out[r.Name] = r.Verdict
	}
	return out
}

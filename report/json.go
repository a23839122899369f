package report

import (
	"encoding/json"
	"io"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
)

// SummarySchema names the version of the summary JSON document.
const SummarySchema = "syscov.summary/v1"

type jsonSummaryDoc struct {
	Schema string        `json:"schema"`
	Traces []jsonSummary `json:"traces"`
}

type jsonSummary struct {
	Source    string            `json:"source"`
	Calls     int               `json:"calls"`
	Errors    int               `json:"errors"`
	Seconds   *float64          `json:"seconds,omitempty"`
	Skipped   int               `json:"skipped_lines"`
	Syscalls  []jsonSyscallStat `json:"syscalls"`
	Signals   map[string]int    `json:"signals,omitempty"`
	Processes []jsonProcess     `json:"processes,omitempty"`
}

type jsonProcess struct {
	PID      int               `json:"pid"`
	Comm     string            `json:"comm,omitempty"`
	Exit     string            `json:"exit,omitempty"`
	Calls    int               `json:"calls"`
	Errors   int               `json:"errors"`
	Syscalls []jsonSyscallStat `json:"syscalls"`
}

type jsonSyscallStat struct {
	Name     string         `json:"name"`
	Nr       int            `json:"nr"`
	Calls    int            `json:"calls"`
	Errors   int            `json:"errors"`
	NoReturn int            `json:"no_return,omitempty"`
	Seconds  *float64       `json:"seconds,omitempty"`
	Errnos   map[string]int `json:"errnos,omitempty"`
}

func jsonStats(stats []*analyze.SyscallStat, hasTime bool) []jsonSyscallStat {
	out := make([]jsonSyscallStat, 0, len(stats))
	for _, s := range stats {
		js := jsonSyscallStat{Name: s.Name, Nr: s.Nr, Calls: s.Calls, Errors: s.Errors, NoReturn: s.NoReturn}
		if len(s.Errnos) > 0 {
			js.Errnos = s.Errnos
		}
		if hasTime {
			sec := s.Time.Seconds()
			js.Seconds = &sec
		}
		out = append(out, js)
	}
	return out
}

func summariesJSON(w io.Writer, in []SummaryInput) error {
	doc := jsonSummaryDoc{Schema: SummarySchema, Traces: []jsonSummary{}}
	for _, s := range in {
		sum := s.Summary
		js := jsonSummary{Source: sum.Source, Calls: sum.Calls, Errors: sum.Errors, Skipped: s.Skipped,
			Syscalls: jsonStats(sum.Syscalls, sum.HasTime)}
		if sum.HasTime {
			sec := sum.Time.Seconds()
			js.Seconds = &sec
		}
		if len(sum.Signals) > 0 {
			js.Signals = sum.Signals
		}
		for _, p := range sum.Processes {
			js.Processes = append(js.Processes, jsonProcess{PID: p.PID, Comm: p.Comm, Exit: p.Exit, Calls: p.Calls, Errors: p.Errors, Syscalls: jsonStats(p.Syscalls, sum.HasTime)})
		}
		doc.Traces = append(doc.Traces, js)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

// renderJSON writes a document as JSON (its schema named in it).
func renderJSON(w io.Writer, doc Document) error {
	switch d := doc.(type) {
	case SummaryDoc:
		return summariesJSON(w, d)
	case CoverageDoc:
		return coverageJSON(w, d.Apps, d.Plan, d.RunNotes)
	case DiffDoc:
		doc := diffJSON(d.Diff)
		d.RunNotes.json(doc)
		return writeJSON(w, doc)
	case ProbeDoc:
		d.Report.Schema = ProbeSchema
		return writeJSON(w, d.Report)
	case TablesDoc:
		return tablesJSON(w, d.Tables)
	case TableDoc:
		sub := map[string]analyze.Support{}
		for _, n := range d.names() {
			sub[n] = d.Table.Arch[d.Arch][n]
		}
		return writeJSON(w, map[string]any{"schema": "syscov.kb/v2", "table": d.Table.Name(), "arch": d.Arch, "source": d.Table.Source, "config": d.Table.Config, "syscalls": sub})
	case SyscallsDoc:
		sub := map[string]analyze.Support{}
		for _, n := range d.Names {
			sub[n] = d.Table.Lookup(d.Arch, n)
		}
		return writeJSON(w, map[string]any{"schema": "syscov.kb/v2", "table": d.Table.Name(), "arch": d.Arch, "source": d.Table.Source, "config": d.Table.Config, "syscalls": sub})
	case TableDiffDoc:
		return tableDiffJSON(w, d)
	case CatalogPlanDoc:
		return catalogPlanJSON(w, d)
	case CatalogCompareDoc:
		return catalogCompareJSON(w, d)
	case BenchDoc:
		return writeJSON(w, struct {
			*analyze.BenchReport
			Comparisons []analyze.Comparison `json:"comparisons"`
		}{d.Report, d.Report.Compare()})
	}
	return errUnsupported
}

// writeJSON writes v as indented JSON, HTML characters as they are.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func coverageJSON(w io.Writer, apps []*analyze.AppCoverage, plan *analyze.Plan, notes RunNotes) error {
	type jsonApp struct {
		App          string         `json:"app"`
		Source       string         `json:"source"`
		Table        string         `json:"table"`
		TableWhy     string         `json:"table_why,omitempty"`
		TableWarning string         `json:"table_warning,omitempty"`
		Config       string         `json:"config,omitempty"`
		Counts       map[string]int `json:"counts"`
		Calls        int            `json:"calls"`
		Weighted     float64        `json:"weighted_coverage"`
		Used         []jsonUse      `json:"used"`
		Missing      []string       `json:"missing"`
		Tolerated    []string       `json:"tolerated"`
		Runtimes     []string       `json:"runtimes"`
	}
	doc := map[string]any{"schema": CoverageSchema}
	notes.json(doc)
	var out []jsonApp
	for _, a := range apps {
		ja := jsonApp{App: a.App, Source: a.Source, Table: a.Table, TableWhy: a.TableWhy, TableWarning: a.TableWarning, Config: a.Config, Calls: a.Calls, Weighted: a.Weighted(),
			Counts:  map[string]int{"implemented": a.Implemented, "stubbed": a.Stubbed, "partial": a.Partial, "missing": a.Missing},
			Missing: []string{}, Tolerated: []string{}, Runtimes: nonNil(a.Runtimes)}
		for _, u := range a.Used {
			ja.Used = append(ja.Used, jsonUse{u.Key, u.Name, u.Nr, u.Calls, string(u.Level), u.Note, u.Class, u.SiteString(), u.UnikernelSeen, string(u.Probe), string(u.Impact), u.ImpactWhy, string(u.Evidence), u.Closure})
		}
		for _, u := range a.Blocking {
			ja.Missing = append(ja.Missing, u.Key)
		}
		for _, u := range a.Tolerated {
			ja.Tolerated = append(ja.Tolerated, u.Key)
		}
		out = append(out, ja)
	}
	doc["apps"] = out
	if plan != nil && plan.Apps > 1 {
		doc["plan"] = map[string]any{"apps": plan.Apps, "covered_now": plan.CoveredNow, "blockers": plan.Blockers, "steps": plan.Steps,
			"covered_after_top5": plan.AfterTop[5], "covered_after_top10": plan.AfterTop[10]}
	}
	return writeJSON(w, doc)
}

func diffJSON(d *analyze.Diff) map[string]any {
	verdicts := func(list []analyze.Gap) []jsonVerdict {
		out := []jsonVerdict{}
		for _, v := range list {
			sites := v.NativeSites
			if sites == nil {
				sites = []string{}
			}
			out = append(out, jsonVerdict{string(v.Kind), v.Name, v.Nr, v.Class, v.Errno, v.UnikernelCalls, v.NativeCalls, sites, v.FirstUnikernel.String(), v.Note, string(v.Impact), v.ImpactWhy, string(v.Evidence), v.Closure})
		}
		return out
	}
	events := func(list []analyze.DiffEvent) []jsonDiffEvent {
		out := []jsonDiffEvent{}
		for _, e := range list {
			out = append(out, jsonDiffEvent{e.Name, e.Args, e.Ret, e.Errno, e.PID, e.Pos.String()})
		}
		return out
	}
	counts := func(list []analyze.NameCount) map[string]int {
		out := map[string]int{}
		for _, c := range list {
			out[c.Name] = c.Count
		}
		return out
	}
	doc := map[string]any{
		"schema":           DiffSchema,
		"verdict":          Verdict(d),
		"lacks_syscalls":   d.Lacks(false),
		"file_gaps":        fileGapsJSON(d.FileGaps),
		"crash":            d.Crash,
		"set_aside":        counts(d.SetAside),
		"runtimes":         nonNil(d.Runtimes),
		"table":            map[string]any{"name": d.Table, "why": d.TableWhy, "warning": d.TableWarning},
		"native":           map[string]any{"source": d.NativeSource, "aligned": d.NativeLen},
		"unikernel":        map[string]any{"source": d.UnikernelSource, "aligned": d.UnikernelLen, "unikraft": d.Unikraft, "ended": d.Ended, "end_detail": d.EndDetail},
		"alignment":        map[string]int{"equal": d.Equal, "native_only": d.NativeOnly, "unikernel_only": d.UniOnly},
		"missing":          verdicts(d.Missing),
		"not_supported":    verdicts(d.NotSupported),
		"failed":           verdicts(d.Failed),
		"never_reached":    counts(d.NeverReached),
		"ignored":          counts(d.Ignored),
		"fork_children":    d.ForkChildren,
		"first_divergence": nil,
	}
	if dv := d.First; dv != nil {
		doc["first_divergence"] = map[string]any{
			"native_index": dv.NativeAt, "unikernel_index": dv.UnikernelAt,
			"native": events(dv.Native), "unikernel": events(dv.Unikernel),
			"native_mark": dv.NativeMark, "unikernel_mark": dv.UnikernelMark,
		}
	}
	return doc
}

func fileGapsJSON(gaps []analyze.FileGap) []map[string]any {
	out := []map[string]any{}
	for _, g := range gaps {
		out = append(out, map[string]any{"path": g.Path, "kernel": g.Kernel, "native_call": g.NativeCall, "errno": g.Errno, "calls": g.Calls, "first_unikernel": g.FirstUnikernel.String()})
	}
	return out
}

func tablesJSON(w io.Writer, tables []*analyze.SupportTable) error {
	type row struct {
		Name    string                `json:"name"`
		Source  string                `json:"source"`
		Config  string                `json:"config,omitempty"`
		Counts  map[analyze.Level]int `json:"x86_64"`
		Aarch64 map[analyze.Level]int `json:"aarch64"`
	}
	rows := []row{}
	for _, t := range tables {
		rows = append(rows, row{t.Name(), t.Source, t.Config, t.Counts(trace.ArchX86_64), t.Counts(trace.ArchAarch64)})
	}
	return writeJSON(w, map[string]any{"schema": "syscov.kb-list/v1", "tables": rows})
}

func tableDiffJSON(w io.Writer, d TableDiffDoc) error {
	type side struct {
		Level   analyze.Level `json:"level"`
		Note    string        `json:"note,omitempty"`
		Returns string        `json:"returns,omitempty"`
		Where   string        `json:"where,omitempty"`
	}
	type change struct {
		Syscall string   `json:"syscall"`
		From    side     `json:"from"`
		To      side     `json:"to"`
		What    []string `json:"what"`
	}
	out := []change{}
	for _, c := range d.Changes {
		out = append(out, change{c.Name, side{c.From.Level, c.From.Note, c.From.Returns, c.From.Where}, side{c.To.Level, c.To.Note, c.To.Returns, c.To.Where}, c.What})
	}
	return writeJSON(w, map[string]any{"schema": "syscov.kbdiff/v1", "from": d.From.Name(), "to": d.To.Name(), "from_source": d.From.Source, "to_source": d.To.Source, "arch": d.Arch, "changes": out})
}

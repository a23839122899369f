package report

import (
	"encoding/json"
	"io"

	"github.com/syscov/syscov/analyze"
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

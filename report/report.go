// Package report is the last stage of syscov's pipeline (trace → analyze →
// report): it renders the values analyze computes as terminal tables,
// GitHub-flavoured Markdown and JSON. It is the only package that prints.
// Each third-party renderer lives in a file of its own (tablewriter in
// table.go).
package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/syscov/syscov/analyze"
)

// Format is an output format.
type Format string

const (
	FormatTable    Format = "table"
	FormatMarkdown Format = "markdown"
	FormatJSON     Format = "json"
	FormatHTML     Format = "html"
)

// ParseFormat accepts the names --format takes.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "table", "text", "":
		return FormatTable, nil
	case "markdown", "md":
		return FormatMarkdown, nil
	case "json":
		return FormatJSON, nil
	case "html":
		return FormatHTML, nil
	}
	return "", fmt.Errorf("unknown format %q (want table, markdown, json or html)", s)
}

// FormatError is a format a command's document cannot be rendered in
// (a usage error: exit 2), rather than a table printed instead.
type FormatError struct {
	Format Format
	What   string // what cannot be rendered so, e.g. "kb list"
	Want   string // the formats it has
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("--format %s: %s is written as %s", e.Format, e.What, e.Want)
}

// SummaryInput is one summarised trace and what reading it noticed.
type SummaryInput struct {
	Summary *analyze.Summary
	// Skipped counts the malformed input lines that were skipped.
	Skipped int
	Lines   int
}

// Summaries renders the summaries of one or more traces.
func Summaries(w io.Writer, f Format, in []SummaryInput) error {
	switch f {
	case FormatHTML:
		return HTML(w, Page{Title: "syscov summary", Summary: in})
	case FormatJSON:
		return summariesJSON(w, in)
	case FormatMarkdown:
		return summariesMarkdown(w, in)
	default:
		return summariesTable(w, in)
	}
}

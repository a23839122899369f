// Package report is the last stage of syscov's pipeline (trace → analyze →
// report): it renders the documents analyze computes as terminal tables,
// GitHub-flavoured Markdown, JSON, HTML pages and pprof profiles. It may
// import analyze and trace, never job or cmd.
//
// Render is the one entry point: a document and a format. Each format is
// a file of its own (table.go, markdown.go, json.go, html.go, pprof.go),
// holding that format's rendering of every document; a document a format
// cannot render is a FormatError (exit 2), never a table instead.
package report

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
)

// Format is an output format.
type Format string

const (
	FormatTable    Format = "table"
	FormatMarkdown Format = "markdown"
	FormatJSON     Format = "json"
	FormatHTML     Format = "html"
	// FormatBenchfmt is Go's benchmark format (benchstat reads it): for
	// syscov bench.
	FormatBenchfmt Format = "benchfmt"
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
	case "benchfmt":
		return FormatBenchfmt, nil
	}
	return "", fmt.Errorf("unknown format %q (want table, markdown, json or html; benchfmt for bench)", s)
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

// Document is what a command renders: SummaryDoc, CoverageDoc, DiffDoc,
// ProbeDoc, TablesDoc, TableDoc, SyscallsDoc, TableDiffDoc or Page.
type Document interface {
	// What names the document in errors ("kb list").
	What() string
}

// SummaryDoc is the summaries of one or more traces.
type SummaryDoc []SummaryInput

// RunNotes say what the runs behind a document did not prove, in every
// format: why they are incomplete (interrupted, timed out, qemu killed:
// then the document gives no verdict, never "nothing is lacking"), and
// what else a reader must know (events the tracer lost, the app's exit
// status).
type RunNotes struct {
	Incomplete string
	Warnings   []string
}

// CoverageDoc is per-app coverage and, with several apps, the plan.
type CoverageDoc struct {
	Apps []*analyze.AppCoverage
	Plan *analyze.Plan
	RunNotes
}

// DiffDoc is the comparison of a native and a unikernel run.
type DiffDoc struct {
	Diff *analyze.Diff
	RunNotes
}

// write writes the notes as lines on top of a document (table and Markdown
// differ only in emphasis).
func (n RunNotes) write(w io.Writer, md bool) {
	if n.Incomplete != "" {
		if md {
			fmt.Fprintf(w, "**incomplete: %s**\n\n", mdText(n.Incomplete))
		} else {
			fmt.Fprintf(w, "incomplete: %s\n", n.Incomplete)
		}
	}
	for _, x := range n.Warnings {
		if md {
			fmt.Fprintf(w, "> warning: %s\n\n", mdText(x))
		} else {
			fmt.Fprintf(w, "warning: %s\n", x)
		}
	}
	if !md && (n.Incomplete != "" || len(n.Warnings) > 0) {
		fmt.Fprintln(w)
	}
}

// json adds the notes to a JSON document.
func (n RunNotes) json(doc map[string]any) {
	if n.Incomplete != "" {
		doc["incomplete"] = n.Incomplete
	}
	if len(n.Warnings) > 0 {
		doc["warnings"] = n.Warnings
	}
}

// ProbeDoc is the verdicts of `syscov probe`.
type ProbeDoc struct{ Report *analyze.ProbeReport }

// TablesDoc lists support tables with their counts per level.
type TablesDoc struct{ Tables []*analyze.SupportTable }

// TableDoc is every syscall of one table and architecture, or those at
// one level.
type TableDoc struct {
	Table *analyze.SupportTable
	Arch  trace.Arch
	Only  analyze.Level
}

// SyscallsDoc is a few syscalls of a table in full: level, place, Kconfig,
// every implementation of the release and the uses rejected by argument.
type SyscallsDoc struct {
	Table *analyze.SupportTable
	Arch  trace.Arch
	Names []string
}

// TableDiffDoc is what changed between two support tables.
type TableDiffDoc struct {
	From, To *analyze.SupportTable
	Arch     trace.Arch
	Changes  []analyze.Change
}

func (SummaryDoc) What() string   { return "summary" }
func (CoverageDoc) What() string  { return "coverage" }
func (DiffDoc) What() string      { return "diff" }
func (ProbeDoc) What() string     { return "probe" }
func (TablesDoc) What() string    { return "kb list" }
func (TableDoc) What() string     { return "kb show" }
func (SyscallsDoc) What() string  { return "kb show" }
func (TableDiffDoc) What() string { return "kb diff" }
func (Page) What() string         { return "a report page" }
func (BenchDoc) What() string     { return "bench" }

// BenchDoc is what syscov bench measured.
type BenchDoc struct{ Report *analyze.BenchReport }

// Render writes doc in format f.
func Render(w io.Writer, f Format, doc Document) error {
	var err error
	switch f {
	case FormatTable:
		err = renderTableDoc(w, doc)
	case FormatMarkdown:
		err = renderMarkdown(w, doc)
	case FormatJSON:
		err = renderJSON(w, doc)
	case FormatHTML:
		err = renderHTML(w, doc)
	case FormatBenchfmt:
		err = renderBenchfmt(w, doc)
	default:
		return fmt.Errorf("unknown format %q", f)
	}
	if err == errUnsupported {
		return &FormatError{f, doc.What(), formatsOf(doc)}
	}
	return err
}

// Supports says, before any work, whether format f renders documents of
// doc's kind (a FormatError when it does not).
func Supports(f Format, doc Document) error {
	if isUnsupported(f, doc) {
		return &FormatError{f, doc.What(), formatsOf(doc)}
	}
	return nil
}

// errUnsupported is a format's answer for a document it does not render.
var errUnsupported = errors.New("unsupported")

// formatsOf says which formats render doc.
func formatsOf(doc Document) string {
	var have []string
	for _, f := range []Format{FormatTable, FormatMarkdown, FormatJSON, FormatHTML, FormatBenchfmt} {
		if !isUnsupported(f, doc) {
			have = append(have, string(f))
		}
	}
	switch len(have) {
	case 0:
		return "nothing"
	case 1:
		return have[0]
	}
	return strings.Join(have[:len(have)-1], ", ") + " or " + have[len(have)-1]
}

func isUnsupported(f Format, doc Document) bool {
	if _, bench := doc.(BenchDoc); f == FormatBenchfmt && !bench {
		return true
	}
	switch doc.(type) {
	case BenchDoc:
		return false
	case TablesDoc, TableDoc, SyscallsDoc, TableDiffDoc:
		return f == FormatHTML
	case Page:
		return f == FormatTable || f == FormatJSON
	case CatalogCompareDoc:
		return f == FormatHTML
	}
	return false
}

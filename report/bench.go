package report

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/syscov/syscov/analyze"
)

// The renderings of syscov bench: a table, Markdown, JSON (in json.go's
// dispatch) and Go's benchmark format, which only bench has.

func benchTable(w io.Writer, r *analyze.BenchReport) error {
	if r.Partial != "" {
		fmt.Fprintf(w, "incomplete: %s\n", r.Partial)
	}
	fmt.Fprintf(w, "%s: %d run(s), loads of %s s at %s clients\n", shellWords(r.Command), r.Runs, benchLoadSeconds(r), joinInts(r.Clients))
	rows := [][]string{}
	row := func(what, native, uni string) { rows = append(rows, []string{what, native, uni}) }
	size := func(n int64) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f MB", float64(n)/1e6)
	}
	uniSize := "-"
	if r.Unikernel != nil {
		uniSize = size(r.KernelBytes) + " kernel + " + size(r.InitrdBytes) + " initrd"
	}
	row("size", size(r.NativeBytes)+" (program and libraries)", uniSize)
	row("ready after (median)", msSummary(sideSample(r.Native, func(s *analyze.BenchSide) analyze.Sample { return s.ReadyMs })), msSummary(sideSample(r.Unikernel, func(s *analyze.BenchSide) analyze.Sample { return s.ReadyMs })))
	if u := r.Unikernel; u != nil && len(u.Runs) > 0 {
		var fo, fs analyze.Sample
		for _, run := range u.Runs {
			if run.FirstOutput > 0 {
				fo = append(fo, ms(run.FirstOutput))
			}
			if run.FirstSyscall > 0 {
				fs = append(fs, ms(run.FirstSyscall))
			}
		}
		row("first console output", "-", msSummary(fo))
		row("first syscall", "-", msSummary(fs))
	}
	peak, mem := "-", "-"
	if n := r.Native; n != nil {
		var rss analyze.Sample
		for _, run := range n.Runs {
			if run.PeakRSSKiB > 0 {
				rss = append(rss, float64(run.PeakRSSKiB)/1024)
			}
		}
		if len(rss) > 0 {
			peak = fmt.Sprintf("peak RSS %.1f MiB", rss.Median())
		}
	}
	if r.SmallestMemoryMiB > 0 {
		mem = fmt.Sprintf("smallest --memory that serves: %d MiB (to %d MiB)", r.SmallestMemoryMiB, r.MemoryPrecisionMiB)
	}
	row("memory", peak, mem)
	for _, c := range r.Clients {
		row(fmt.Sprintf("ops/s, %d clients", c), opsSummary(r.Native, c), opsSummary(r.Unikernel, c))
	}
	row("breaking point", breaking(r.Native), breaking(r.Unikernel))
	if err := renderTable(w, []string{"", "native", "unikernel"}, rows, nil, nil); err != nil {
		return err
	}
	for _, c := range r.Compare() {
		verdict := "no significant difference"
		if c.Significant {
			verdict = "a significant difference"
		}
		fmt.Fprintf(w, "%d clients: unikernel/native %.2f× (Mann-Whitney p=%.3f: %s; %d and %d runs)\n", c.Clients, c.Ratio, c.P, verdict, c.NativeRuns, c.UnikernelRuns)
	}
	for _, k := range sortedKeysAny(r.Env) {
		fmt.Fprintf(w, "environment %s: %v\n", k, r.Env[k])
	}
	if u := r.Unikernel; u != nil && len(u.BreakingConsole) > 0 {
		fmt.Fprintf(w, "unikernel at %d clients:\n", u.BreakingPoint)
		for _, line := range u.BreakingConsole {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	return nil
}

func benchMarkdown(w io.Writer, r *analyze.BenchReport) error {
	var b strings.Builder
	if err := benchTable(&b, r); err != nil {
		return err
	}
	fmt.Fprintf(w, "### syscov bench: %s\n\n```\n%s```\n", mdText(shellWords(r.Command)), strings.ReplaceAll(b.String(), "```", "\x27\x27\x27"))
	return nil
}

// renderBenchfmt writes every run's numbers in Go's benchmark format:
// benchstat compares native with unikernel from it.
func renderBenchfmt(w io.Writer, doc Document) error {
	d, ok := doc.(BenchDoc)
	if !ok {
		return errUnsupported
	}
	r := d.Report
	name := benchName(r.App)
	fmt.Fprintf(w, "goos: linux\npkg: syscov/bench\n")
	if cpu, ok := r.Env["cpu"]; ok {
		fmt.Fprintf(w, "cpu: %v\n", cpu)
	}
	for _, s := range []*analyze.BenchSide{r.Native, r.Unikernel} {
		if s == nil {
			continue
		}
		for _, run := range s.Runs {
			if run.Ready > 0 {
				fmt.Fprintf(w, "Benchmark%s/side=%s/boot 1 %d ready-ns\n", name, s.Name, int64(run.Ready))
			}
			for _, l := range run.Loads {
				fmt.Fprintf(w, "Benchmark%s/side=%s/clients=%d %d %.1f ops/s %d p50-ns %d p95-ns %d errors\n", name, s.Name, l.Clients, max(l.Ops, 1), l.OpsPerSec, int64(l.P50), int64(l.P95), l.Errors)
			}
		}
	}
	return nil
}

func benchName(app string) string {
	var b strings.Builder
	up := true
	for _, r := range app {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "App"
	}
	return b.String()
}

func benchLoadSeconds(r *analyze.BenchReport) string {
	for _, s := range []*analyze.BenchSide{r.Native, r.Unikernel} {
		if s != nil {
			for _, run := range s.Runs {
				if len(run.Loads) > 0 {
					return strconv.FormatFloat(run.Loads[0].Elapsed.Seconds(), 'f', 1, 64)
				}
			}
		}
	}
	return "?"
}

func sideSample(s *analyze.BenchSide, f func(*analyze.BenchSide) analyze.Sample) analyze.Sample {
	if s == nil {
		return nil
	}
	return f(s)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// medianText is a sample's median in format, with its 95 % interval
// (from 6 runs) in brackets; "-" for no sample.
func medianText(s analyze.Sample, format string) string {
	if len(s) == 0 {
		return "-"
	}
	out := fmt.Sprintf(format, s.Median())
	if lo, hi, ok := s.MedianCI(); ok {
		out += " [" + fmt.Sprintf(format, lo) + ", " + fmt.Sprintf(format, hi) + "]"
	}
	return out
}

func msSummary(s analyze.Sample) string { return medianText(s, "%.0f ms") }

func opsSummary(s *analyze.BenchSide, clients int) string {
	if s == nil {
		return "-"
	}
	return medianText(s.OpsPerSec[clients], "%.0f")
}

func breaking(s *analyze.BenchSide) string {
	if s == nil {
		return "-"
	}
	if s.BreakingPoint == 0 {
		return "none seen"
	}
	return fmt.Sprintf("%d clients: %s", s.BreakingPoint, cut(s.BreakingError, 60))
}

func joinInts(xs []int) string {
	var s []string
	for _, x := range xs {
		s = append(s, strconv.Itoa(x))
	}
	return strings.Join(s, ",")
}

func sortedKeysAny(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// shellWords writes a command as a shell would take it back.
func shellWords(argv []string) string {
	var out []string
	for _, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`;&|<>*?()[]{}") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}

// benchHTML is the bench page: the table, and two charts drawn as inline
// SVG (no script): the ready time of every run, and the median
// throughput by client count, native and unikernel side by side.
func benchHTML(w io.Writer, r *analyze.BenchReport) error {
	var table strings.Builder
	if err := benchTable(&table, r); err != nil {
		return err
	}
	type bar struct {
		Label string
		Value float64
		Text  string
		Side  string
	}
	var boot []bar
	for _, s := range []*analyze.BenchSide{r.Native, r.Unikernel} {
		if s == nil {
			continue
		}
		for i, run := range s.Runs {
			if run.Ready > 0 {
				boot = append(boot, bar{fmt.Sprintf("%s run %d", s.Name, i+1), ms(run.Ready), fmt.Sprintf("%.0f ms", ms(run.Ready)), s.Name})
			}
		}
	}
	var ops []bar
	for _, c := range r.Clients {
		for _, s := range []*analyze.BenchSide{r.Native, r.Unikernel} {
			if s == nil || len(s.OpsPerSec[c]) == 0 {
				continue
			}
			m := s.OpsPerSec[c].Median()
			ops = append(ops, bar{fmt.Sprintf("%s, %d clients", s.Name, c), m, fmt.Sprintf("%.0f ops/s", m), s.Name})
		}
	}
	chart := func(title string, bars []bar) string {
		if len(bars) == 0 {
			return ""
		}
		maxV := 0.0
		for _, b := range bars {
			maxV = max(maxV, b.Value)
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "<h2>%s</h2>\n<svg role=\"img\" aria-label=\"%s\" width=\"760\" height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">\n", htmlEscape(title), htmlEscape(title), 22*len(bars)+4)
		for i, b := range bars {
			width := 0.0
			if maxV > 0 {
				width = 420 * b.Value / maxV
			}
			color := "#4c78a8"
			if b.Side == "unikernel" {
				color = "#f58518"
			}
			y := 22*i + 2
			fmt.Fprintf(&sb, "<text x=\"0\" y=\"%d\" font-size=\"12\">%s</text><rect x=\"200\" y=\"%d\" width=\"%.1f\" height=\"16\" fill=\"%s\"/><text x=\"%.1f\" y=\"%d\" font-size=\"12\">%s</text>\n",
				y+13, htmlEscape(b.Label), y, width, color, 206+width, y+13, htmlEscape(b.Text))
		}
		sb.WriteString("</svg>\n")
		return sb.String()
	}
	fmt.Fprintf(w, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>syscov bench: %s</title></head>\n<body style=\"font-family:sans-serif\">\n<h1>syscov bench: %s</h1>\n<pre>%s</pre>\n%s%s</body></html>\n",
		htmlEscape(shellWords(r.Command)), htmlEscape(shellWords(r.Command)), htmlEscape(table.String()),
		chart("Ready after, per run", boot), chart("Throughput by clients (median)", ops))
	return nil
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}

package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/syscov/syscov/analyze"
)

// DiffSchema names the version of the diff JSON document.
const DiffSchema = "syscov.diff/v1"

// Diff renders the comparison of a native and a unikernel run.
func Diff(w io.Writer, f Format, d *analyze.Diff) error {
	switch f {
	case FormatHTML:
		return HTML(w, Page{Title: "syscov diff", Verdict: Verdict(d), Diff: d})
	case FormatJSON:
		return writeJSON(w, diffJSON(d))
	case FormatMarkdown:
		return diffMarkdown(w, d)
	}
	return diffText(w, d)
}

// Verdict is the one-line summary of a diff: what blocks the app, what
// it survives, and the file gaps of the image.
func Verdict(d *analyze.Diff) string {
	byImpact := map[analyze.Impact][]analyze.Verdict{}
	for _, list := range [][]analyze.Verdict{d.Missing, d.NotSupported} {
		for _, v := range list {
			byImpact[v.Impact] = append(byImpact[v.Impact], v)
		}
	}
	var parts []string
	if n := len(byImpact[analyze.Blocks]); n > 0 {
		parts = append(parts, fmt.Sprintf("%d blocking (%s)", n, verdictNames(byImpact[analyze.Blocks])))
	}
	if n := len(byImpact[analyze.Degrades]); n > 0 {
		parts = append(parts, fmt.Sprintf("%d with a fallback (%s)", n, verdictNames(byImpact[analyze.Degrades])))
	}
	if n := len(byImpact[analyze.Noise]); n > 0 {
		parts = append(parts, fmt.Sprintf("%d noise (%s)", n, verdictNames(byImpact[analyze.Noise])))
	}
	if n := len(d.Failed); n > 0 {
		parts = append(parts, fmt.Sprintf("%d failing where native succeeded (%s)", n, verdictNames(d.Failed)))
	}
	if n := len(d.FileGaps); n > 0 {
		parts = append(parts, fmt.Sprintf("%d files the image lacks", n))
	}
	switch {
	case d.Lacks(false):
		return "the unikernel lacks syscalls the app needs: " + strings.Join(parts, "; ")
	case len(parts) == 0:
		return fmt.Sprintf("the unikernel ran every syscall the native run made that it reached (%d aligned)", d.Equal)
	}
	return "nothing the app needs is lacking: " + strings.Join(parts, "; ")
}

// verdictNames lists every name: a verdict line is never cut.
func verdictNames(vs []analyze.Verdict) string {
	var names []string
	for _, v := range vs {
		names = append(names, v.Name)
	}
	return strings.Join(names, ", ")
}

func eventLine(e analyze.DiffEvent) string {
	args := e.Args
	if len(args) > 60 {
		args = args[:59] + "…"
	}
	return fmt.Sprintf("%s(%s) = %s", e.Name, args, e.Ret)
}

func diffText(w io.Writer, d *analyze.Diff) error {
	fmt.Fprintf(w, "%s\n", VerdictColor(d.Lacks(false), Verdict(d)))
	fmt.Fprintf(w, "native:    %s, %d syscalls aligned\n", d.NativeSource, d.NativeLen)
	fmt.Fprintf(w, "unikernel: %s, %d syscalls aligned", d.UnikernelSource, d.UnikernelLen)
	if d.Unikraft != "" {
		fmt.Fprintf(w, ", Unikraft %s", d.Unikraft)
	}
	fmt.Fprintf(w, "\nalignment: %d equal, %d native only, %d unikernel only\n", d.Equal, d.NativeOnly, d.UniOnly)
	fmt.Fprintf(w, "the unikernel run ended: %s%s\n", d.Ended, detailSuffix(d.EndDetail))
	for _, group := range []struct {
		title string
		list  []analyze.Verdict
	}{{"missing (ENOSYS / not available)", d.Missing}, {"not supported (EOPNOTSUPP, EAFNOSUPPORT, ...)", d.NotSupported}, {"failed where the native call succeeded", d.Failed}} {
		if len(group.list) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", group.title)
		var rows [][]string
		for _, v := range group.list {
			rows = append(rows, []string{v.Name, cut(v.Class, 22), strconv.Itoa(v.NativeCalls), cut(outcome(v), 16), string(v.Impact), cut(firstSite(v), 24)})
		}
		if err := renderTable(w, []string{"syscall", "class", "native", "unikernel", "impact", "native call site"}, rows, nil, []bool{false, false, true, false, false, false}); err != nil {
			return err
		}
		for _, v := range group.list {
			if v.Impact != "" && v.Impact != analyze.Blocks {
				fmt.Fprintf(w, "  %s %s: %s\n", v.Name, v.Impact, v.ImpactWhy)
			}
		}
	}
	if len(d.FileGaps) > 0 {
		fmt.Fprintf(w, "\nfiles the app needs that the image lacks (not syscall gaps):\n")
		var rows [][]string
		for _, g := range d.FileGaps {
			rows = append(rows, []string{cut(g.Path, 50), gapKind(g), g.NativeCall, strconv.Itoa(g.Calls) + "× " + g.Errno})
		}
		if err := renderTable(w, []string{"path", "what lacks it", "found natively by", "unikernel"}, rows, nil, []bool{false, false, false, false}); err != nil {
			return err
		}
	}
	if dv := d.First; dv != nil {
		fmt.Fprintf(w, "\nfirst divergence: native #%d, unikernel #%d\n", dv.NativeAt, dv.UnikernelAt)
		printSide(w, "native", dv.Native, dv.NativeMark)
		printSide(w, "unikernel", dv.Unikernel, dv.UnikernelMark)
	}
	if d.NeverReachedCalls > 0 {
		fmt.Fprintf(w, "\nnative calls the unikernel never reached: %d (%s)\n", d.NeverReachedCalls, countsList(d.NeverReached, 5))
	}
	for _, c := range d.ForkChildren {
		fmt.Fprintf(w, "native fork child pid %d: %d syscalls%s (the unikernel has one address space)\n", c.PID, c.Calls, forkedSuffix(c.ForkPos))
	}
	if len(d.Ignored) > 0 {
		fmt.Fprintf(w, "set aside before aligning (start-up noise, vDSO): %s\n", countsList(d.Ignored, 6))
	}
	return nil
}

func forkedSuffix(pos string) string {
	if pos == "" {
		return ""
	}
	return ", forked at " + pos
}

func detailSuffix(d string) string {
	if d == "" {
		return ""
	}
	return " (" + d + ")"
}

func outcome(v analyze.Verdict) string {
	s := strconv.Itoa(v.UnikernelCalls) + "× " + v.Errno
	if v.Errno == "" {
		s = strconv.Itoa(v.UnikernelCalls) + "× not available"
	}
	return s
}

func firstSite(v analyze.Verdict) string {
	if len(v.NativeSites) == 0 {
		return ""
	}
	return v.NativeSites[0]
}

func countsList(list []analyze.NameCount, n int) string {
	var parts []string
	for i, c := range list {
		if i == n {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%s×%d", c.Name, c.Count))
	}
	return strings.Join(parts, " ")
}

func printSide(w io.Writer, side string, evs []analyze.DiffEvent, mark int) {
	fmt.Fprintf(w, "  %s:\n", side)
	for i, e := range evs {
		prefix := "    "
		if i == mark {
			prefix = "  > "
		}
		fmt.Fprintf(w, "%s%s\n", prefix, eventLine(e))
	}
	if mark < 0 {
		fmt.Fprintf(w, "  > (the %s run has no more syscalls)\n", side)
	}
}

func diffMarkdown(w io.Writer, d *analyze.Diff) error {
	fmt.Fprintf(w, "**%s**\n\n", mdText(Verdict(d)))
	return diffMarkdownBody(w, d)
}

// diffMarkdownBody is the diff in Markdown after its verdict line.
func diffMarkdownBody(w io.Writer, d *analyze.Diff) error {
	fmt.Fprintf(w, "- native: `%s`, %d syscalls aligned\n- unikernel: `%s`, %d syscalls", mdCode(d.NativeSource), d.NativeLen, mdCode(d.UnikernelSource), d.UnikernelLen)
	if d.Unikraft != "" {
		fmt.Fprintf(w, ", Unikraft %s", mdCell(d.Unikraft))
	}
	fmt.Fprintf(w, "\n- the unikernel run ended: %s%s\n\n", mdCell(d.Ended), mdCell(detailSuffix(d.EndDetail)))
	all := append(append(append([]analyze.Verdict(nil), d.Missing...), d.NotSupported...), d.Failed...)
	if len(all) > 0 {
		fmt.Fprintln(w, "| syscall | nr | verdict | impact | to close | class | native calls | unikernel | top native call site |")
		fmt.Fprintln(w, "|---|--:|---|---|---|---|--:|---|---|")
		for _, v := range all {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %d | %s | %s |\n", mdCell(v.Name), nr(v.Nr), v.Kind, v.Impact, mdCell(v.Closure), mdCell(v.Class), v.NativeCalls, mdCell(outcome(v)), mdCell(firstSite(v)))
		}
		fmt.Fprintln(w)
		for _, v := range all {
			if v.Impact == analyze.Degrades || v.Impact == analyze.Noise {
				fmt.Fprintf(w, "- `%s` %s: %s\n", mdCode(v.Name), v.Impact, mdText(v.ImpactWhy))
			}
		}
		fmt.Fprintln(w)
	}
	if len(d.FileGaps) > 0 {
		fmt.Fprintf(w, "**Files the app needs that the image lacks** (not syscall gaps):\n\n| path | what lacks it | found natively by | unikernel |\n|---|---|---|---|\n")
		for _, g := range d.FileGaps {
			fmt.Fprintf(w, "| `%s` | %s | %s | %d× %s |\n", mdCodeCell(g.Path), gapKind(g), mdCell(g.NativeCall), g.Calls, g.Errno)
		}
		fmt.Fprintln(w)
	}
	if dv := d.First; dv != nil {
		fmt.Fprintf(w, "<details><summary>First divergence (native #%d, unikernel #%d)</summary>\n\n```\n", dv.NativeAt, dv.UnikernelAt)
		var b strings.Builder
		printSide(&b, "native", dv.Native, dv.NativeMark)
		printSide(&b, "unikernel", dv.Unikernel, dv.UnikernelMark)
		fmt.Fprint(w, strings.ReplaceAll(b.String(), "```", "'''"))
		fmt.Fprint(w, "```\n\n</details>\n")
	}
	return nil
}

type jsonVerdict struct {
	Kind           string   `json:"kind"`
	Name           string   `json:"name"`
	Nr             int      `json:"nr"`
	Class          string   `json:"class"`
	Errno          string   `json:"errno,omitempty"`
	UnikernelCalls int      `json:"unikernel_calls"`
	NativeCalls    int      `json:"native_calls"`
	NativeSites    []string `json:"native_sites"`
	FirstUnikernel string   `json:"first_unikernel"`
	Note           string   `json:"note,omitempty"`
	Impact         string   `json:"impact,omitempty"`
	ImpactWhy      string   `json:"impact_why,omitempty"`
	Closure        string   `json:"to_close,omitempty"`
}

type jsonDiffEvent struct {
	Name  string `json:"name"`
	Args  string `json:"args"`
	Ret   string `json:"ret"`
	Errno string `json:"errno,omitempty"`
	PID   int    `json:"pid"`
	Pos   string `json:"pos"`
}

func diffJSON(d *analyze.Diff) map[string]any {
	verdicts := func(list []analyze.Verdict) []jsonVerdict {
		out := []jsonVerdict{}
		for _, v := range list {
			sites := v.NativeSites
			if sites == nil {
				sites = []string{}
			}
			out = append(out, jsonVerdict{string(v.Kind), v.Name, v.Nr, v.Class, v.Errno, v.UnikernelCalls, v.NativeCalls, sites, v.FirstUnikernel.String(), v.Note, string(v.Impact), v.ImpactWhy, v.Closure})
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
		"set_aside":        counts(d.SetAside),
		"runtimes":         nonNil(d.Runtimes),
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

// gapKind says where a missing file would come from.
func gapKind(g analyze.FileGap) string {
	if g.Kernel {
		return "the kernel (proc/sys/dev)"
	}
	return "the root filesystem"
}

func fileGapsJSON(gaps []analyze.FileGap) []map[string]any {
	out := []map[string]any{}
	for _, g := range gaps {
		out = append(out, map[string]any{"path": g.Path, "kernel": g.Kernel, "native_call": g.NativeCall, "errno": g.Errno, "calls": g.Calls, "first_unikernel": g.FirstUnikernel.String()})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

package report

import (
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"

	"github.com/syscov/syscov/analyze"
)

// Page is what an HTML report shows; every part is optional.
type Page struct {
	Title     string
	Env       []KV // syscov version, host kernel, Unikraft version, commands
	Verdict   string
	Diff      *analyze.Diff
	Apps      []*analyze.AppCoverage
	Plan      *analyze.Plan
	Summary   []SummaryInput
	Probe     *analyze.ProbeReport
	Generated string
	RunNotes
}

// KV is one line of the environment block.
type KV struct{ Key, Value string }

// Lacks reports whether the page's verdict is that something blocks an
// app: a diff that lacks, or a coverage with blocking uses.
func (p Page) Lacks() bool {
	if p.Incomplete != "" {
		return false
	}
	if p.Diff != nil && p.Diff.Lacks(false) {
		return true
	}
	for _, a := range p.Apps {
		if len(a.Blocking) > 0 {
			return true
		}
	}
	return false
}

// Headline is the page's verdict: the one given, or, for coverage alone,
// what blocks the apps.
func (p Page) Headline() string {
	if p.Incomplete != "" {
		return "incomplete: " + p.Incomplete
	}
	warn := ""
	for _, a := range p.Apps {
		if a.TableWarning != "" {
			warn = " — WARNING: " + a.TableWarning
			break
		}
	}
	if p.Verdict != "" || len(p.Apps) == 0 {
		return p.Verdict + warn
	}
	var parts []string
	for _, a := range p.Apps {
		switch n := len(a.Blocking); {
		case n == 0:
			parts = append(parts, fmt.Sprintf("%s: nothing it needs is lacking", a.App))
		default:
			var keys []string
			for _, u := range a.Blocking {
				keys = append(keys, u.Key)
			}
			parts = append(parts, fmt.Sprintf("%s: %d blocking (%s)", a.App, n, strings.Join(keys, ", ")))
		}
	}
	return strings.Join(parts, "; ") + warn
}

// lacking is one app's missing uses, blocking first, for the page.
func lacking(a *analyze.AppCoverage) []*analyze.UsedSyscall {
	return append(append([]*analyze.UsedSyscall(nil), a.Blocking...), a.Tolerated...)
}

// levelNames lists an app's uses at a level (stubbed, partial).
func levelNames(a *analyze.AppCoverage, level string) string {
	var names []string
	for _, u := range a.Used {
		if string(u.Level) == level {
			names = append(names, u.Key)
		}
	}
	return strings.Join(names, ", ")
}

// HTML writes one self-contained page: no script, no style or font
// fetched from anywhere, charts as inline SVG. Text from the traced app is
// escaped by html/template.
func htmlPage(w io.Writer, p Page) error {
	return pageTemplate.Execute(w, p)
}

// bar is one bar of a chart.
type bar struct {
	Label  string
	Parts  []barPart
	Total  int
	Suffix string
}

type barPart struct {
	X, W  float64
	Class string
	Title string
}

const chartWidth = 560.0

// levelBars: per app, its calls by the level of their use: the bar's
// parts are what its label says (the share of calls supported).
func levelBars(apps []*analyze.AppCoverage) []bar {
	var out []bar
	for _, a := range apps {
		calls := map[analyze.Level]int{}
		for _, u := range a.Used {
			calls[u.Level] += u.Calls
		}
		total := a.Calls
		b := bar{Label: a.App, Total: total, Suffix: analyze.Percent(a.Weighted()) + " % of calls supported"}
		x := 0.0
		for _, p := range []struct {
			n     int
			class string
		}{{calls[analyze.Implemented], "implemented"}, {calls[analyze.Stubbed], "stubbed"}, {calls[analyze.Partial], "partial"}, {calls[analyze.Missing], "missing"}} {
			if p.n == 0 || total == 0 {
				continue
			}
			w := chartWidth * float64(p.n) / float64(total)
			b.Parts = append(b.Parts, barPart{x, w, p.class, fmt.Sprintf("%d calls %s", p.n, p.class)})
			x += w
		}
		out = append(out, b)
	}
	return out
}

// frequencyBars: the most called syscalls of an app, by level.
func frequencyBars(a *analyze.AppCoverage, n int) []bar {
	used := append([]*analyze.UsedSyscall(nil), a.Used...)
	sort.SliceStable(used, func(i, j int) bool { return used[i].Calls > used[j].Calls })
	if len(used) > n {
		used = used[:n]
	}
	maxCalls := 1
	if len(used) > 0 {
		maxCalls = used[0].Calls
	}
	var out []bar
	for _, u := range used {
		w := chartWidth * float64(u.Calls) / float64(maxCalls)
		out = append(out, bar{Label: u.Key, Total: u.Calls, Parts: []barPart{{0, w, string(u.Level), fmt.Sprintf("%d calls, %s", u.Calls, u.Level)}}})
	}
	return out
}

// impactBars: the missing uses across apps, by apps blocked then calls.
func impactBars(apps []*analyze.AppCoverage, plan *analyze.Plan) []bar {
	type imp struct {
		key         string
		apps, calls int
	}
	var list []imp
	multi := plan != nil && plan.Apps > 1
	if multi {
		for _, b := range plan.Blockers {
			list = append(list, imp{b.Key, len(b.Apps), b.Calls})
		}
	} else if len(apps) > 0 {
		for _, u := range apps[0].Blocking {
			list = append(list, imp{u.Key, 1, u.Calls})
		}
	}
	if len(list) > 15 {
		list = list[:15]
	}
	// Across apps the bars are sorted and sized by the apps blocked; for
	// one app, by calls: sizes always say what the order says.
	size := func(l imp) int {
		if multi {
			return l.apps
		}
		return l.calls
	}
	maxSize := 1
	for _, l := range list {
		maxSize = max(maxSize, size(l))
	}
	var out []bar
	for _, l := range list {
		w := chartWidth * float64(size(l)) / float64(maxSize)
		suffix := fmt.Sprintf("%d calls", l.calls)
		if multi {
			suffix = fmt.Sprintf("blocks %d app(s), %d calls", l.apps, l.calls)
		}
		out = append(out, bar{Label: l.key, Total: size(l), Suffix: suffix,
			Parts: []barPart{{0, w, "missing", suffix}}})
	}
	return out
}

// summaryBars: the most called syscalls of a summary.
func summaryBars(s *analyze.Summary, n int) []bar {
	rows := append([]*analyze.SyscallStat(nil), s.Syscalls...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Calls > rows[j].Calls })
	if len(rows) > n {
		rows = rows[:n]
	}
	maxCalls := 1
	for _, r := range rows {
		maxCalls = max(maxCalls, r.Calls)
	}
	var out []bar
	for _, r := range rows {
		w := chartWidth * float64(r.Calls) / float64(maxCalls)
		class := "implemented"
		if r.Errors > 0 {
			class = "partial"
		}
		out = append(out, bar{Label: r.Name, Total: r.Calls, Suffix: fmt.Sprintf("%d calls, %d errors", r.Calls, r.Errors),
			Parts: []barPart{{0, w, class, fmt.Sprintf("%d calls, %d errors", r.Calls, r.Errors)}}})
	}
	return out
}

// timelineCols: the alignment as stacked columns.
type col struct {
	X, W                  float64
	EqualH, NativeH, UniH float64
	EqualY, NativeY, UniY float64
	Title                 string
}

func timelineCols(d *analyze.Diff) []col {
	if d == nil || len(d.Timeline) == 0 {
		return nil
	}
	const h = 80.0
	w := chartWidth / float64(len(d.Timeline))
	var out []col
	for i, b := range d.Timeline {
		total := b[0] + b[1] + b[2]
		if total == 0 {
			continue
		}
		c := col{X: float64(i) * w, W: w}
		c.EqualH = h * float64(b[0]) / float64(total)
		c.NativeH = h * float64(b[1]) / float64(total)
		c.UniH = h * float64(b[2]) / float64(total)
		c.EqualY = h - c.EqualH
		c.NativeY = c.EqualY - c.NativeH
		c.UniY = c.NativeY - c.UniH
		c.Title = fmt.Sprintf("%d equal, %d native only, %d unikernel only", b[0], b[1], b[2])
		out = append(out, c)
	}
	return out
}

func gaps(d *analyze.Diff) []analyze.Gap {
	if d == nil {
		return nil
	}
	return append(append(append([]analyze.Gap(nil), d.Missing...), d.NotSupported...), d.Failed...)
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"levelBars":     levelBars,
	"frequencyBars": frequencyBars,
	"summaryBars":   summaryBars,
	"lacking":       lacking,
	"levelNames":    levelNames,
	"impactBars":    impactBars,
	"timelineCols":  timelineCols,
	"gaps":          gaps,
	"crashLines":    crashLines,
	"pct":           func(f float64) string { return fmt.Sprintf("%.1f", 100*f) },
	"mul":           func(a, b float64) float64 { return a * b },
	"add":           func(a, b float64) float64 { return a + b },
	"inc":           func(i int) int { return i + 1 },
	"svgHeight":     func(n int) int { return 26*n + 10 },
	"barY":          func(i int) int { return 26*i + 5 },
	"labelY":        func(i int) int { return 26*i + 21 },
	"event":         func(e analyze.DiffEvent) string { return eventLine(e) },
	"join":          strings.Join,
	"eq":            func(a, b any) bool { return a == b },
	"chartW":        func() float64 { return chartWidth },
	"nr":            nr,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #1b1f24; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #d0d7de; }
.verdict { font-size: 1.1em; padding: .6em .9em; border-radius: 6px; background: #fff1e5; border: 1px solid #f0b37e; }
.verdict.ok { background: #e6ffec; border-color: #7ee2a0; }
.verdict.incomplete { background: #eaeef2; border-color: #afb8c1; }
.warning { color: #9a6700; }
table { border-collapse: collapse; margin: .6em 0; }
td, th { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.blocks td:nth-child(2) { color: #cf222e; font-weight: 600; } tr.degrades td:nth-child(2) { color: #9a6700; } tr.noise td:nth-child(2) { color: #57606a; }
dl.env { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; }
dl.env dt { font-weight: 600; } dl.env dd { margin: 0; font-family: ui-monospace, monospace; }
pre { background: #f6f8fa; padding: .7em; overflow-x: auto; }
svg text { font: 12px system-ui, sans-serif; fill: #1b1f24; }
.implemented { fill: #2da44e; } .stubbed { fill: #bf8700; } .partial { fill: #fb8f44; } .missing { fill: #cf222e; }
.equal { fill: #afb8c1; } .native { fill: #fb8f44; } .uni { fill: #0969da; }
.legend span { display: inline-block; margin-right: 1em; } .legend i { display: inline-block; width: .9em; height: .9em; margin-right: .3em; vertical-align: -1px; }
figure { margin: 1em 0; } figcaption { color: #57606a; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{with .Headline}}<p class="verdict{{if $.Incomplete}} incomplete{{else if not $.Lacks}} ok{{end}}" id="verdict">{{.}}</p>{{end}}
{{range .Warnings}}<p class="warning">warning: {{.}}</p>{{end}}
{{if .Env}}<dl class="env" id="env">{{range .Env}}<dt>{{.Key}}</dt><dd>{{.Value}}</dd>{{end}}</dl>{{end}}

{{if .Apps}}
<h2 id="coverage">Coverage</h2>
<figure>
<svg id="coverage-chart" width="{{chartW | add 380}}" height="{{svgHeight (len .Apps)}}" role="img" aria-label="coverage per app">
{{range $i, $b := levelBars .Apps}}<text x="0" y="{{labelY $i}}">{{$b.Label}}</text>
<g transform="translate(150,0)">{{range $b.Parts}}<rect x="{{.X}}" y="{{barY $i}}" width="{{.W}}" height="20" class="{{.Class}}"><title>{{.Title}}</title></rect>{{end}}</g>
<text x="{{chartW | add 160}}" y="{{labelY $i}}">{{$b.Suffix}}</text>
{{end}}</svg>
<figcaption class="legend">calls per app, by the support of their use: <span><i class="implemented" style="background:#2da44e"></i>implemented</span><span><i style="background:#bf8700"></i>stubbed</span><span><i style="background:#fb8f44"></i>partial</span><span><i style="background:#cf222e"></i>missing</span></figcaption>
</figure>
<table id="coverage-table"><tr><th>app</th><th>table</th><th>distinct</th><th>implemented</th><th>stubbed</th><th>partial</th><th>missing</th><th>calls supported</th></tr>
{{range .Apps}}<tr><td>{{.App}}</td><td>{{.Table}}{{if .TableWhy}}<br><small>Table: {{.TableWhy}}</small>{{end}}{{if .TableWarning}}<br><strong>WARNING: {{.TableWarning}}</strong>{{end}}</td><td class="n">{{.Distinct}}</td><td class="n">{{.Implemented}}</td><td class="n">{{.Stubbed}}</td><td class="n">{{.Partial}}</td><td class="n">{{.Missing}}</td><td class="n">{{pct .Weighted}} %</td></tr>
{{end}}</table>

<h2 id="lacking">What the unikernel lacks</h2>
{{with .Diff}}{{with .Crash}}<p id="lacking-crash" class="blocks">First, the run crashed: {{.Headline}}{{with .Feature}}. CPU feature: {{.Summary}}{{end}} (<a href="#crash">explained below</a>).</p>{{end}}{{end}}
{{range .Apps}}{{$l := lacking .}}<h3>{{.App}}</h3>
{{if $l}}<table class="lacking-table"><tr><th>syscall</th><th>impact</th><th>calls</th><th>to close</th><th>class</th><th>first call site</th><th>unikernel</th><th>why</th></tr>
{{range $l}}<tr class="{{.Impact}}"><td>{{.Key}}</td><td>{{.Impact}}{{if .Evidence}} [{{.Evidence}}]{{end}}</td><td class="n">{{.Calls}}</td><td>{{.Closure}}</td><td>{{.Class}}</td><td>{{.SiteString}}</td><td>{{.UnikernelSeen}}</td><td>{{.ImpactWhy}}</td></tr>
{{end}}</table>{{else}}<p>Nothing missing.</p>{{end}}
{{with levelNames . "stubbed"}}<p>Stubbed (present, pretends or does nothing): {{.}}.</p>{{end}}
{{with levelNames . "partial"}}<p>Partial (present, rejects some uses): {{.}}.</p>{{end}}
{{end}}

<h2 id="impact">Blocking syscalls</h2>
{{$imp := impactBars .Apps .Plan}}
{{if $imp}}<figure><svg id="impact-chart" width="{{chartW | add 360}}" height="{{svgHeight (len $imp)}}" role="img" aria-label="missing syscalls by impact">
{{range $i, $b := $imp}}<text x="0" y="{{labelY $i}}">{{$b.Label}}</text>
<g transform="translate(150,0)">{{range $b.Parts}}<rect x="{{.X}}" y="{{barY $i}}" width="{{.W}}" height="20" class="{{.Class}}"><title>{{.Title}}</title></rect>{{end}}</g>
<text x="{{chartW | add 160}}" y="{{labelY $i}}">{{$b.Total}} calls, {{$b.Suffix}}</text>
{{end}}</svg><figcaption>{{if and .Plan (gt .Plan.Apps 1)}}apps each blocking syscall keeps from running{{else}}native calls of each blocking syscall{{end}}</figcaption></figure>
{{else}}<p>Nothing blocks.</p>{{end}}

{{range $n, $a := .Apps}}<h2{{if eq $n 0}} id="frequency"{{end}}>Syscall frequency of {{$a.App}}</h2>
{{$freq := frequencyBars $a 20}}
<figure><svg {{if eq $n 0}}id="frequency-chart" {{end}}class="frequency-chart" width="{{chartW | add 260}}" height="{{svgHeight (len $freq)}}" role="img" aria-label="syscall frequency of {{$a.App}}">
{{range $i, $b := $freq}}<text x="0" y="{{labelY $i}}">{{$b.Label}}</text>
<g transform="translate(150,0)">{{range $b.Parts}}<rect x="{{.X}}" y="{{barY $i}}" width="{{.W}}" height="20" class="{{.Class}}"><title>{{.Title}}</title></rect>{{end}}</g>
<text x="{{chartW | add 160}}" y="{{labelY $i}}">{{$b.Total}}</text>
{{end}}</svg><figcaption>the 20 most called syscalls, coloured by support</figcaption></figure>
{{end}}

{{if and .Plan (gt .Plan.Apps 1)}}
<h2 id="plan">Plan across {{.Plan.Apps}} apps</h2>
<p>{{.Plan.CoveredNow}} fully covered now; the top 5 steps cover {{index .Plan.AfterTop 5}}, the top 10 {{index .Plan.AfterTop 10}}.</p>
<table id="plan-table"><tr><th>step</th><th>support</th><th>how</th><th>newly covered</th><th>covered</th></tr>
{{range $i, $s := .Plan.Steps}}<tr><td class="n">{{inc $i}}</td><td>{{$s.Implement}}</td><td>{{if $s.Closure}}{{$s.Closure}}{{else}}implement{{end}}</td><td>{{join $s.NewlyCovered ", "}}</td><td class="n">{{$s.Covered}}</td></tr>
{{end}}</table>
{{end}}
{{end}}

{{with .Diff}}
<h2 id="diff">Native run against the unikernel run</h2>
<p>{{.NativeLen}} native and {{.UnikernelLen}} unikernel syscalls aligned: {{.Equal}} equal, {{.NativeOnly}} native only, {{.UniOnly}} unikernel only. The unikernel run ended: {{.Ended}}{{if .EndDetail}} ({{.EndDetail}}){{end}}.</p>
{{with .Crash}}<h3 id="crash">The unikernel crashed: what it lacks first</h3>
<pre id="crash-explained">{{range crashLines .}}{{.}}
{{end}}</pre>{{end}}
<figure><svg id="timeline-chart" width="{{chartW}}" height="84" role="img" aria-label="divergence timeline">
{{range timelineCols .}}<g><title>{{.Title}}</title><rect x="{{.X}}" y="{{.EqualY}}" width="{{.W}}" height="{{.EqualH}}" class="equal"/><rect x="{{.X}}" y="{{.NativeY}}" width="{{.W}}" height="{{.NativeH}}" class="native"/><rect x="{{.X}}" y="{{.UniY}}" width="{{.W}}" height="{{.UniH}}" class="uni"/></g>
{{end}}</svg>
<figcaption class="legend">divergence timeline, along the alignment: <span><i style="background:#afb8c1"></i>equal</span><span><i style="background:#fb8f44"></i>native only</span><span><i style="background:#0969da"></i>unikernel only</span></figcaption></figure>
{{$v := gaps .}}
{{if $v}}<table id="verdict-table"><tr><th>syscall</th><th>nr</th><th>verdict</th><th>impact</th><th>to close</th><th>class</th><th>native calls</th><th>unikernel</th><th>top native call site</th></tr>
{{range $v}}<tr><td>{{.Name}}</td><td class="n">{{nr .Nr}}</td><td>{{.Kind}}</td><td title="{{.ImpactWhy}}">{{.Impact}}{{if .Evidence}} [{{.Evidence}}]{{end}}</td><td>{{.Closure}}</td><td>{{.Class}}</td><td class="n">{{.NativeCalls}}</td><td>{{.UnikernelCalls}}× {{.Errno}}</td><td>{{if .NativeSites}}{{index .NativeSites 0}}{{end}}</td></tr>
{{end}}</table>{{end}}
{{with .FileGaps}}<h3>Files the app needs that the image lacks</h3>
<table id="file-gaps"><tr><th>path</th><th>what lacks it</th><th>found natively by</th><th>unikernel</th></tr>
{{range .}}<tr><td>{{.Path}}</td><td>{{if .Kernel}}the kernel (proc/sys/dev){{else}}the root filesystem{{end}}</td><td>{{.NativeCall}}</td><td>{{.Calls}}× {{.Errno}}</td></tr>
{{end}}</table>{{end}}
{{with .First}}{{$f := .}}<h3>First divergence</h3>
<pre id="first-divergence">native (#{{.NativeAt}}):
{{range $i, $e := .Native}}{{if eq $i $f.NativeMark}}&gt; {{else}}  {{end}}{{event $e}}
{{end}}
unikernel (#{{.UnikernelAt}}):
{{range $i, $e := .Unikernel}}{{if eq $i $f.UnikernelMark}}&gt; {{else}}  {{end}}{{event $e}}
{{end}}</pre>{{end}}
{{end}}

{{with .Probe}}<h2 id="probe">What {{.App}} needs for real (syscov probe)</h2>
<table id="probe-table"><tr><th>syscall</th><th>calls</th><th>stubbed (ENOSYS)</th><th>faked (0)</th><th>verdict</th></tr>
{{range .Results}}<tr><td>{{.Name}}</td><td class="n">{{.Calls}}</td><td>{{.StubOK}}/{{.StubRuns}} ok {{.StubReason}}</td><td>{{.FakeOK}}/{{.FakeRuns}} ok {{.FakeReason}}</td><td>{{.Verdict}}{{if .Flaky}} (flaky){{end}}</td></tr>
{{end}}</table>
{{range .Combos}}<p>All {{len .Names}} syscalls that work {{if eq .Kind "stub"}}stubbed{{else}}faked{{end}}, changed together: {{if .OK}}the app still works{{else}}the app fails ({{.Reason}}){{end}}.</p>
{{end}}{{end}}

{{if .Summary}}<h2 id="summary">Syscall summary</h2>
{{range .Summary}}{{$sb := summaryBars .Summary 20}}
<figure><svg class="summary-chart" width="{{chartW | add 320}}" height="{{svgHeight (len $sb)}}" role="img" aria-label="syscall frequency">
{{range $i, $b := $sb}}<text x="0" y="{{labelY $i}}">{{$b.Label}}</text>
<g transform="translate(150,0)">{{range $b.Parts}}<rect x="{{.X}}" y="{{barY $i}}" width="{{.W}}" height="20" class="{{.Class}}"><title>{{.Title}}</title></rect>{{end}}</g>
<text x="{{chartW | add 160}}" y="{{labelY $i}}">{{$b.Suffix}}</text>
{{end}}</svg><figcaption>{{.Summary.Source}}: the 20 most called syscalls (orange: some failed)</figcaption></figure>
<table><tr><th>syscall</th><th>calls</th><th>errors</th></tr>
{{range .Summary.Syscalls}}<tr><td>{{.Name}}</td><td class="n">{{.Calls}}</td><td class="n">{{.Errors}}</td></tr>
{{end}}</table>{{end}}{{end}}
<p style="color:#57606a">{{.Generated}}</p>
</body>
</html>
`))

// renderHTML writes a document as an HTML page with its charts.
func renderHTML(w io.Writer, doc Document) error {
	switch d := doc.(type) {
	case SummaryDoc:
		return htmlPage(w, Page{Title: "syscov summary", Summary: d})
	case CoverageDoc:
		return htmlPage(w, Page{Title: "syscov coverage", Apps: d.Apps, Plan: d.Plan})
	case DiffDoc:
		return htmlPage(w, Page{Title: "syscov diff", Verdict: Verdict(d.Diff), Diff: d.Diff})
	case ProbeDoc:
		return htmlPage(w, Page{Title: "syscov probe: " + d.Report.App, Verdict: probeHead(d.Report), Probe: d.Report})
	case Page:
		return htmlPage(w, d)
	case CatalogPlanDoc:
		return catalogPlanHTML(w, d)
	case BenchDoc:
		return benchHTML(w, d.Report)
	}
	return errUnsupported
}

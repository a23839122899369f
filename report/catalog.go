package report

import (
	"fmt"
	"html/template"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/syscov/syscov/analyze"
)

// CatalogPlanSchema names the version of the catalog plan's JSON document
// (report/schema/catalogplan.schema.json).
const CatalogPlanSchema = "syscov.catalog-plan/v1"

// CatalogPlanDoc is the plan over a catalog of apps (syscov catalog plan).
type CatalogPlanDoc struct {
	Plan *analyze.CatalogPlan
	// Against names the table and config the apps were judged against.
	Against string
	Store   string
	// Generated is the page's footer.
	Generated string
}

func (CatalogPlanDoc) What() string { return "catalog plan" }

// verdictLabel says what an app's answer rests on.
func verdictLabel(a *analyze.CatalogApp) string {
	switch a.Verdict {
	case "unikernel":
		return "seen in a unikernel run"
	case "loupe":
		return "Loupe's probe (imported)"
	case "probe":
		return "native run + probe"
	}
	return "predicted from the native run"
}

func blockers(a *analyze.CatalogApp) string {
	var out []string
	for _, n := range a.Needs {
		out = append(out, string(n.Kind)+" "+n.What)
	}
	return strings.Join(out, ", ")
}

func catalogPlanTable(w io.Writer, d CatalogPlanDoc) error {
	p := d.Plan
	fmt.Fprintf(w, "catalog plan against %s: %d apps, %d work now, %d after %d steps (cost %g)\n", d.Against, len(p.Apps), p.WorkingNow, lastWorking(p), len(p.Steps), p.Cost)
	fmt.Fprintf(w, "rule: %s\n\n", p.Rule)
	rows := [][]string{}
	for i, s := range p.Steps {
		rows = append(rows, []string{strconv.Itoa(i + 1), string(s.Kind), cut(s.What, maxCell), strconv.Itoa(s.Working), cut(strings.Join(s.Completes, " "), maxCell), cut(strings.Join(s.Helps, " "), 20)})
	}
	if err := renderTable(w, []string{"#", "step", "what", "working", "completes", "helps"}, rows, nil, []bool{true, false, false, true}); err != nil {
		return err
	}
	fmt.Fprintln(w)
	rows = rows[:0]
	for _, a := range sortedApps(p) {
		rows = append(rows, []string{cut(a.Name, 20), a.Status, cut(verdictLabel(a), 30), cut(blockers(a), 40)})
	}
	if err := renderTable(w, []string{"app", "status", "verdict from", "needs"}, rows, nil, nil); err != nil {
		return err
	}
	for _, a := range p.Apps {
		if a.Disagree != "" {
			fmt.Fprintf(w, "disagree: %s: %s\n", a.Name, a.Disagree)
		}
	}
	for _, a := range p.Unplanned {
		fmt.Fprintf(w, "not planned: %s: %s\n", a.Name, a.Reason)
	}
	return nil
}

func lastWorking(p *analyze.CatalogPlan) int {
	if len(p.Steps) == 0 {
		return p.WorkingNow
	}
	return p.Steps[len(p.Steps)-1].Working
}

func sortedApps(p *analyze.CatalogPlan) []*analyze.CatalogApp {
	apps := append([]*analyze.CatalogApp(nil), p.Apps...)
	sort.SliceStable(apps, func(i, j int) bool { return apps[i].Name < apps[j].Name })
	return apps
}

func catalogPlanMarkdown(w io.Writer, d CatalogPlanDoc) error {
	p := d.Plan
	fmt.Fprintf(w, "## What to do next, against %s\n\n", mdCode(d.Against))
	fmt.Fprintf(w, "%d apps; %d work now; %d after the %d steps below.\n\n", len(p.Apps), p.WorkingNow, lastWorking(p), len(p.Steps))
	fmt.Fprintf(w, "Ordering: %s.\n\n", mdText(p.Rule))
	for i, s := range p.Steps {
		line := fmt.Sprintf("- [ ] %d. **%s** `%s`", i+1, s.Kind, strings.ReplaceAll(s.What, "`", "'"))
		if len(s.Completes) > 0 {
			line += " — completes " + mdText(strings.Join(s.Completes, ", "))
		}
		if len(s.Helps) > 0 {
			line += "; helps " + mdText(strings.Join(s.Helps, ", "))
		}
		fmt.Fprintf(w, "%s (%d working)\n", line, s.Working)
	}
	fmt.Fprintf(w, "\n| app | status | verdict from | needs |\n|---|---|---|---|\n")
	for _, a := range sortedApps(p) {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", mdCell(a.Name), a.Status, verdictLabel(a), mdCell(blockers(a)))
	}
	for _, a := range p.Apps {
		if a.Disagree != "" {
			fmt.Fprintf(w, "\n> **disagree** %s: %s\n", mdText(a.Name), mdText(a.Disagree))
		}
	}
	if len(p.Unplanned) > 0 {
		fmt.Fprintf(w, "\nNot planned (could not run):\n\n")
		for _, a := range p.Unplanned {
			fmt.Fprintf(w, "- %s: %s\n", mdText(a.Name), mdText(a.Reason))
		}
	}
	return nil
}

type jsonCatalogNeed struct {
	Kind     string `json:"kind"`
	What     string `json:"what"`
	Impact   string `json:"impact"`
	Class    string `json:"class,omitempty"`
	Site     string `json:"site,omitempty"`
	Evidence string `json:"evidence,omitempty"`
}

func catalogPlanJSON(w io.Writer, d CatalogPlanDoc) error {
	p := d.Plan
	type step struct {
		Kind      string   `json:"kind"`
		What      string   `json:"what"`
		Cost      float64  `json:"cost"`
		Completes []string `json:"completes"`
		Helps     []string `json:"helps"`
		Working   int      `json:"working_after"`
		Weight    float64  `json:"working_weight_after"`
	}
	type app struct {
		Name     string            `json:"name"`
		Status   string            `json:"status"`
		Verdict  string            `json:"verdict"`
		Source   string            `json:"source"`
		Weight   float64           `json:"weight"`
		Reason   string            `json:"reason,omitempty"`
		Disagree string            `json:"disagree,omitempty"`
		Report   string            `json:"report,omitempty"`
		Needs    []jsonCatalogNeed `json:"needs"`
	}
	needs := func(list []analyze.CatalogNeed) []jsonCatalogNeed {
		out := []jsonCatalogNeed{}
		for _, n := range list {
			out = append(out, jsonCatalogNeed{string(n.Kind), n.What, n.Impact, n.Class, n.Site, n.Evidence})
		}
		return out
	}
	doc := struct {
		Schema      string  `json:"schema"`
		Against     string  `json:"against"`
		Rule        string  `json:"rule"`
		Apps        int     `json:"apps"`
		WorkingNow  int     `json:"working_now"`
		TotalWeight float64 `json:"total_weight"`
		Steps       []step  `json:"steps"`
		PerApp      []app   `json:"per_app"`
		Unplanned   []app   `json:"not_planned"`
	}{Schema: CatalogPlanSchema, Against: d.Against, Rule: p.Rule, Apps: len(p.Apps), WorkingNow: p.WorkingNow, TotalWeight: p.TotalWeight, Steps: []step{}, PerApp: []app{}, Unplanned: []app{}}
	for _, s := range p.Steps {
		doc.Steps = append(doc.Steps, step{string(s.Kind), s.What, s.Cost, nonNil(s.Completes), nonNil(s.Helps), s.Working, s.WorkingWeight})
	}
	for _, a := range sortedApps(p) {
		doc.PerApp = append(doc.PerApp, app{a.Name, a.Status, a.Verdict, a.Source, a.Weight, a.Reason, a.Disagree, a.Report, needs(a.Needs)})
	}
	for _, a := range p.Unplanned {
		doc.Unplanned = append(doc.Unplanned, app{a.Name, a.Status, a.Verdict, a.Source, a.Weight, a.Reason, a.Disagree, a.Report, needs(a.Needs)})
	}
	return writeJSON(w, doc)
}

// The HTML page: the cumulative curve, the heatmap, the steps and a table
// per app; inline SVG, no script.

type curvePoint struct{ X, Y float64 }

type heatCell struct {
	X, Y  int
	Class string
	Title string
}

type catalogPage struct {
	CatalogPlanDoc
	Curve              string // SVG polyline points
	CurveW, CurveH     int
	CurveDots          []curvePoint
	Columns            []string
	Rows               []string
	Cells              []heatCell
	HeatW, HeatH       int
	Apps               []*analyze.CatalogApp
	Last               int
	MaxApps            int
	StepsN             int
	ColX               func(int) int
	Needs              map[string][]analyze.CatalogNeed
	TickY, TickX       []int
	Disagreements      []*analyze.CatalogApp
	Unplanned          []*analyze.CatalogApp
	VerdictLabel       func(*analyze.CatalogApp) string
	Blockers           func(*analyze.CatalogApp) string
	CellSize, LabelPad int
}

const heatColumns = 40

func catalogPlanHTML(w io.Writer, d CatalogPlanDoc) error {
	p := d.Plan
	pg := catalogPage{CatalogPlanDoc: d, CurveW: 640, CurveH: 240, Apps: sortedApps(p), Last: lastWorking(p), MaxApps: len(p.Apps), StepsN: len(p.Steps),
		VerdictLabel: verdictLabel, Blockers: blockers, CellSize: 14, LabelPad: 140, Unplanned: p.Unplanned}
	// The curve: apps working after each step.
	n := len(p.Steps)
	x := func(i int) float64 { return 40 + float64(i)*float64(pg.CurveW-60)/float64(max(n, 1)) }
	y := func(v int) float64 {
		return float64(pg.CurveH-30) - float64(v)*float64(pg.CurveH-50)/float64(max(len(p.Apps), 1))
	}
	pts := []string{fmt.Sprintf("%.1f,%.1f", x(0), y(p.WorkingNow))}
	pg.CurveDots = append(pg.CurveDots, curvePoint{x(0), y(p.WorkingNow)})
	for i, s := range p.Steps {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i+1), y(s.Working)))
		pg.CurveDots = append(pg.CurveDots, curvePoint{x(i + 1), y(s.Working)})
	}
	pg.Curve = strings.Join(pts, " ")
	// The heatmap: apps × what they lack (the most needed first).
	count := map[string]int{}
	impact := map[[2]string]analyze.CatalogNeed{}
	for _, a := range p.Apps {
		for _, l := range [][]analyze.CatalogNeed{a.Needs, a.Tolerated} {
			for _, nd := range l {
				k := string(nd.Kind) + " " + nd.What
				if _, ok := impact[[2]string{a.Name, k}]; !ok {
					count[k]++
					impact[[2]string{a.Name, k}] = nd
				}
			}
		}
	}
	for k := range count {
		pg.Columns = append(pg.Columns, k)
	}
	sort.Slice(pg.Columns, func(i, j int) bool {
		if count[pg.Columns[i]] != count[pg.Columns[j]] {
			return count[pg.Columns[i]] > count[pg.Columns[j]]
		}
		return pg.Columns[i] < pg.Columns[j]
	})
	if len(pg.Columns) > heatColumns {
		pg.Columns = pg.Columns[:heatColumns]
	}
	for ri, a := range pg.Apps {
		pg.Rows = append(pg.Rows, a.Name)
		for ci, c := range pg.Columns {
			if nd, ok := impact[[2]string{a.Name, c}]; ok {
				imp := nd.Impact
				if imp == "" {
					imp = "noise"
				}
				pg.Cells = append(pg.Cells, heatCell{pg.LabelPad + ci*pg.CellSize, 150 + ri*pg.CellSize, imp, a.Name + ": " + c + " (" + imp + ")"})
			}
		}
	}
	pg.HeatW = pg.LabelPad + len(pg.Columns)*pg.CellSize + 10
	pg.HeatH = 150 + len(pg.Rows)*pg.CellSize + 10
	pg.ColX = func(i int) int { return pg.LabelPad + i*pg.CellSize + pg.CellSize/2 }
	for _, a := range p.Apps {
		if a.Disagree != "" {
			pg.Disagreements = append(pg.Disagreements, a)
		}
	}
	return catalogTemplate.Execute(w, pg)
}

var catalogTemplate = template.Must(template.New("catalog").Funcs(template.FuncMap{
	"inc":  func(i int) int { return i + 1 },
	"rowY": func(i, cell int) int { return 150 + i*cell + cell - 3 },
	"join": strings.Join,
	"f1":   func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	// short fits a column's label in the 150 px above the heatmap.
	"short": func(s string) string { return cut(s, 28) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>syscov catalog plan: {{.Against}}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #1b1f24; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #d0d7de; }
table { border-collapse: collapse; margin: .6em 0; }
td, th { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
svg text { font: 11px system-ui, sans-serif; fill: #1b1f24; }
.blocks { fill: #cf222e; } .degrades { fill: #d4a72c; } .noise { fill: #afb8c1; }
.curve { fill: none; stroke: #0969da; stroke-width: 2; } .dot { fill: #0969da; } .axis { stroke: #57606a; }
.status-works { color: #1a7f37; } .status-lacks { color: #cf222e; } .disagree { background: #fff8c5; padding: .4em .7em; border: 1px solid #d4a72c; }
</style>
</head>
<body>
<h1>What to do next, against {{.Against}}</h1>
<p>{{.MaxApps}} apps; {{.Plan.WorkingNow}} work now; {{.Last}} after {{.StepsN}} steps. Ordering: {{.Plan.Rule}}.</p>
<h2>Apps working against steps taken</h2>
<figure><svg id="cumulative-chart" width="{{.CurveW}}" height="{{.CurveH}}" role="img" aria-label="apps working against steps taken">
<line class="axis" x1="40" y1="10" x2="40" y2="210"/>
<line class="axis" x1="40" y1="210" x2="{{.CurveW}}" y2="210"/>
<text x="4" y="20">{{.MaxApps}}</text><text x="4" y="210">0</text><text x="44" y="232">steps →</text>
<polyline class="curve" points="{{.Curve}}"/>
{{range $i, $d := .CurveDots}}<circle class="dot" cx="{{f1 $d.X}}" cy="{{f1 $d.Y}}" r="3"><title>after {{$i}} steps</title></circle>
{{end}}</svg><figcaption>apps that need nothing more, after each step of the plan</figcaption></figure>
<h2>What each app lacks</h2>
<figure><svg id="heatmap" width="{{.HeatW}}" height="{{.HeatH}}" role="img" aria-label="apps by what they lack, coloured by impact">
{{range $i, $c := .Columns}}<text transform="translate({{call $.ColX $i}},145) rotate(-60)">{{short $c}}<title>{{$c}}</title></text>
{{end}}{{range $i, $r := .Rows}}<text x="4" y="{{rowY $i $.CellSize}}">{{$r}}</text>
{{end}}{{range .Cells}}<rect class="{{.Class}}" x="{{.X}}" y="{{.Y}}" width="13" height="13"><title>{{.Title}}</title></rect>
{{end}}</svg><figcaption>red: blocks, yellow: degrades, grey: noise; the {{len .Columns}} needs most apps share</figcaption></figure>
<h2>Steps</h2>
<table><tr><th>#</th><th>step</th><th>what</th><th>completes</th><th>helps</th><th>working after</th></tr>
{{range $i, $s := .Plan.Steps}}<tr><td class="n">{{inc $i}}</td><td>{{$s.Kind}}</td><td><code>{{$s.What}}</code></td><td>{{join $s.Completes ", "}}</td><td>{{join $s.Helps ", "}}</td><td class="n">{{$s.Working}}</td></tr>
{{end}}</table>
{{range .Disagreements}}<p class="disagree"><b>disagree</b> {{.Name}}: {{.Disagree}}</p>
{{end}}<h2>Apps</h2>
{{range .Apps}}<h3 id="app-{{.Name}}">{{.Name}} <span class="status-{{.Status}}">{{.Status}}</span></h3>
<p>verdict from: {{call $.VerdictLabel .}}{{if .Report}}; <a href="{{.Report}}">its check report</a>{{end}}{{if .Reason}}; {{.Reason}}{{end}}</p>
{{if or .Needs .Tolerated}}<table><tr><th>needs</th><th>impact</th><th>class</th><th>call site</th><th>evidence</th></tr>
{{range .Needs}}<tr><td>{{.Kind}} <code>{{.What}}</code></td><td>{{.Impact}}</td><td>{{.Class}}</td><td>{{.Site}}</td><td>{{.Evidence}}</td></tr>
{{end}}{{range .Tolerated}}<tr><td>(tolerated) <code>{{.What}}</code></td><td>{{.Impact}}</td><td>{{.Class}}</td><td>{{.Site}}</td><td>{{.Evidence}}</td></tr>
{{end}}</table>{{end}}
{{end}}{{if .Unplanned}}<h2>Not planned</h2><ul>
{{range .Unplanned}}<li>{{.Name}}: {{.Reason}}</li>
{{end}}</ul>{{end}}
<p style="color:#57606a">{{.Generated}}{{if .Store}}; store {{.Store}}{{end}}</p>
</body>
</html>
`))

// CatalogCompareDoc compares two catalogs' answers (syscov catalog compare).
type CatalogCompareDoc struct{ Comparison *analyze.CatalogComparison }

func (CatalogCompareDoc) What() string { return "catalog compare" }

func stepNames(list []analyze.CatalogStep) []string {
	out := []string{}
	for _, s := range list {
		out = append(out, string(s.Kind)+" "+s.What)
	}
	return out
}

func catalogCompareTable(w io.Writer, d CatalogCompareDoc) error {
	c := d.Comparison
	fmt.Fprintf(w, "%s: %d apps, %d work; %s: %d apps, %d work\n\n", c.From, c.FromApps, c.FromWorks, c.To, c.ToApps, c.ToWorks)
	rows := [][]string{}
	for _, ch := range c.Changed {
		rows = append(rows, []string{cut(ch.App, 20), ch.From, ch.To, cut(strings.Join(ch.FromNeeds, ", "), 30), cut(strings.Join(ch.ToNeeds, ", "), 30)})
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "no app changes status or needs")
	} else if err := renderTable(w, []string{"app", c.From, c.To, "needs before", "needs after"}, rows, nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nsteps gone: %s\nsteps new: %s\n", orNone(stepNames(c.Gone)), orNone(stepNames(c.New)))
	if len(c.OnlyFrom)+len(c.OnlyTo) > 0 {
		fmt.Fprintf(w, "only in %s: %s\nonly in %s: %s\n", c.From, orNone(c.OnlyFrom), c.To, orNone(c.OnlyTo))
	}
	return nil
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

func catalogCompareMarkdown(w io.Writer, d CatalogCompareDoc) error {
	c := d.Comparison
	fmt.Fprintf(w, "## %s → %s\n\n%d → %d apps working.\n\n| app | %s | %s | needs before | needs after |\n|---|---|---|---|---|\n", mdCode(c.From), mdCode(c.To), c.FromWorks, c.ToWorks, mdCodeCell(c.From), mdCodeCell(c.To))
	for _, ch := range c.Changed {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", mdCell(ch.App), ch.From, ch.To, mdCell(strings.Join(ch.FromNeeds, ", ")), mdCell(strings.Join(ch.ToNeeds, ", ")))
	}
	fmt.Fprintf(w, "\nSteps gone: %s\n\nSteps new: %s\n", mdText(orNone(stepNames(c.Gone))), mdText(orNone(stepNames(c.New))))
	return nil
}

func catalogCompareJSON(w io.Writer, d CatalogCompareDoc) error {
	c := d.Comparison
	type change struct {
		App       string   `json:"app"`
		From      string   `json:"from"`
		To        string   `json:"to"`
		FromNeeds []string `json:"from_needs"`
		ToNeeds   []string `json:"to_needs"`
	}
	changes := []change{}
	for _, ch := range c.Changed {
		changes = append(changes, change{ch.App, ch.From, ch.To, ch.FromNeeds, ch.ToNeeds})
	}
	return writeJSON(w, map[string]any{"schema": "syscov.catalog-compare/v1", "from": c.From, "to": c.To, "from_working": c.FromWorks, "to_working": c.ToWorks,
		"changed": changes, "steps_gone": stepNames(c.Gone), "steps_new": stepNames(c.New), "only_from": nonNil(c.OnlyFrom), "only_to": nonNil(c.OnlyTo)})
}

package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/syscov/syscov/analyze"
)

// CoverageSchema names the version of the coverage JSON document.
const CoverageSchema = "syscov.coverage/v1"

// Coverage renders per-app coverage and, with several apps, the plan.
func Coverage(w io.Writer, f Format, apps []*analyze.AppCoverage, plan *analyze.Plan) error {
	switch f {
	case FormatHTML:
		return HTML(w, Page{Title: "syscov coverage", Apps: apps, Plan: plan})
	case FormatJSON:
		return coverageJSON(w, apps, plan)
	case FormatMarkdown:
		return coverageMarkdown(w, apps, plan)
	}
	return coverageTable(w, apps, plan)
}

func coverageTable(w io.Writer, apps []*analyze.AppCoverage, plan *analyze.Plan) error {
	for i, a := range apps {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "== %s (%s) against %s\n", a.App, a.Source, a.Table)
		if a.Config != "" {
			fmt.Fprintf(w, "levels for: %s\n", a.Config)
		}
		fmt.Fprintf(w, "%d distinct syscalls: %d implemented, %d stubbed, %d partial, %d missing (%d blocking); %s %% of %d calls supported\n",
			a.Distinct(), a.Implemented, a.Stubbed, a.Partial, a.Missing, len(a.Blocking), analyze.Percent(a.Weighted()), a.Calls)
		if len(a.SetAside) > 0 {
			fmt.Fprintf(w, "set aside (wrapper processes, not the app): %s\n", countsList(a.SetAside, 6))
		}
		if len(a.Cheap) > 0 {
			var names []string
			for _, u := range a.Cheap {
				names = append(names, u.Key+" ("+string(u.Probe)+")")
			}
			fmt.Fprintf(w, "missing but cheap (syscov probe): %s\n", strings.Join(names, ", "))
		}
		if len(a.Blocking) == 0 {
			fmt.Fprintln(w, "nothing missing that the app needs for real")
		}
		if len(a.Blocking)+len(a.Tolerated) == 0 {
			continue
		}
		var rows [][]string
		for _, u := range append(append([]*analyze.UsedSyscall(nil), a.Blocking...), a.Tolerated...) {
			class := u.Class
			if u.Probe != "" {
				class += " [" + string(u.Probe) + "]"
			}
			rows = append(rows, []string{u.Key, strconv.Itoa(u.Calls), cut(class, 22), string(u.Impact), cut(u.SiteString(), 26), cut(u.UnikernelSeen, 14)})
		}
		if err := renderTable(w, []string{"missing", "calls", "class", "impact", "first call site", "unikernel"}, rows, nil, []bool{false, true, false, false, false, false}); err != nil {
			return err
		}
		for _, u := range a.Tolerated {
			fmt.Fprintf(w, "  %s %s: %s\n", u.Key, u.Impact, u.ImpactWhy)
		}
	}
	if plan != nil && plan.Apps > 1 {
		fmt.Fprintf(w, "\n== plan across %d apps (%d fully covered now)\n", plan.Apps, plan.CoveredNow)
		var rows [][]string
		for i, s := range plan.Steps {
			rows = append(rows, []string{strconv.Itoa(i + 1), s.Implement, cut(stepHow(s), 40), "+" + strconv.Itoa(len(s.NewlyCovered)), strconv.Itoa(s.Covered), cut(strings.Join(s.NewlyCovered, ", "), 40)})
		}
		if err := renderTable(w, []string{"step", "support", "how", "apps", "covered", "newly covered"}, rows, nil, []bool{true, false, false, true, true, false}); err != nil {
			return err
		}
		fmt.Fprintf(w, "the top 5 steps cover %d of %d apps, the top 10 %d\n", plan.AfterTop[5], plan.Apps, plan.AfterTop[10])
		if len(plan.Degrading) > 0 {
			fmt.Fprintf(w, "then, what only degrades apps: %s\n", degradingList(plan.Degrading))
		}
	}
	return nil
}

// stacksMarkdown folds, under each missing use, the app frames of its
// first call (when stacks were recorded): who calls it, and from where.
func stacksMarkdown(w io.Writer, uses []*analyze.UsedSyscall) {
	n := 0
	for _, u := range uses {
		if len(u.FirstStack) > 0 {
			n++
		}
	}
	if n == 0 {
		return
	}
	plural := "s"
	if n == 1 {
		plural = ""
	}
	fmt.Fprintf(w, "<details><summary>Where the app makes them (%d call stack%s)</summary>\n\n", n, plural)
	for _, u := range uses {
		if len(u.FirstStack) == 0 {
			continue
		}
		fmt.Fprintf(w, "`%s` (%s):\n\n```\n", mdCode(u.Key), u.Impact)
		for _, f := range u.FirstStack {
			fmt.Fprintf(w, "%s\n", strings.ReplaceAll(analyze.FrameSite(f), "```", "\x27\x27\x27"))
		}
		fmt.Fprint(w, "```\n\n")
	}
	fmt.Fprint(w, "</details>\n\n")
}

func degradingList(list []analyze.Blocker) string {
	var parts []string
	for _, d := range list {
		apps := "apps"
		if len(d.Apps) == 1 {
			apps = "app"
		}
		parts = append(parts, fmt.Sprintf("%s (%d %s)", d.Key, len(d.Apps), apps))
	}
	return strings.Join(parts, ", ")
}

func nr(n int) string {
	if n < 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func coverageMarkdown(w io.Writer, apps []*analyze.AppCoverage, plan *analyze.Plan) error {
	for _, a := range apps {
		fmt.Fprintf(w, "### Coverage of %s against `%s`\n\n", mdCell(a.App), mdCode(a.Table))
		if a.Config != "" {
			fmt.Fprintf(w, "Levels for: %s.\n\n", mdText(a.Config))
		}
		fmt.Fprintf(w, "**%d** distinct syscalls: %d implemented, %d stubbed, %d partial, **%d missing** (%d blocking); %s %% of %d calls supported.\n\n",
			a.Distinct(), a.Implemented, a.Stubbed, a.Partial, a.Missing, len(a.Blocking), analyze.Percent(a.Weighted()), a.Calls)
		missing := append(append([]*analyze.UsedSyscall(nil), a.Blocking...), a.Tolerated...)
		if len(missing) > 10 {
			fmt.Fprintf(w, "<details><summary>%d missing syscall uses</summary>\n\n", len(missing))
		}
		if len(missing) > 0 {
			fmt.Fprintln(w, "| missing | nr | calls | impact | to close | class | first call site | unikernel |")
			fmt.Fprintln(w, "|---|--:|--:|---|---|---|---|---|")
			for _, u := range missing {
				fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s |\n", mdCell(u.Key), nr(u.Nr), u.Calls, u.Impact, mdCell(u.Closure), mdCell(u.Class), mdCell(u.SiteString()), mdCell(u.UnikernelSeen))
			}
			fmt.Fprintln(w)
			for _, u := range a.Tolerated {
				fmt.Fprintf(w, "- `%s` %s: %s\n", mdCode(u.Key), u.Impact, mdText(u.ImpactWhy))
			}
			if len(a.Tolerated) > 0 {
				fmt.Fprintln(w)
			}
			stacksMarkdown(w, missing)
		}
		if len(missing) > 10 {
			fmt.Fprint(w, "</details>\n\n")
		}
	}
	if plan != nil && plan.Apps > 1 {
		fmt.Fprintf(w, "### Plan across %d apps\n\n%d fully covered now; the top 5 steps cover %d, the top 10 %d.\n\n", plan.Apps, plan.CoveredNow, plan.AfterTop[5], plan.AfterTop[10])
		fmt.Fprintln(w, "| step | support | how | newly covered | covered |")
		fmt.Fprintln(w, "|--:|---|---|---|--:|")
		for i, s := range plan.Steps {
			fmt.Fprintf(w, "| %d | %s | %s | %s | %d |\n", i+1, mdCell(s.Implement), mdCell(stepHow(s)), mdCell(strings.Join(s.NewlyCovered, ", ")), s.Covered)
		}
	}
	return nil
}

type jsonUse struct {
	Key       string `json:"key"`
	Name      string `json:"name"`
	Nr        int    `json:"nr"`
	Calls     int    `json:"calls"`
	Level     string `json:"level"`
	Note      string `json:"note,omitempty"`
	Class     string `json:"class"`
	FirstSite string `json:"first_site"`
	Unikernel string `json:"unikernel,omitempty"`
	Probe     string `json:"probe,omitempty"`
	Impact    string `json:"impact,omitempty"`
	ImpactWhy string `json:"impact_why,omitempty"`
	Closure   string `json:"to_close,omitempty"`
}

func coverageJSON(w io.Writer, apps []*analyze.AppCoverage, plan *analyze.Plan) error {
	type jsonApp struct {
		App       string         `json:"app"`
		Source    string         `json:"source"`
		Table     string         `json:"table"`
		Config    string         `json:"config,omitempty"`
		Counts    map[string]int `json:"counts"`
		Calls     int            `json:"calls"`
		Weighted  float64        `json:"weighted_coverage"`
		Used      []jsonUse      `json:"used"`
		Missing   []string       `json:"missing"`
		Tolerated []string       `json:"tolerated"`
		Runtimes  []string       `json:"runtimes"`
	}
	doc := map[string]any{"schema": CoverageSchema}
	var out []jsonApp
	for _, a := range apps {
		ja := jsonApp{App: a.App, Source: a.Source, Table: a.Table, Config: a.Config, Calls: a.Calls, Weighted: a.Weighted(),
			Counts:  map[string]int{"implemented": a.Implemented, "stubbed": a.Stubbed, "partial": a.Partial, "missing": a.Missing},
			Missing: []string{}, Tolerated: []string{}, Runtimes: nonNil(a.Runtimes)}
		for _, u := range a.Used {
			ja.Used = append(ja.Used, jsonUse{u.Key, u.Name, u.Nr, u.Calls, string(u.Level), u.Note, u.Class, u.SiteString(), u.UnikernelSeen, string(u.Probe), string(u.Impact), u.ImpactWhy, u.Closure})
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

// stepHow is how a plan step is done: configure (the options) or
// implement.
func stepHow(s analyze.PlanStep) string {
	if s.Closure == "" {
		return "implement"
	}
	return s.Closure
}

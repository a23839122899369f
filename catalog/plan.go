package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/catalog/store"
)

// PlanInput selects the results a plan is made of.
type PlanInput struct {
	Table string // the table's name (unikraft@0.17.0)
	// Config is "config NAME sha256:…" (ConfigKey) to take the results
	// checked with that .config; "" takes those checked without one (the
	// table's defaults, or an image's libraries).
	Config string
	Tag    string
}

// modeRank orders the kinds of evidence, strongest first.
func modeRank(mode string) int {
	switch {
	case strings.HasPrefix(mode, "unikernel"):
		return 0
	case strings.HasPrefix(mode, "native") && strings.Contains(mode, "+probe"):
		return 1
	case strings.HasPrefix(mode, "native"):
		return 2
	}
	return 3 // imported
}

// PlanApps reads the store's results into the plan's apps: per app, the
// result with the strongest evidence (a real unikernel run, then a native
// run with probe, then native, then imported), the newest of those; a
// native prediction that disagrees with a unikernel run is said.
func PlanApps(ctx context.Context, st *store.Store, in PlanInput) ([]*analyze.CatalogApp, error) {
	byApp := map[string][]*store.Result{}
	var names []string
	err := st.Each(ctx, store.Filter{Table: in.Table, Tag: in.Tag}, func(r *store.Result) error {
		if withConfig := strings.Contains(r.Config, "config "); in.Config == "" && withConfig || in.Config != "" && !strings.Contains(r.Config, in.Config) {
			return nil
		}
		if _, ok := byApp[r.App]; !ok {
			names = append(names, r.App)
		}
		byApp[r.App] = append(byApp[r.App], r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	apps := make([]*analyze.CatalogApp, 0, len(names))
	for _, n := range names {
		rs := byApp[n]
		sort.SliceStable(rs, func(i, j int) bool {
			if a, b := modeRank(rs[i].Mode), modeRank(rs[j].Mode); a != b {
				return a < b
			}
			return rs[i].Started.After(rs[j].Started)
		})
		best := rs[0]
		// A failed unikernel run proves nothing: its native figures are
		// the prediction, and the failure is said.
		a := appOf(best)
		for _, r := range rs[1:] {
			if modeRank(r.Mode) < 2 || modeRank(best.Mode) != 0 {
				continue
			}
			native := appOf(r)
			switch {
			case best.Status == store.UnikernelFailed && native.Status == string(store.Works):
				a.Disagree = "the native run predicts it works; the unikernel run failed: " + best.Reason
			case best.Status != store.UnikernelFailed && native.Status != a.Status && native.Status != string(store.CouldNotRun):
				a.Disagree = fmt.Sprintf("the native run predicts %s (%s); the unikernel run says %s (%s)", native.Status, needList(native), a.Status, needList(a))
			}
			break
		}
		apps = append(apps, a)
	}
	return apps, nil
}

func needList(a *analyze.CatalogApp) string {
	if len(a.Needs) == 0 {
		return "needs nothing"
	}
	var out []string
	for _, n := range a.Needs {
		out = append(out, n.What)
	}
	return "needs " + strings.Join(out, ", ")
}

// appOf is one stored result as the plan reads it.
func appOf(r *store.Result) *analyze.CatalogApp {
	a := &analyze.CatalogApp{Name: r.App, Weight: r.Weight, Tags: r.Tags, Status: string(r.Status), Reason: r.Reason, Source: r.Source, Report: r.Report}
	switch {
	case r.Source == "loupe":
		a.Verdict = "loupe"
	case strings.HasPrefix(r.Mode, "unikernel") && r.Status != store.UnikernelFailed:
		a.Verdict = "unikernel"
	case strings.Contains(r.Mode, "+probe"):
		a.Verdict = "probe"
	default:
		a.Verdict = "native"
	}
	for _, g := range r.Gaps {
		n, needed := analyze.NeedOf(g.Key, g.Name, g.Impact, g.Closure, g.Probe)
		n.Class, n.Site, n.Calls = g.Class, g.Site, g.Calls
		var ev []string
		if g.Unikernel != "" {
			ev = append(ev, "unikernel: "+g.Unikernel)
		}
		if g.Probe != "" {
			src := "probe"
			if r.Source == "loupe" {
				src = "loupe"
			}
			ev = append(ev, src+": "+g.Probe)
		}
		if len(ev) == 0 && g.Impact != "" {
			ev = append(ev, "predicted: "+g.ImpactWhy)
		}
		n.Evidence = strings.Join(ev, "; ")
		if needed {
			a.Needs = append(a.Needs, n)
		} else if g.Impact != "" {
			a.Tolerated = append(a.Tolerated, n)
		}
	}
	// What the plan counts: an app with no need works, whatever a
	// strict check's exit said of what only degrades it.
	if a.Status == string(store.Lacks) && len(a.Needs) == 0 {
		a.Status = string(store.Works)
	}
	if a.Status == string(store.UnikernelFailed) {
		a.Verdict = "native"
	}
	return a
}

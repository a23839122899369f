package analyze

import (
	"sort"
	"strings"
)

// The catalog's plan: across many apps' stored results, the ordered steps
// (configure, stub, fake, implement a syscall, implement a use of one) that
// make the most apps work soonest. Its input is plain values (CatalogApp),
// built by the catalog from its store; it never does I/O.

// StepKind is what a step does, cheapest first.
type StepKind string

const (
	StepConfigure     StepKind = "configure"         // a Kconfig option or a driver the release has
	StepStub          StepKind = "stub"              // answer ENOSYS: probe showed the app survives it
	StepFake          StepKind = "fake"              // answer 0: probe showed the app survives it
	StepImplementUse  StepKind = "implement use"     // an argument-level use: socket AF_NETLINK, clone (fork)
	StepImplementCall StepKind = "implement syscall" // a syscall the release has no code for
)

// StepCost is the cost of each kind of step: what orders the plan.
var StepCost = map[StepKind]float64{StepConfigure: 1, StepStub: 2, StepFake: 2, StepImplementUse: 4, StepImplementCall: 8}

// PlanRule is the ordering rule, stated in every output of the plan.
const PlanRule = "greedy: repeatedly take the app not yet working whose remaining steps cost least per unit of its weight " +
	"(cost: configure 1, stub or fake 2, implement a use 4, implement a syscall 8; ties: fewer steps, then name), " +
	"and do its remaining steps cheapest first; an app works once it needs nothing more"

// CatalogApp is one app's answer, as the plan reads it.
type CatalogApp struct {
	Name   string
	Weight float64
	Tags   []string
	// Status: works, lacks, unikernel-failed, could-not-run.
	Status string
	Reason string
	// Verdict says what the answer rests on: "unikernel" (a real
	// unikernel run), "native" (predicted from the native run alone),
	// "probe" (native, with probe verdicts), "loupe" (imported).
	Verdict string
	Source  string // syscov or loupe
	// Disagree, when set, is where a unikernel run and the native
	// prediction disagree.
	Disagree string
	Report   string // the app's check report, where kept
	Needs    []CatalogNeed
	// Tolerated are the gaps that do not block it (degrades, noise).
	Tolerated []CatalogNeed
}

// CatalogNeed is one thing an app lacks: the step that closes it and the
// evidence.
type CatalogNeed struct {
	Kind     StepKind
	What     string // the option, the syscall, the use
	Impact   string
	Class    string
	Site     string
	Calls    int
	Evidence string // the unikernel's answer, probe's verdict, loupe's
}

// NeedOf is the step that closes one gap: configure when the closure
// names options, stub or fake when probe showed the app survives it,
// implement a use for an argument-level key, else implement the syscall.
// needed says whether the app needs it to work: a blocking gap, or one
// that works only faked (the unikernel answers ENOSYS, not 0).
func NeedOf(key, name, impact, closure, probe string) (n CatalogNeed, needed bool) {
	n = CatalogNeed{Impact: impact, What: key}
	switch {
	case strings.HasPrefix(closure, "configure"):
		n.Kind = StepConfigure
		n.What = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(closure, "configure"), ":"))
		if n.What == "" {
			n.What = key
		}
	case probe == string(WorksFaked):
		n.Kind, n.What = StepFake, name
		return n, impact != string(Noise)
	case probe == string(WorksStubbed) || probe == string(WorksBoth):
		n.Kind, n.What = StepStub, name
	case key != name && key != "":
		n.Kind = StepImplementUse
	default:
		n.Kind, n.What = StepImplementCall, name
	}
	return n, impact == string(Blocks)
}

// CatalogStep is one step of the catalog plan.
type CatalogStep struct {
	Kind StepKind
	What string
	Cost float64
	// Completes are the apps that need nothing more after this step;
	// Helps the others that need it.
	Completes, Helps []string
	// Working and WorkingWeight are the apps working after it.
	Working       int
	WorkingWeight float64
}

// CatalogPlan is the plan over a catalog.
type CatalogPlan struct {
	Rule string
	// Apps are the apps planned for (could-not-run ones are Unplanned).
	Apps      []*CatalogApp
	Unplanned []*CatalogApp
	// WorkingNow are the apps that need nothing.
	WorkingNow    int
	WorkingWeight float64
	TotalWeight   float64
	Steps         []CatalogStep
	// Cost is the sum of the steps' costs.
	Cost float64
}

// PlanCatalog orders the steps that make the apps work.
func PlanCatalog(apps []*CatalogApp) *CatalogPlan {
	p := &CatalogPlan{Rule: PlanRule}
	type stepKey struct {
		kind StepKind
		what string
	}
	needers := map[stepKey][]int{} // step → planned app indexes
	var remaining []map[stepKey]bool
	var left []float64
	for _, a := range apps {
		if a.Status == "could-not-run" {
			p.Unplanned = append(p.Unplanned, a)
			continue
		}
		if a.Weight <= 0 {
			a.Weight = 1
		}
		i := len(p.Apps)
		p.Apps = append(p.Apps, a)
		p.TotalWeight += a.Weight
		need := map[stepKey]bool{}
		cost := 0.0
		for _, n := range a.Needs {
			k := stepKey{n.Kind, n.What}
			if need[k] {
				continue
			}
			need[k] = true
			cost += StepCost[n.Kind]
			needers[k] = append(needers[k], i)
		}
		remaining = append(remaining, need)
		left = append(left, cost)
		if len(need) == 0 {
			p.WorkingNow++
			p.WorkingWeight += a.Weight
		}
	}
	working, weight := p.WorkingNow, p.WorkingWeight
	done := make([]bool, len(p.Apps))
	for i := range p.Apps {
		done[i] = len(remaining[i]) == 0
	}
	for {
		best := -1
		for i := range p.Apps {
			if done[i] {
				continue
			}
			if best < 0 {
				best = i
				continue
			}
			ri, rb := left[i]/p.Apps[i].Weight, left[best]/p.Apps[best].Weight
			if ri < rb || ri == rb && (len(remaining[i]) < len(remaining[best]) || len(remaining[i]) == len(remaining[best]) && p.Apps[i].Name < p.Apps[best].Name) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		var steps []stepKey
		for k := range remaining[best] {
			steps = append(steps, k)
		}
		sort.Slice(steps, func(x, y int) bool {
			cx, cy := StepCost[steps[x].kind], StepCost[steps[y].kind]
			if cx != cy {
				return cx < cy
			}
			if nx, ny := len(needers[steps[x]]), len(needers[steps[y]]); nx != ny {
				return nx > ny
			}
			return steps[x].what < steps[y].what
		})
		for _, k := range steps {
			st := CatalogStep{Kind: k.kind, What: k.what, Cost: StepCost[k.kind]}
			for _, i := range needers[k] {
				if done[i] || !remaining[i][k] {
					continue
				}
				delete(remaining[i], k)
				left[i] -= StepCost[k.kind]
				if len(remaining[i]) == 0 {
					done[i] = true
					working++
					weight += p.Apps[i].Weight
					st.Completes = append(st.Completes, p.Apps[i].Name)
				} else {
					st.Helps = append(st.Helps, p.Apps[i].Name)
				}
			}
			sort.Strings(st.Completes)
			sort.Strings(st.Helps)
			st.Working, st.WorkingWeight = working, weight
			p.Cost += st.Cost
			p.Steps = append(p.Steps, st)
		}
	}
	return p
}

// CatalogComparison is what changes between two catalogs' answers (two
// tables, two configs).
type CatalogComparison struct {
	From, To string
	// Changed are the apps whose status differs.
	Changed []StatusChange
	// OnlyFrom and OnlyTo are the apps answered on one side only.
	OnlyFrom, OnlyTo []string
	// Gone are the steps From's plan has and To's does not; New the
	// reverse.
	Gone, New          []CatalogStep
	FromPlan, ToPlan   *CatalogPlan
	FromApps, ToApps   int
	FromWorks, ToWorks int
}

// StatusChange is one app's status on each side.
type StatusChange struct {
	App, From, To string
	// FromNeeds and ToNeeds are what it needs on each side.
	FromNeeds, ToNeeds []string
}

// CompareCatalogs compares the apps answered against two tables or configs.
func CompareCatalogs(fromName string, from []*CatalogApp, toName string, to []*CatalogApp) *CatalogComparison {
	c := &CatalogComparison{From: fromName, To: toName, FromPlan: PlanCatalog(from), ToPlan: PlanCatalog(to)}
	needs := func(a *CatalogApp) []string {
		out := []string{}
		for _, n := range a.Needs {
			out = append(out, string(n.Kind)+" "+n.What)
		}
		return out
	}
	status := func(a *CatalogApp) string {
		if a.Status != "could-not-run" && len(a.Needs) == 0 {
			return "works"
		}
		return a.Status
	}
	byName := map[string]*CatalogApp{}
	for _, a := range to {
		byName[a.Name] = a
	}
	seen := map[string]bool{}
	for _, a := range from {
		seen[a.Name] = true
		b, ok := byName[a.Name]
		if !ok {
			c.OnlyFrom = append(c.OnlyFrom, a.Name)
			continue
		}
		if status(a) != status(b) || strings.Join(needs(a), ",") != strings.Join(needs(b), ",") {
			c.Changed = append(c.Changed, StatusChange{a.Name, status(a), status(b), needs(a), needs(b)})
		}
	}
	for _, b := range to {
		if !seen[b.Name] {
			c.OnlyTo = append(c.OnlyTo, b.Name)
		}
	}
	sort.Slice(c.Changed, func(i, j int) bool { return c.Changed[i].App < c.Changed[j].App })
	sort.Strings(c.OnlyFrom)
	sort.Strings(c.OnlyTo)
	has := func(p *CatalogPlan) map[string]bool {
		m := map[string]bool{}
		for _, s := range p.Steps {
			m[string(s.Kind)+" "+s.What] = true
		}
		return m
	}
	inFrom, inTo := has(c.FromPlan), has(c.ToPlan)
	for _, s := range c.FromPlan.Steps {
		if !inTo[string(s.Kind)+" "+s.What] {
			c.Gone = append(c.Gone, s)
		}
	}
	for _, s := range c.ToPlan.Steps {
		if !inFrom[string(s.Kind)+" "+s.What] {
			c.New = append(c.New, s)
		}
	}
	c.FromApps, c.ToApps = len(c.FromPlan.Apps), len(c.ToPlan.Apps)
	c.FromWorks, c.ToWorks = c.FromPlan.WorkingNow, c.ToPlan.WorkingNow
	return c
}

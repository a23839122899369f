package analyze

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestNeedOf(t *testing.T) {
	for _, tc := range []struct {
		key, name, impact, closure, probe string
		kind                              StepKind
		what                              string
		needed                            bool
	}{
		{"eventfd2", "eventfd2", "blocks", "configure: enable CONFIG_LIBPOSIX_EVENTFD", "", StepConfigure, "enable CONFIG_LIBPOSIX_EVENTFD", true},
		{"clone (fork)", "clone", "blocks", "implement", "", StepImplementUse, "clone (fork)", true},
		{"socket AF_NETLINK", "socket", "degrades", "implement", "", StepImplementUse, "socket AF_NETLINK", false},
		{"sendfile", "sendfile", "blocks", "implement", "", StepImplementCall, "sendfile", true},
		{"membarrier", "membarrier", "degrades", "implement", "works faked", StepFake, "membarrier", true},
		{"rseq", "rseq", "noise", "implement", "works faked", StepFake, "rseq", false},
		{"getxattr", "getxattr", "degrades", "implement", "works stubbed", StepStub, "getxattr", false},
		{"getxattr", "getxattr", "blocks", "implement", "works both", StepStub, "getxattr", true},
	} {
		n, needed := NeedOf(tc.key, tc.name, tc.impact, tc.closure, tc.probe)
		if n.Kind != tc.kind || n.What != tc.what || needed != tc.needed {
			t.Errorf("NeedOf(%q, %q, %q, %q) = %s %q %v; want %s %q %v", tc.key, tc.impact, tc.closure, tc.probe, n.Kind, n.What, needed, tc.kind, tc.what, tc.needed)
		}
	}
}

func need(kind StepKind, what string) CatalogNeed {
	return CatalogNeed{Kind: kind, What: what, Impact: "blocks"}
}

func TestPlanCatalog(t *testing.T) {
	apps := []*CatalogApp{
		{Name: "nginx", Status: "lacks", Needs: []CatalogNeed{need(StepConfigure, "CONFIG_LIBPOSIX_EVENTFD"), need(StepImplementUse, "clone (fork)"), need(StepImplementCall, "sendfile")}},
		{Name: "memcached", Status: "lacks", Needs: []CatalogNeed{need(StepConfigure, "CONFIG_LIBPOSIX_EVENTFD")}},
		{Name: "redis", Status: "lacks", Needs: []CatalogNeed{need(StepImplementUse, "clone (fork)")}},
		{Name: "sqlite3", Status: "works"},
		{Name: "ghost", Status: "could-not-run", Reason: "not installed"},
	}
	p := PlanCatalog(apps)
	if p.WorkingNow != 1 || len(p.Apps) != 4 || len(p.Unplanned) != 1 {
		t.Fatalf("working now %d, apps %d, unplanned %d", p.WorkingNow, len(p.Apps), len(p.Unplanned))
	}
	var got []string
	for _, s := range p.Steps {
		got = append(got, fmt.Sprintf("%s %s: completes %v helps %v → %d", s.Kind, s.What, s.Completes, s.Helps, s.Working))
	}
	want := []string{
		// memcached is cheapest (one configure step), and the same step helps nginx.
		"configure CONFIG_LIBPOSIX_EVENTFD: completes [memcached] helps [nginx] → 2",
		// then redis (one use, cost 4), which helps nginx too.
		"implement use clone (fork): completes [redis] helps [nginx] → 3",
		// nginx's last need.
		"implement syscall sendfile: completes [nginx] helps [] → 4",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(p.Rule, "configure 1, stub or fake 2, implement a use 4, implement a syscall 8") {
		t.Errorf("rule %q", p.Rule)
	}
	if p.Cost != 13 {
		t.Errorf("cost %g, want 13", p.Cost)
	}
}

// A weight lets a team favour an app: a heavy app that costs more comes
// first.
func TestPlanCatalogWeight(t *testing.T) {
	apps := []*CatalogApp{
		{Name: "a", Status: "lacks", Weight: 1, Needs: []CatalogNeed{need(StepConfigure, "X")}},
		{Name: "b", Status: "lacks", Weight: 20, Needs: []CatalogNeed{need(StepImplementCall, "sendfile")}},
	}
	p := PlanCatalog(apps)
	if p.Steps[0].What != "sendfile" || p.Steps[0].WorkingWeight != 20 {
		t.Errorf("first step %+v: want b's sendfile (8/20 < 1/1)", p.Steps[0])
	}
	apps[1].Weight = 1
	if p := PlanCatalog(apps); p.Steps[0].What != "X" {
		t.Errorf("unweighted, first step %+v: want a's configure", p.Steps[0])
	}
}

func TestCompareCatalogs(t *testing.T) {
	from := []*CatalogApp{
		{Name: "redis", Status: "lacks", Needs: []CatalogNeed{need(StepImplementUse, "clone (fork)")}},
		{Name: "nginx", Status: "lacks", Needs: []CatalogNeed{need(StepConfigure, "E"), need(StepImplementCall, "sendfile")}},
		{Name: "old", Status: "works"},
	}
	to := []*CatalogApp{
		{Name: "redis", Status: "lacks", Needs: []CatalogNeed{need(StepImplementUse, "clone (fork)")}},
		{Name: "nginx", Status: "lacks", Needs: []CatalogNeed{need(StepConfigure, "E")}},
		{Name: "new", Status: "lacks", Needs: []CatalogNeed{need(StepImplementCall, "io_uring_setup")}},
	}
	c := CompareCatalogs("a", from, "b", to)
	if len(c.Changed) != 1 || c.Changed[0].App != "nginx" || !reflect.DeepEqual(c.OnlyFrom, []string{"old"}) || !reflect.DeepEqual(c.OnlyTo, []string{"new"}) {
		t.Errorf("changed %+v only %v %v", c.Changed, c.OnlyFrom, c.OnlyTo)
	}
	if len(c.Gone) != 1 || c.Gone[0].What != "sendfile" || len(c.New) != 1 || c.New[0].What != "io_uring_setup" {
		t.Errorf("gone %+v new %+v", c.Gone, c.New)
	}
}

// The plan over 1,000 apps with 150 gaps each (from a pool of 400 needs,
// some shared by many apps, as real catalogs are).
func BenchmarkPlanCatalog(b *testing.B) {
	kinds := []StepKind{StepConfigure, StepStub, StepFake, StepImplementUse, StepImplementCall}
	apps := make([]*CatalogApp, 1000)
	for i := range apps {
		a := &CatalogApp{Name: fmt.Sprintf("app%04d", i), Status: "lacks", Weight: float64(1 + i%3)}
		for g := 0; g < 150; g++ {
			n := (i*7 + g*g*13) % 400
			a.Needs = append(a.Needs, CatalogNeed{Kind: kinds[n%len(kinds)], What: fmt.Sprintf("need%03d", n), Impact: "blocks"})
		}
		apps[i] = a
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := PlanCatalog(apps)
		if len(p.Steps) == 0 {
			b.Fatal("no steps")
		}
	}
}

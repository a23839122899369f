package catalog

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/catalog/store"
	"github.com/syscov/syscov/trace"
)

func TestReadLoupe(t *testing.T) {
	runs, warns, err := ReadLoupe("testdata/loupe")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 {
		t.Fatalf("%d runs, want 3 (nginx suite, redis suite and benchmark)", len(runs))
	}
	byKey := map[string]*LoupeRun{}
	for _, r := range runs {
		byKey[r.App+"/"+r.Workload] = r
	}
	ng := byKey["nginx/suite"]
	if ng == nil || ng.Hash != "9ab3c4" || ng.Command != "nginx -g 'daemon off;'" {
		t.Fatalf("nginx run %+v", ng)
	}
	var names []string
	for _, s := range ng.Syscalls {
		names = append(names, s.Name)
	}
	// Numbers are x86_64's; the malformed rows (lines 6 and 8) are
	// warned about and the rows around them kept.
	if got := strings.Join(names, " "); got != "read sendfile eventfd socketpair eventfd2" {
		t.Errorf("nginx syscalls %q", got)
	}
	if len(warns) != 2 || !strings.Contains(warns[0].Error(), filepath.Join("nginx", "suite", "9ab3c4", "dyn.csv")+":6: want 5 fields") ||
		!strings.Contains(warns[1].Error(), "dyn.csv:8: field 3 is \"maybe\"") {
		t.Errorf("warnings %v", warns)
	}
	rd := byKey["redis/suite"]
	if len(rd.Syscalls) != 7 { // prctl is not used
		t.Errorf("redis: %d used syscalls, want 7", len(rd.Syscalls))
	}
	for _, s := range rd.Syscalls {
		want := map[string]analyze.ProbeVerdict{"getrusage": analyze.WorksBoth, "madvise": analyze.WorksBoth, "sched_getaffinity": analyze.WorksFaked}[s.Name]
		if want == "" {
			want = analyze.Required
		}
		if s.Verdict() != want {
			t.Errorf("redis %s: %s, want %s", s.Name, s.Verdict(), want)
		}
	}
	if _, _, err := ReadLoupe(t.TempDir()); err == nil {
		t.Error("an empty directory is a Loupe database")
	}
}

// Loupe's runs join the plan beside syscov's own, judged against the
// table: a used syscall the table lacks is a gap whose evidence is
// Loupe's.
func TestImportLoupe(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	table, err := analyze.EmbeddedTable("unikraft@0.17.0")
	if err != nil {
		t.Fatal(err)
	}
	stored, kept, _, err := ImportLoupe(ctx, st, "testdata/loupe", table, false)
	if err != nil || stored != 3 || kept != 0 {
		t.Fatalf("import: %d stored, %d kept, %v", stored, kept, err)
	}
	if stored, kept, _, _ = ImportLoupe(ctx, st, "testdata/loupe", table, false); stored != 0 || kept != 3 {
		t.Errorf("again: %d stored, %d kept; want 0, 3", stored, kept)
	}
	judge, _ := analyze.NewJudge(table, nil)
	apps, err := PlanApps(ctx, st, PlanInput{Table: table.Name()})
	if err != nil || len(apps) != 2 {
		t.Fatalf("plan apps: %v %v", apps, err)
	}
	for _, a := range apps {
		if a.Verdict != "loupe" || a.Source != "loupe" {
			t.Errorf("%s: verdict %s source %s", a.Name, a.Verdict, a.Source)
		}
		for _, n := range a.Needs {
			if !strings.Contains(n.Evidence, "loupe: ") {
				t.Errorf("%s %s: evidence %q", a.Name, n.What, n.Evidence)
			}
		}
	}
	var ng *analyze.CatalogApp
	for _, a := range apps {
		if a.Name == "nginx" {
			ng = a
		}
	}
	// Every used syscall the table lacks, and only those, is a need of
	// nginx (Loupe found no stub or fake does for any of them).
	want := map[string]bool{}
	for _, n := range []string{"read", "sendfile", "eventfd", "socketpair", "eventfd2"} {
		if judge.Unsupported(trace.ArchX86_64, n, false) {
			want[n] = true
		}
	}
	for _, n := range ng.Needs {
		if n.Kind == analyze.StepStub || n.Kind == analyze.StepFake {
			t.Errorf("nginx %s: %s", n.What, n.Kind)
		}
	}
	if len(want) == 0 || len(ng.Needs) != len(want) {
		t.Errorf("nginx needs %v; the table lacks %v", ng.Needs, want)
	}
	p := analyze.PlanCatalog(apps)
	if len(p.Apps) != 2 || p.Steps == nil && len(want) > 0 {
		t.Errorf("plan %+v", p)
	}
}

func FuzzDynCSV(f *testing.F) {
	for _, p := range []string{"testdata/loupe/redis/suite/5f1e2d/dyn.csv", "testdata/loupe/nginx/suite/9ab3c4/dyn.csv"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Fuzz(func(t *testing.T, in string) {
		run := &LoupeRun{}
		warns, err := parseDynCSV("dyn.csv", strings.NewReader(in), run)
		if err != nil {
			return // a line too long for the scanner
		}
		for _, w := range warns {
			if !strings.HasPrefix(w.Error(), "dyn.csv:") {
				t.Errorf("warning %q names no line", w)
			}
		}
		for _, s := range run.Syscalls {
			if trace.Table(trace.ArchX86_64).Number(s.Name) < 0 {
				t.Errorf("kept %q", s.Name)
			}
		}
	})
}

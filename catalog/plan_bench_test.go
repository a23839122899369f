package catalog

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/catalog/store"
)

// The plan from a store of 100,000 gap rows (1,000 apps × 100 gaps):
// reading them back and planning.
func BenchmarkPlanFromStore(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "c.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	closures := []string{"configure: enable CONFIG_X", "implement", "implement", "implement"}
	for i := 0; i < 1000; i++ {
		r := &store.Result{Key: store.Key{App: fmt.Sprintf("app%04d", i), Table: "unikraft@0.17.0", Syscov: "0.1.0", Backend: "ptrace", Mode: "native"},
			Weight: 1, Status: store.Lacks, Source: "syscov", Started: time.Now()}
		for g := 0; g < 100; g++ {
			n := (i*7 + g*g*13) % 300
			imp := "blocks"
			if n%3 == 0 {
				imp = "degrades"
			}
			r.Gaps = append(r.Gaps, store.Gap{Key: fmt.Sprintf("sys%03d", n), Name: fmt.Sprintf("sys%03d", n), Level: "missing", Impact: imp, Closure: closures[n%4], Site: "main.c:1"})
		}
		if _, err := st.Put(ctx, r, false); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("1,000 results with 100,000 gaps written in %s", time.Since(start).Round(time.Millisecond))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		apps, err := PlanApps(ctx, st, PlanInput{Table: "unikraft@0.17.0"})
		if err != nil || len(apps) != 1000 {
			b.Fatal(len(apps), err)
		}
		if p := analyze.PlanCatalog(apps); len(p.Steps) == 0 {
			b.Fatal("no steps")
		}
	}
}

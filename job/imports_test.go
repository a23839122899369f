package job

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// The pipeline's direction: trace → analyze → report, packages importing
// only downward; job drives the three, catalog drives job (and writes
// catalog/store, which imports no stage), cmd drives them all. No package of a
// stage imports a later stage.
func TestImportsOnlyDownward(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "github.com/syscov/syscov/...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	const mod = "github.com/syscov/syscov/"
	stage := func(pkg string) int {
		p := strings.TrimPrefix(pkg, mod)
		switch {
		case strings.HasPrefix(p, "internal/"):
			return -1 // below every stage: helpers that import nothing of syscov
		case strings.HasPrefix(p, "trace"):
			return 0
		case strings.HasPrefix(p, "analyze"):
			return 1
		case strings.HasPrefix(p, "report"):
			return 2
		case strings.HasPrefix(p, "job"):
			return 3
		case strings.HasPrefix(p, "catalog/store"):
			return 4 // the catalog's store: plain values, no stage
		case strings.HasPrefix(p, "catalog"):
			return 5 // the catalog drives job and writes the store
		}
		return 6 // cmd
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, mod) && stage(imp) > stage(p.ImportPath) {
				t.Errorf("%s imports %s: a later stage", p.ImportPath, imp)
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d packages listed", n)
	}
}

package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syscov/syscov/catalog"
	"github.com/syscov/syscov/catalog/store"
)

// The shipped manifest: at least 30 real apps, each with its Debian
// package, and a CI subset of at least 8.
func TestShippedManifest(t *testing.T) {
	m, err := catalog.LoadManifest("../../catalog/apps.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ci, _ := catalog.SelectTagged(m, catalog.All, nil, "ci")
	if len(m.Apps) < 30 || len(ci) < 8 {
		t.Errorf("%d apps (want 30 or more), %d tagged ci (want 8 or more)", len(m.Apps), len(ci))
	}
	for _, a := range m.Apps {
		if a.Package == "" {
			t.Errorf("%s (%s) names no Debian package", a.Name, a.Pos)
		}
	}
}

// CI's subset of the shipped manifest, run for real: every app gets an
// answer (works or lacks), none a could-not-run. Its packages are
// installed by .ci/run; an absent one fails here, by name.
func TestShippedManifestCI(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	m, err := catalog.LoadManifest("../../catalog/apps.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ci, _ := catalog.SelectTagged(m, catalog.All, nil, "ci")
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	out, err := exec.Command(syscovBin(t), "catalog", "run", "../../catalog/apps.yaml", "--tag", "ci", "--jobs", "2", "--store", db, "--out", filepath.Join(dir, "out")).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("\n%s", out)
	status, _ := storedApps(t, db)
	if len(status) != len(ci) {
		t.Errorf("%d apps stored, want %d", len(status), len(ci))
	}
	for _, a := range ci {
		if s := status[a.Name]; s != store.Works && s != store.Lacks {
			t.Errorf("%s: %s (is Debian's %s installed?)", a.Name, s, a.Package)
		}
	}
	// The plan over them names the steps, with the rule.
	plan, err := exec.Command(syscovBin(t), "catalog", "plan", "--store", db).CombinedOutput()
	if err != nil || !strings.Contains(string(plan), "rule: greedy") {
		t.Errorf("plan: %v\n%s", err, plan)
	}
	t.Logf("\n%s", plan)
}

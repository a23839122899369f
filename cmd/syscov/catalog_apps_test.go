package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

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

// The shipped fan-out examples are valid and shard as the catalog does:
// the Indexed Job's SYSCOV_SHARDS is its completions, every engine runs
// catalog run --shard (auto, or the matrix's shard) into one store.
func TestFanOutDocs(t *testing.T) {
	var job struct {
		Spec struct {
			CompletionMode string `yaml:"completionMode"`
			Completions    int    `yaml:"completions"`
			Template       struct {
				Spec struct {
					Containers []struct {
						Command []string `yaml:"command"`
						Env     []struct{ Name, Value string }
					}
				}
			}
		}
	}
	data, err := os.ReadFile("../../docs/catalog/k8s-indexed-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &job); err != nil {
		t.Fatal(err)
	}
	c := job.Spec.Template.Spec.Containers[0]
	shards := ""
	for _, e := range c.Env {
		if e.Name == "SYSCOV_SHARDS" {
			shards = e.Value
		}
	}
	if job.Spec.CompletionMode != "Indexed" || shards != strconv.Itoa(job.Spec.Completions) || !strings.Contains(strings.Join(c.Command, " "), "catalog run /manifest/apps.yaml --shard auto") {
		t.Errorf("Indexed Job: mode %q, completions %d, SYSCOV_SHARDS %q, command %v", job.Spec.CompletionMode, job.Spec.Completions, shards, c.Command)
	}
	gha, err := os.ReadFile("../../docs/catalog/github-actions.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf map[string]any
	if err := yaml.Unmarshal(gha, &wf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"catalog matrix catalog/apps.yaml --shards", `--shard "${{ matrix.shard }}"`, "--store \"$SYSCOV_STORE\""} {
		if !strings.Contains(string(gha), want) {
			t.Errorf("the workflow lacks %q", want)
		}
	}
	sb, err := os.ReadFile("../../docs/catalog/slurm.sbatch")
	if err != nil || !strings.Contains(string(sb), "catalog run \"$manifest\" --shard auto") {
		t.Errorf("slurm.sbatch: %v", err)
	}
}

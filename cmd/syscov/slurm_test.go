package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syscov/syscov/catalog/store"
	"github.com/syscov/syscov/internal/testpg"
)

// TestCatalogSlurm runs a 3-app manifest as a real Slurm job array (one
// node: munged, slurmctld and slurmd started here, in a temporary
// directory, on ports 20817-20818) with the shipped batch script
// docs/catalog/slurm.sbatch, every task writing into one real
// PostgreSQL.
func TestCatalogSlurm(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	for _, p := range []string{"munged", "slurmctld", "slurmd", "sbatch", "scontrol"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s is absent (apt-get install slurm-wlm munge)", p)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("slurmd must run as root to start the tasks")
	}
	pg := testpg.Start(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	for _, d := range []string{"munge", "state", "spool", "log", "out"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, "munge"), 0o700)
	key := make([]byte, 1024)
	if f, err := os.Open("/dev/urandom"); err == nil {
		f.Read(key)
		f.Close()
	}
	if err := os.WriteFile(filepath.Join(dir, "munge", "munge.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "munge", "sock")
	logOf := func(name string) string {
		data, _ := os.ReadFile(filepath.Join(dir, "log", name))
		return string(data)
	}
	if out, err := exec.Command("munged", "-f", "-S", sock, "--key-file="+filepath.Join(dir, "munge", "munge.key"), "--log-file="+filepath.Join(dir, "log", "munged.log"),
		"--pid-file="+filepath.Join(dir, "munge", "munged.pid"), "--seed-file="+filepath.Join(dir, "munge", "seed")).CombinedOutput(); err != nil {
		t.Fatalf("munged: %v\n%s\n%s", err, out, logOf("munged.log"))
	}
	t.Cleanup(func() { exec.Command("munged", "-s", "-S", sock).Run() })
	host, err := exec.Command("hostname", "-s").Output()
	if err != nil {
		t.Fatal(err)
	}
	node := strings.TrimSpace(string(host))
	conf := filepath.Join(dir, "slurm.conf")
	cfg := fmt.Sprintf(`ClusterName=syscovtest
SlurmctldHost=%[2]s
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=%[1]s/munge/sock
CredType=cred/munge
SlurmctldPort=20817
SlurmdPort=20818
StateSaveLocation=%[1]s/state
SlurmdSpoolDir=%[1]s/spool
SlurmctldPidFile=%[1]s/slurmctld.pid
SlurmdPidFile=%[1]s/slurmd.pid
SlurmctldLogFile=%[1]s/log/slurmctld.log
SlurmdLogFile=%[1]s/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
NodeName=%[2]s CPUs=2 State=UNKNOWN
PartitionName=test Nodes=%[2]s Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
`, dir, node)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "SLURM_CONF="+conf)
	daemon := func(name string, args ...string) {
		c := exec.Command(name, args...)
		c.Env = env
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s\n%s", name, err, out, logOf(name+".log"))
		}
	}
	daemon("slurmctld", "-i")
	t.Cleanup(func() {
		c := exec.Command("scontrol", "shutdown")
		c.Env = env
		c.Run()
		time.Sleep(time.Second)
	})
	daemon("slurmd")
	// The node comes up.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := exec.Command("sinfo", "-h", "-o", "%t")
		c.Env = env
		out, _ := c.Output()
		if s := strings.TrimSpace(string(out)); s == "idle" || s == "mix" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node did not come up: sinfo says %q\n%s\n%s", out, logOf("slurmctld.log"), logOf("slurmd.log"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	input := filepath.Join(dir, "input.txt")
	os.WriteFile(input, []byte("b\na\n"), 0o644)
	manifest := filepath.Join(dir, "apps.yaml")
	os.WriteFile(manifest, []byte(fmt.Sprintf(`version: 1
apps:
  - {name: sort, package: coreutils, command: [sort, %[1]s]}
  - {name: sqlite3, package: sqlite3, command: [sqlite3, ":memory:", "select 1;"]}
  - {name: ghost, command: [no-such-program-syscov]}
`, input)), 0o644)
	script, _ := filepath.Abs("../../docs/catalog/slurm.sbatch")
	sb := exec.Command("sbatch", "--wait", "--array=0-2", "--chdir="+dir, "--output="+filepath.Join(dir, "out", "task-%a.out"), script, manifest, pg.URL)
	sb.Env = append(env, "SYSCOV_CATALOG_OUT="+filepath.Join(dir, "out"))
	start := time.Now()
	out, err := sb.CombinedOutput()
	var tasks strings.Builder
	for i := 0; i < 3; i++ {
		data, _ := os.ReadFile(filepath.Join(dir, "out", fmt.Sprintf("task-%d.out", i)))
		fmt.Fprintf(&tasks, "--- task %d\n%s", i, data)
	}
	if err != nil {
		t.Fatalf("sbatch: %v\n%s\n%s\n%s", err, out, tasks.String(), logOf("slurmctld.log"))
	}
	t.Logf("job array of 3 tasks: %s\n%s", time.Since(start).Round(time.Millisecond), tasks.String())
	s, err := store.Open(context.Background(), pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	shards := map[string]string{}
	err = s.Each(context.Background(), store.Filter{}, func(r *store.Result) error {
		if prev, ok := shards[r.App]; ok {
			t.Errorf("%s stored twice (shards %s, %s)", r.App, prev, r.Shard)
		}
		shards[r.App] = r.Shard + " " + string(r.Status)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each task its own shard; the tools get an answer (works or
	// lacks: that is the table's business), the absent one a could-not-run.
	for app, w := range map[string]string{"sort": "0/3 ", "sqlite3": "1/3 ", "ghost": "2/3 could-not-run"} {
		got := shards[app]
		if !strings.HasPrefix(got, w) || strings.Contains(got, "could-not-run") != (app == "ghost") {
			t.Errorf("%s: %q, want %q…", app, got, w)
		}
	}
	if len(shards) != 3 {
		t.Errorf("stored: %v", shards)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/syscov/syscov/catalog/store"
	"github.com/syscov/syscov/internal/testpg"
)

// catalogManifest is a manifest of real, quick commands: tools with real
// inputs, one not installed, one whose workload fails.
func catalogManifest(t *testing.T, dir string) string {
	t.Helper()
	input := filepath.Join(dir, "input.txt")
	if err := os.WriteFile(input, []byte("b\na\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := fmt.Sprintf(`version: 1
defaults:
  timeout: 60s
apps:
  - {name: true, package: coreutils, command: [/usr/bin/true]}
  - {name: ls, package: coreutils, command: [ls, -l, /]}
  - {name: sort, package: coreutils, command: [sort, %[1]s]}
  - {name: sha256sum, package: coreutils, command: [sha256sum, %[1]s]}
  - {name: gzip, package: gzip, command: [gzip, -c, %[1]s]}
  - {name: grep, package: grep, command: [grep, -c, a, %[1]s]}
  - {name: sqlite3, package: sqlite3, command: [sqlite3, ":memory:", "create table t(x); insert into t values (1); select * from t;"]}
  - {name: uname, package: coreutils, command: [uname, -a]}
  - {name: ghost, command: [no-such-program-syscov, --serve]}
  - {name: badwork, command: [sleep, "30"], workload: "exit 3"}
  - {name: dies, command: [python3, -c, "import os; os.abort()"]}
  - {name: fails, command: [sort, /nonexistent/input]}
  - {name: slow, command: [sleep, "60"], workload: "sleep 30", timeout: 2s}
`, input)
	path := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(path, []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func syscovBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("syscov") // testscript.Main put this test binary there as syscov
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// storedApps reads the store: app → status, and how many rows each app has.
func storedApps(t *testing.T, url string) (map[string]store.Status, map[string]int) {
	t.Helper()
	s, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	status, rows := map[string]store.Status{}, map[string]int{}
	err = s.Each(context.Background(), store.Filter{}, func(r *store.Result) error {
		status[r.App] = r.Status
		rows[r.App]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return status, rows
}

func checkCatalog(t *testing.T, status map[string]store.Status, rows map[string]int) {
	t.Helper()
	if len(status) != 13 {
		t.Errorf("%d apps stored, want 13: %v", len(status), status)
	}
	for app, n := range rows {
		if n != 1 {
			t.Errorf("%s stored %d times", app, n)
		}
	}
	for _, app := range []string{"ghost", "badwork", "dies", "fails", "slow"} {
		if status[app] != store.CouldNotRun {
			t.Errorf("%s: %s, want could-not-run", app, status[app])
		}
	}
	for _, app := range []string{"true", "ls", "sort", "sqlite3", "uname"} {
		if s := status[app]; s != store.Works && s != store.Lacks {
			t.Errorf("%s: %s, want an answer", app, s)
		}
	}
}

// Four shard processes of `syscov catalog run` write into one real
// PostgreSQL at once: every app once, none lost, none doubled.
func TestCatalogShardsPostgres(t *testing.T) {
	pg := testpg.Start(t)
	dir := t.TempDir()
	m := catalogManifest(t, dir)
	bin := syscovBin(t)
	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, 4)
	errs := make([]error, 4)
	start := time.Now()
	for k := 0; k < 4; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			cmd := exec.Command(bin, "catalog", "run", m, "--store", pg.URL, "--shard", fmt.Sprintf("%d/4", k), "--out", filepath.Join(dir, "out"))
			cmd.Stdout, cmd.Stderr = &outs[k], &outs[k]
			errs[k] = cmd.Run()
		}(k)
	}
	wg.Wait()
	t.Logf("4 shards: %s", time.Since(start).Round(time.Millisecond))
	for k := range errs {
		if errs[k] != nil {
			t.Errorf("shard %d/4: %v\n%s", k, errs[k], outs[k].String())
		}
	}
	status, rows := storedApps(t, pg.URL)
	checkCatalog(t, status, rows)
	// The same shards again: everything is stored already.
	out, err := exec.Command(bin, "catalog", "run", m, "--store", pg.URL, "--shard", "1/4", "--out", filepath.Join(dir, "out")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "0 apps stored (none), 3 stored already") {
		t.Errorf("rerun of 1/4: %v\n%s", err, out)
	}
}

// Several local jobs into one SQLite file.
func TestCatalogSQLiteJobs(t *testing.T) {
	dir := t.TempDir()
	m := catalogManifest(t, dir)
	db := filepath.Join(dir, "c.db")
	start := time.Now()
	out, err := exec.Command(syscovBin(t), "catalog", "run", m, "--store", db, "--jobs", "3", "--out", filepath.Join(dir, "out")).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("13 apps, --jobs 3: %s\n%s", time.Since(start).Round(time.Millisecond), out)
	status, rows := storedApps(t, db)
	checkCatalog(t, status, rows)
	for _, why := range []string{"could not run: not installed: no-such-program-syscov is not on PATH", "could not run: the app died of SIGABRT natively",
		"could not run: the app exited with status 2 natively", "could not run: timed out after 2s (the manifest's timeout)", `could not run: native run: workload "exit 3": exit status 3`} {
		if !strings.Contains(string(out), why) {
			t.Errorf("no %q in:\n%s", why, out)
		}
	}
	if log, err := os.ReadFile(filepath.Join(dir, "out", "sqlite3.log")); err != nil || !strings.Contains(string(log), "1\n") {
		t.Errorf("sqlite3's log (its output): %v\n%s", err, log)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "ls", "coverage.json")); err != nil {
		t.Errorf("ls's reports: %v", err)
	}
	// --rerun checks them again, replacing: still one row each.
	out, err = exec.Command(syscovBin(t), "catalog", "run", m, "--store", db, "--jobs", "3", "--only", "true,uname", "--rerun", "--out", filepath.Join(dir, "out")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "2 apps stored") {
		t.Errorf("--rerun: %v\n%s", err, out)
	}
	_, rows = storedApps(t, db)
	if rows["true"] != 1 || rows["uname"] != 1 {
		t.Errorf("after --rerun: %v", rows)
	}
}

// kill -9 in the middle of a run keeps every finished app and leaves no
// half-written row; the next run does the rest only.
func TestCatalogKillResume(t *testing.T) {
	pg := testpg.Start(t)
	for kind, db := range map[string]string{"sqlite": filepath.Join(t.TempDir(), "c.db"), "postgres": pg.URL} {
		t.Run(kind, func(t *testing.T) { killResume(t, db) })
	}
}

func killResume(t *testing.T, db string) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("version: 1\napps:\n")
	for i := 0; i < 6; i++ {
		// A server-like app that lives until syscov stops it, with a
		// workload that takes a second.
		fmt.Fprintf(&b, "  - {name: sleeper%d, command: [sleep, \"300\"], workload: \"sleep 1\"}\n", i)
	}
	m := filepath.Join(dir, "m.yaml")
	os.WriteFile(m, []byte(b.String()), 0o644)
	cmd := exec.Command(syscovBin(t), "catalog", "run", m, "--store", db, "--out", filepath.Join(dir, "out"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no app stored in 60s:\n%s", out.String())
		}
		if strings.Count(out.String(), "works") >= 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	status, rows := storedApps(t, db)
	if len(status) < 2 || len(status) >= 6 {
		t.Fatalf("after kill -9: %d apps stored, want from 2 to 5: %v", len(status), status)
	}
	killed := len(status)
	// The app being checked when syscov died is not left running (the
	// traced app dies with its tracer).
	time.Sleep(500 * time.Millisecond)
	if ps, _ := exec.Command("pgrep", "-f", "^sleep 300$").Output(); len(ps) > 0 {
		t.Errorf("left running after kill -9: pids %s", ps)
		for _, pid := range strings.Fields(string(ps)) {
			exec.Command("kill", "-9", pid).Run()
		}
	}
	out2, err := exec.Command(syscovBin(t), "catalog", "run", m, "--store", db, "--out", filepath.Join(dir, "out")).CombinedOutput()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out2)
	}
	if want := fmt.Sprintf("%d apps stored (%d works), %d stored already", 6-killed, 6-killed, killed); !strings.Contains(string(out2), want) {
		t.Errorf("resume: want %q in\n%s", want, out2)
	}
	status, rows = storedApps(t, db)
	if len(status) != 6 {
		t.Errorf("after resume: %v", status)
	}
	for app, n := range rows {
		if n != 1 {
			t.Errorf("%s stored %d times", app, n)
		}
	}
}

// An unreachable store, or one of a newer schema, is an error before any
// app runs: no app's log is written.
func TestCatalogStoreErrorsFirst(t *testing.T) {
	dir := t.TempDir()
	m := catalogManifest(t, dir)
	out := filepath.Join(dir, "out")
	res, err := exec.Command(syscovBin(t), "catalog", "run", m, "--store", "postgres://syscov:pw@127.0.0.1:20544/catalog?connect_timeout=3", "--out", out).CombinedOutput()
	if err == nil || !strings.Contains(string(res), "cannot reach it") || strings.Contains(string(res), ":pw@") {
		t.Errorf("unreachable store: %v\n%s", err, res)
	}
	db := filepath.Join(dir, "new.db")
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if out, err := exec.Command("sqlite3", db, fmt.Sprintf("insert into syscov_schema values (%d)", store.SchemaVersion+1)).CombinedOutput(); err != nil {
		t.Skipf("sqlite3 (the CLI) to write a newer schema: %v %s", err, out)
	}
	res, err = exec.Command(syscovBin(t), "catalog", "run", m, "--store", db, "--out", out).CombinedOutput()
	if err == nil || !strings.Contains(string(res), "newer than this syscov knows") {
		t.Errorf("newer store: %v\n%s", err, res)
	}
	if logs, _ := filepath.Glob(filepath.Join(out, "*.log")); len(logs) > 0 {
		t.Errorf("apps ran: %v", logs)
	}
	// A manifest mistake names file:line and the key, before any app runs.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\napps:\n  - name: a\n    command: redis-server\n"), 0o644)
	res, err = exec.Command(syscovBin(t), "catalog", "run", bad, "--store", filepath.Join(dir, "c.db"), "--out", out).CombinedOutput()
	if err == nil || !strings.Contains(string(res), "bad.yaml:4: command: want a list") {
		t.Errorf("bad manifest: %v\n%s", err, res)
	}
}

// Ctrl-C (SIGINT) stops the run: exit 130, the apps finished are kept,
// the one running is stopped and not stored, and nothing is left running.
func TestCatalogInterrupt(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m.yaml")
	os.WriteFile(m, []byte("version: 1\napps:\n  - {name: quick, command: [/usr/bin/true]}\n  - {name: long, command: [sleep, \"301\"], workload: \"sleep 60\"}\n"), 0o644)
	db := filepath.Join(dir, "c.db")
	cmd := exec.Command(syscovBin(t), "catalog", "run", m, "--store", db, "--out", filepath.Join(dir, "out"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "quick ") || exec.Command("pgrep", "-f", "^sleep 301$").Run() != nil {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the long app did not start:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if xe, ok := err.(*exec.ExitError); !ok || xe.ExitCode() != 130 {
		t.Errorf("after SIGINT: %v, want exit 130\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "interrupted: 1 apps stored") {
		t.Errorf("output:\n%s", out.String())
	}
	status, _ := storedApps(t, db)
	if len(status) != 1 || status["quick"] == "" {
		t.Errorf("stored %v, want quick only", status)
	}
	time.Sleep(300 * time.Millisecond)
	if ps, _ := exec.Command("pgrep", "-f", "^sleep 301$").Output(); len(ps) > 0 {
		t.Errorf("left running after SIGINT: %s", ps)
		for _, pid := range strings.Fields(string(ps)) {
			exec.Command("kill", "-9", pid).Run()
		}
	}
}

// plan and compare read what run stored: two tables side by side.
func TestCatalogPlanCompare(t *testing.T) {
	dir := t.TempDir()
	m := catalogManifest(t, dir)
	db := filepath.Join(dir, "c.db")
	for _, table := range []string{"unikraft@0.17.0", "unikraft@staging"} {
		if out, err := exec.Command(syscovBin(t), "catalog", "run", m, "--store", db, "--only", "ls,sqlite3,ghost", "--against", table, "--jobs", "2", "--out", filepath.Join(dir, "out")).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", table, err, out)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"catalog", "compare", "--store", db, "--from", "unikraft@0.17.0", "--to", "unikraft@staging", "--format", "json"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("compare: exit %d: %s", code, stderr.String())
	}
	var doc struct {
		Schema    string `json:"schema"`
		From, To  string
		Changed   []any `json:"changed"`
		StepsGone []any `json:"steps_gone"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || doc.Schema != "syscov.catalog-compare/v1" || doc.From != "unikraft@0.17.0" || doc.To != "unikraft@staging" {
		t.Errorf("compare: %v %+v\n%s", err, doc, stdout.String())
	}
	stdout.Reset()
	if code := run([]string{"catalog", "plan", "--store", db, "--against", "unikraft@staging", "--format", "markdown"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("plan: exit %d: %s", code, stderr.String())
	}
	if md := stdout.String(); !strings.Contains(md, "against `unikraft@staging`") || !strings.Contains(md, "| ls | works |") || !strings.Contains(md, "- ghost: could not run") {
		t.Errorf("plan:\n%s", md)
	}
	// Nothing selected: said, not an empty plan.
	if code := run([]string{"catalog", "plan", "--store", db, "--tag", "no-such-tag"}, nil, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "no results against") {
		t.Errorf("plan of an unused table: exit %d: %s", code, stderr.String())
	}
}

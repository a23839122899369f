package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syscov/syscov/internal/testpg"
)

// TestMain makes the test binary also a writer process of
// TestWriterProcesses: SYSCOV_STORE_WRITER=URL,SHARD,N.
func TestMain(m *testing.M) {
	if spec := os.Getenv("SYSCOV_STORE_WRITER"); spec != "" {
		os.Exit(writer(spec))
	}
	os.Exit(m.Run())
}

// stores opens each kind of store for t: a SQLite file and a real
// PostgreSQL server.
func stores(t *testing.T) map[string]string {
	return map[string]string{
		"sqlite":   filepath.Join(t.TempDir(), "c.db"),
		"postgres": testpg.Start(t).URL,
	}
}

func result(app string, gaps int) *Result {
	r := &Result{Key: Key{App: app, AppVersion: "1.0-1", Command: app + " --port {port}", Table: "unikraft@0.17.0", Syscov: "0.1.0", Backend: "ptrace", Mode: "native"},
		Package: app, Tags: []string{"server", "kv"}, Weight: 2, Status: Lacks, Source: "syscov", Distinct: 40, Missing: gaps, Blocking: 1, Calls: 1234, Supported: 0.97,
		Started: time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC), Seconds: 2.5, Host: "h", Shard: "0/1", CoverageJSON: `{"schema":"syscov.coverage/v1"}`}
	for i := 0; i < gaps; i++ {
		r.Gaps = append(r.Gaps, Gap{Key: fmt.Sprintf("sys%d", i), Name: fmt.Sprintf("sys%d", i), Nr: 300 + i, Calls: 10 - i, Level: "missing", Impact: "blocks",
			ImpactWhy: "why", Class: "process", Site: "main.c:12", Closure: "implement", Unikernel: "unsupported ENOSYS", Probe: "needed"})
	}
	return r
}

func TestStore(t *testing.T) {
	for kind, url := range stores(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			r := result("redis", 3)
			if ok, err := s.Put(ctx, r, false); err != nil || !ok {
				t.Fatalf("put: %v %v", ok, err)
			}
			if has, err := s.Has(ctx, r.Key); err != nil || !has {
				t.Fatalf("has: %v %v", has, err)
			}
			other := r.Key
			other.Table = "unikraft@0.18.0"
			if has, _ := s.Has(ctx, other); has {
				t.Errorf("another table's key is stored")
			}
			// Same key again: kept, not doubled.
			if ok, err := s.Put(ctx, result("redis", 5), false); err != nil || ok {
				t.Errorf("second put without replace: stored %v, %v", ok, err)
			}
			// Replaced: the new gaps only.
			nr := result("redis", 2)
			nr.Status = Works
			if ok, err := s.Put(ctx, nr, true); err != nil || !ok {
				t.Errorf("replace: %v %v", ok, err)
			}
			if ok, err := s.Put(ctx, result("nginx", 1), false); err != nil || !ok {
				t.Errorf("nginx: %v %v", ok, err)
			}
			var got []*Result
			if err := s.Each(ctx, Filter{WithJSON: true}, func(r *Result) error { got = append(got, r); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].App != "nginx" || got[1].App != "redis" {
				t.Fatalf("results %v", got)
			}
			g := got[1]
			if g.Status != Works || len(g.Gaps) != 2 || g.Gaps[0] != nr.Gaps[0] || g.Weight != 2 || g.Tags[1] != "kv" || g.Key != nr.Key ||
				!g.Started.Equal(nr.Started) || g.CoverageJSON != nr.CoverageJSON || g.Calls != 1234 || g.Supported != 0.97 {
				t.Errorf("read back %+v\nwant %+v", g, nr)
			}
			n, gaps, err := s.Count(ctx)
			if err != nil || n != 2 || gaps != 3 {
				t.Errorf("count: %d results, %d gaps, %v; want 2, 3", n, gaps, err)
			}
			var tagged []string
			s.Each(ctx, Filter{Tag: "kv", Table: "unikraft@0.17.0"}, func(r *Result) error { tagged = append(tagged, r.App); return nil })
			if len(tagged) != 2 {
				t.Errorf("tag kv: %v", tagged)
			}
			s.Each(ctx, Filter{Tag: "k"}, func(r *Result) error { t.Errorf("tag k matched %s", r.App); return nil })
			// Open again: the schema is there, nothing migrates twice.
			s2, err := Open(ctx, url)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			s2.Close()
		})
	}
}

// A store of a newer schema is refused, and left as it is.
func TestNewerSchema(t *testing.T) {
	for kind, url := range stores(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.db.Exec(s.q("INSERT INTO syscov_schema (version) VALUES (?)"), SchemaVersion+1); err != nil {
				t.Fatal(err)
			}
			s.Close()
			_, err = Open(ctx, url)
			var ne *NewerSchemaError
			if !errors.As(err, &ne) || ne.Found != SchemaVersion+1 {
				t.Fatalf("open of a newer store: %v", err)
			}
			t.Log(err)
		})
	}
}

// An unreachable server is an error from Open, quickly.
func TestUnreachable(t *testing.T) {
	start := time.Now()
	_, err := Open(context.Background(), "postgres://syscov:secret@127.0.0.1:20544/catalog?connect_timeout=3")
	if err == nil {
		t.Fatal("no error")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
	if s := err.Error(); !strings.Contains(s, "cannot reach it") || strings.Contains(s, "secret") {
		t.Errorf("error %q: want 'cannot reach it', without the password", s)
	}
	if _, err := Open(context.Background(), "/proc/nonexistent/dir/c.db"); err == nil {
		t.Error("a store in an impossible place opened")
	}
}

// writer is a process of TestWriterProcesses: it opens the store (all
// migrating at once) and writes n results of its own and n shared by all
// (the same keys: only one may be kept).
func writer(spec string) int {
	var url string
	var shard, n int
	if _, err := fmt.Sscanf(spec, "%d,%d,", &shard, &n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	url = spec[len(fmt.Sprintf("%d,%d,", shard, n)):]
	ctx := context.Background()
	s, err := Open(ctx, url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	for i := 0; i < n; i++ {
		for _, app := range []string{fmt.Sprintf("own-%d-%d", shard, i), fmt.Sprintf("shared-%d", i)} {
			if _, err := s.Put(ctx, result(app, 4), false); err != nil {
				fmt.Fprintln(os.Stderr, app, err)
				return 1
			}
		}
	}
	return 0
}

// Four processes write into one store at once (migrating it at once
// first): no row is lost, none doubled.
func TestWriterProcesses(t *testing.T) {
	const procs, n = 4, 60
	for kind, url := range stores(t) {
		t.Run(kind, func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make([]error, procs)
			outs := make([][]byte, procs)
			start := time.Now()
			for p := 0; p < procs; p++ {
				wg.Add(1)
				go func(p int) {
					defer wg.Done()
					cmd := exec.Command(os.Args[0])
					cmd.Env = append(os.Environ(), "SYSCOV_STORE_WRITER="+strconv.Itoa(p)+","+strconv.Itoa(n)+","+url)
					outs[p], errs[p] = cmd.CombinedOutput()
				}(p)
			}
			wg.Wait()
			elapsed := time.Since(start)
			for p := range errs {
				if errs[p] != nil {
					t.Fatalf("writer %d: %v\n%s", p, errs[p], outs[p])
				}
			}
			s, err := Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			results, gaps, err := s.Count(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if want := procs*n + n; results != want || gaps != 4*want {
				t.Errorf("%d results, %d gaps; want %d and %d", results, gaps, want, 4*want)
			}
			var dup int
			if err := s.db.QueryRow("SELECT COUNT(*) FROM (SELECT app FROM results GROUP BY app HAVING COUNT(*) > 1) d").Scan(&dup); err != nil || dup != 0 {
				t.Errorf("%d apps stored twice (%v)", dup, err)
			}
			var orphans int
			s.db.QueryRow("SELECT COUNT(*) FROM gaps WHERE result_id NOT IN (SELECT id FROM results)").Scan(&orphans)
			if orphans != 0 {
				t.Errorf("%d gaps without their result", orphans)
			}
			attempts := procs * 2 * n
			t.Logf("%s: %d processes, %d puts (%d stored, 5 rows each): %s, %.0f rows/s written", kind, procs, attempts, results, elapsed.Round(time.Millisecond),
				float64(results*5)/elapsed.Seconds())
		})
	}
}

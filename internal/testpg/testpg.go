// Package testpg starts a real PostgreSQL server for tests: Debian's
// initdb and pg_ctl (postgresql-15) in a temporary directory, reached
// through a Unix socket there (no TCP port is taken), stopped when the
// test ends. As root it runs the server as the postgres user, since
// initdb refuses root.
package testpg

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BinDir is where Debian puts PostgreSQL 15's server programs;
// SYSCOV_PG_BINDIR overrides it.
func BinDir() string {
	if d := os.Getenv("SYSCOV_PG_BINDIR"); d != "" {
		return d
	}
	return "/usr/lib/postgresql/15/bin"
}

// Server is a running test server.
type Server struct {
	Dir    string // data directory and socket directory's parent
	Socket string // the socket directory
	Port   int    // names the socket (.s.PGSQL.PORT)
	URL    string // postgres:// URL of the database "syscov"
}

// Start starts a server for t (skipping when the binaries are absent) and
// stops it at the end of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := BinDir()
	for _, p := range []string{"initdb", "pg_ctl", "createdb"} {
		if _, err := os.Stat(filepath.Join(bin, p)); err != nil {
			if p == "createdb" {
				continue
			}
			t.Skipf("PostgreSQL's %s is absent from %s (apt-get install postgresql-15, or set SYSCOV_PG_BINDIR)", p, bin)
		}
	}
	base, err := os.MkdirTemp("", "syscov-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	s := &Server{Dir: filepath.Join(base, "data"), Socket: filepath.Join(base, "sock"), Port: 20543}
	if err := os.MkdirAll(s.Socket, 0o755); err != nil {
		t.Fatal(err)
	}
	run := asServerUser(t, base)
	if out, err := run(filepath.Join(bin, "initdb"), "-D", s.Dir, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	logFile := filepath.Join(base, "server.log")
	opts := fmt.Sprintf("-c listen_addresses='' -c unix_socket_directories=%s -p %d -c fsync=off -c max_connections=100", s.Socket, s.Port)
	if out, err := run(filepath.Join(bin, "pg_ctl"), "-D", s.Dir, "-l", logFile, "-o", opts, "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(logFile)
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() {
		if out, err := run(filepath.Join(bin, "pg_ctl"), "-D", s.Dir, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
			t.Logf("pg_ctl stop: %v\n%s", err, out)
		}
	})
	s.URL = fmt.Sprintf("postgres://postgres@/postgres?host=%s&port=%d&sslmode=disable", s.Socket, s.Port)
	return s
}

// asServerUser makes commands that run as the postgres user when this
// process is root (initdb refuses root), owning dir.
func asServerUser(t testing.TB, dir string) func(name string, args ...string) *exec.Cmd {
	if os.Geteuid() != 0 {
		return func(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Skipf("running as root and there is no postgres user to run the server as (Debian's postgresql package makes one): %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Chown(p, uid, gid)
		}
		return nil
	})
	// The directories above dir must let the postgres user through.
	for d := filepath.Dir(dir); d != "/" && d != "."; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			t.Skipf("%s is not searchable by others: the postgres user cannot reach %s", d, dir)
		}
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skipf("running as root and no setpriv (util-linux) to run PostgreSQL as the postgres user")
	}
	return func(name string, args ...string) *exec.Cmd {
		c := exec.Command(setpriv, append([]string{"--reuid=" + u.Uid, "--regid=" + u.Gid, "--clear-groups", "--", name}, args...)...)
		c.Env = append(os.Environ(), "HOME="+dir, "LC_ALL=C")
		c.Dir = dir
		return c
	}
}

// Wait waits for the server's socket (a started server is ready; kept
// for the callers that restart it).
func (s *Server) Wait(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(s.Socket, fmt.Sprintf(".s.PGSQL.%d", s.Port))); err == nil {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// Quote quotes s for a shell.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Package store keeps the catalog's results: one row per app and key (what
// decides its answer), one row per gap of it, and the JSON documents the
// check wrote. It sits beside the pipeline, under catalog: catalog runs
// the checks (through job) and writes here; the plan reads from here. It
// imports no stage of the pipeline: what it stores are plain values.
//
// Two databases, one schema: an embedded SQLite file (the pure-Go driver
// modernc.org/sqlite, so that syscov stays free of cgo) and PostgreSQL
// (pgx's database/sql driver) for a team. The schema is versioned; Open
// migrates an older store and refuses a newer one.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	_ "modernc.org/sqlite"             // the "sqlite" driver
)

// DefaultPath is the SQLite store used when no --store is given.
const DefaultPath = "syscov-catalog.db"

// Key is what decides an app's answer: a stored result with the same key
// is the same answer, and a rerun skips it.
type Key struct {
	App        string // the manifest's name
	AppVersion string // the Debian package's version ("" when no package)
	Command    string // the command as the manifest has it ({port} unreplaced)
	Table      string // the support table judged against (unikraft@0.17.0)
	Config     string // the configuration: "" (the table's defaults), an image, a .config's digest
	Syscov     string // syscov's version
	Backend    string // the native tracer
	// Mode is what was run: native, native+probe, unikernel,
	// unikernel+probe; imported results say where from (loupe).
	Mode string
}

func (k Key) String() string {
	return fmt.Sprintf("%s %s [%s] against %s %s, syscov %s, %s, %s", k.App, k.AppVersion, k.Command, k.Table, k.Config, k.Syscov, k.Backend, k.Mode)
}

// Status is an app's answer.
type Status string

const (
	// Works: nothing the app needs is lacking.
	Works Status = "works"
	// Lacks: the app needs what the unikernel lacks (check's exit 4).
	Lacks Status = "lacks"
	// UnikernelFailed: the unikernel run proved nothing (no boot, a
	// crash, no syscall); the native answer is kept beside it.
	UnikernelFailed Status = "unikernel-failed"
	// CouldNotRun: the app could not be checked (not installed, died,
	// its workload or check failed, timed out); Reason says why. Never a
	// pass.
	CouldNotRun Status = "could-not-run"
)

// Result is one app's stored answer.
type Result struct {
	Key
	ID       int64
	Package  string
	Tags     []string
	Weight   float64
	Status   Status
	Reason   string // why, for could-not-run and unikernel-failed
	ExitCode int
	// Source is who produced it: syscov, or loupe for imported results.
	Source string
	// The coverage figures.
	Distinct, Missing, Blocking, Calls int
	Supported                          float64 // share of calls supported, 0..1
	Started                            time.Time
	Seconds                            float64
	Host, Shard                        string
	Log                                string // the app's log, where the run kept it
	Report                             string // the app's check report (report.html), where the run kept it
	// The JSON documents the check wrote (coverage, diff, probe), whole.
	CoverageJSON, DiffJSON, ProbeJSON string
	Gaps                              []Gap
}

// Gap is one use the unikernel does not fully support.
type Gap struct {
	Key       string // "socket", "clone (fork)", "socket AF_NETLINK"
	Name      string // the syscall
	Nr        int
	Calls     int
	Level     string // missing, partial, disabled, stubbed
	Impact    string // blocks, degrades, noise ("" when not judged)
	ImpactWhy string
	Class     string
	Site      string // the first call site
	Closure   string // implement, configure: CONFIG_…
	// Evidence: how a real unikernel run answered it, what probe found.
	Unikernel string
	Probe     string
	Note      string
}

// Store is an open results store.
type Store struct {
	db      *sql.DB
	dialect dialect
	where   string // for messages: the file or the server, no password
}

type dialect int

const (
	sqliteDialect dialect = iota
	postgresDialect
)

// Open opens (creating and migrating as needed) the store at spec:
// "" (DefaultPath), a file path or sqlite:PATH, or a postgres:// or
// postgresql:// URL. It reaches the store before it returns: an
// unreachable server is an error here, before any app runs.
func Open(ctx context.Context, spec string) (*Store, error) {
	s := &Store{}
	var err error
	switch {
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		s.dialect = postgresDialect
		s.where = redact(spec)
		s.db, err = sql.Open("pgx", spec)
	default:
		path := strings.TrimPrefix(strings.TrimPrefix(spec, "sqlite://"), "sqlite:")
		if path == "" {
			path = DefaultPath
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("store %s: %w", path, err)
			}
		}
		s.where = path
		// WAL lets readers go on while one job writes; busy_timeout makes
		// the writers of several local jobs wait their turn; _txlock
		// takes the write lock at BEGIN, so that a read-then-write
		// transaction never fails half-way for a lock.
		s.db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.where, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := s.db.PingContext(pctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store %s: cannot reach it: %w", s.where, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store %s: %w", s.where, err)
	}
	return s, nil
}

// redact drops the password of a URL, for messages.
func redact(spec string) string {
	u, err := url.Parse(spec)
	if err != nil {
		return "postgres://…"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

// Where names the store, for messages (no password).
func (s *Store) Where() string { return s.where }

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// q rewrites ? placeholders as the dialect wants them.
func (s *Store) q(query string) string {
	if s.dialect != postgresDialect {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

const keyWhere = "app = ? AND app_version = ? AND command = ? AND tbl = ? AND config = ? AND syscov = ? AND backend = ? AND mode = ?"

func keyArgs(k Key) []any {
	return []any{k.App, k.AppVersion, k.Command, k.Table, k.Config, k.Syscov, k.Backend, k.Mode}
}

// Has reports whether a result with key k is stored.
func (s *Store) Has(ctx context.Context, k Key) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM results WHERE "+keyWhere), keyArgs(k)...).Scan(&n)
	return n > 0, err
}

// Put stores r and its gaps in one transaction: a run killed at any point
// leaves either the whole result or none of it. A result already stored
// with the same key is kept (stored false) unless replace, when the new
// one takes its place.
func (s *Store) Put(ctx context.Context, r *Result, replace bool) (stored bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if replace {
		if _, err = tx.ExecContext(ctx, s.q("DELETE FROM gaps WHERE result_id IN (SELECT id FROM results WHERE "+keyWhere+")"), keyArgs(r.Key)...); err != nil {
			return false, err
		}
		if _, err = tx.ExecContext(ctx, s.q("DELETE FROM results WHERE "+keyWhere), keyArgs(r.Key)...); err != nil {
			return false, err
		}
	}
	args := append(keyArgs(r.Key), r.Package, strings.Join(r.Tags, ","), r.Weight, string(r.Status), r.Reason, r.ExitCode, r.Source,
		r.Distinct, r.Missing, r.Blocking, r.Calls, r.Supported, r.Started.UTC().Format(time.RFC3339Nano), r.Seconds, r.Host, r.Shard, r.Log, r.Report,
		r.CoverageJSON, r.DiffJSON, r.ProbeJSON)
	var id int64
	err = tx.QueryRowContext(ctx, s.q(`INSERT INTO results (app, app_version, command, tbl, config, syscov, backend, mode,
		package, tags, weight, status, reason, exit_code, source, distinct_uses, missing, blocking, calls, supported,
		started, seconds, host, shard, log, report, coverage_json, diff_json, probe_json)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (app, app_version, command, tbl, config, syscov, backend, mode) DO NOTHING RETURNING id`), args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.Rollback()
		return false, err
	}
	if err != nil {
		return false, err
	}
	ins, err := tx.PrepareContext(ctx, s.q(`INSERT INTO gaps (result_id, use_key, name, nr, calls, level, impact, impact_why, class, site, closure, unikernel, probe, note)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`))
	if err != nil {
		return false, err
	}
	defer ins.Close()
	for _, g := range r.Gaps {
		if _, err = ins.ExecContext(ctx, id, g.Key, g.Name, g.Nr, g.Calls, g.Level, g.Impact, g.ImpactWhy, g.Class, g.Site, g.Closure, g.Unikernel, g.Probe, g.Note); err != nil {
			return false, err
		}
	}
	if err = tx.Commit(); err != nil {
		return false, err
	}
	r.ID = id
	return true, nil
}

// Filter selects results.
type Filter struct {
	Table, Config string // "" any
	Tag           string // "" any
	App           string // "" any
	// Latest keeps, per app, table and config, only the newest result.
	Latest bool
	// WithJSON also loads the JSON documents (they are large).
	WithJSON bool
}

// Each calls f for every result the filter selects, in the order of app
// names, gaps loaded; it streams, so memory stays flat whatever the
// store's size.
func (s *Store) Each(ctx context.Context, flt Filter, f func(*Result) error) error {
	cols := `id, app, app_version, command, tbl, config, syscov, backend, mode, package, tags, weight, status, reason, exit_code, source,
		distinct_uses, missing, blocking, calls, supported, started, seconds, host, shard, log, report`
	if flt.WithJSON {
		cols += ", coverage_json, diff_json, probe_json"
	}
	var conds []string
	var args []any
	for _, c := range []struct{ col, v string }{{"tbl", flt.Table}, {"config", flt.Config}, {"app", flt.App}} {
		if c.v != "" {
			conds = append(conds, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if flt.Tag != "" {
		conds = append(conds, "(',' || tags || ',') LIKE ?")
		args = append(args, "%,"+flt.Tag+",%")
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+cols+" FROM results"+where+" ORDER BY app, tbl, config, started DESC, id DESC"), args...)
	if err != nil {
		return err
	}
	var batch []*Result
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := s.loadGaps(ctx, batch); err != nil {
			return err
		}
		for _, r := range batch {
			if err := f(r); err != nil {
				return err
			}
		}
		batch = batch[:0]
		return nil
	}
	var last [3]string
	for rows.Next() {
		r := &Result{}
		var tags, started string
		dst := []any{&r.ID, &r.App, &r.AppVersion, &r.Command, &r.Table, &r.Config, &r.Syscov, &r.Backend, &r.Mode, &r.Package, &tags, &r.Weight,
			&r.Status, &r.Reason, &r.ExitCode, &r.Source, &r.Distinct, &r.Missing, &r.Blocking, &r.Calls, &r.Supported, &started, &r.Seconds,
			&r.Host, &r.Shard, &r.Log, &r.Report}
		if flt.WithJSON {
			dst = append(dst, &r.CoverageJSON, &r.DiffJSON, &r.ProbeJSON)
		}
		if err := rows.Scan(dst...); err != nil {
			rows.Close()
			return err
		}
		if flt.Latest {
			k := [3]string{r.App, r.Table, r.Config}
			if k == last {
				continue
			}
			last = k
		}
		if tags != "" {
			r.Tags = strings.Split(tags, ",")
		}
		r.Started, _ = time.Parse(time.RFC3339Nano, started)
		batch = append(batch, r)
		if len(batch) == 500 {
			if err := flush(); err != nil {
				rows.Close()
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	rows.Close()
	return flush()
}

// loadGaps fills the gaps of the results.
func (s *Store) loadGaps(ctx context.Context, rs []*Result) error {
	byID := make(map[int64]*Result, len(rs))
	for _, r := range rs {
		byID[r.ID] = r
	}
	ids := make([]string, 0, len(rs))
	for _, r := range rs {
		ids = append(ids, fmt.Sprint(r.ID))
	}
	rows, err := s.db.QueryContext(ctx, "SELECT result_id, use_key, name, nr, calls, level, impact, impact_why, class, site, closure, unikernel, probe, note FROM gaps WHERE result_id IN ("+
		strings.Join(ids, ",")+") ORDER BY result_id, calls DESC, use_key")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var g Gap
		if err := rows.Scan(&id, &g.Key, &g.Name, &g.Nr, &g.Calls, &g.Level, &g.Impact, &g.ImpactWhy, &g.Class, &g.Site, &g.Closure, &g.Unikernel, &g.Probe, &g.Note); err != nil {
			return err
		}
		if r := byID[id]; r != nil {
			r.Gaps = append(r.Gaps, g)
		}
	}
	return rows.Err()
}

// Count is how many results and gaps the store holds.
func (s *Store) Count(ctx context.Context) (results, gaps int, err error) {
	if err = s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM results").Scan(&results); err != nil {
		return
	}
	err = s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM gaps").Scan(&gaps)
	return
}

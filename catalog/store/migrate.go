package store

import (
	"context"
	"fmt"
	"strings"
)

// SchemaVersion is the newest schema this syscov knows.
const SchemaVersion = 1

// migrations bring a store from version i to i+1 (migrations[i]); each
// runs in the transaction that records its version. {id} and {real} are
// the dialect's auto-increment key and floating type.
var migrations = []string{
	// 1: results keyed by what decides them; their gaps; the JSON kept.
	`CREATE TABLE results (
		id {id},
		app TEXT NOT NULL, app_version TEXT NOT NULL, command TEXT NOT NULL, tbl TEXT NOT NULL, config TEXT NOT NULL,
		syscov TEXT NOT NULL, backend TEXT NOT NULL, mode TEXT NOT NULL,
		package TEXT NOT NULL, tags TEXT NOT NULL, weight {real} NOT NULL,
		status TEXT NOT NULL, reason TEXT NOT NULL, exit_code INTEGER NOT NULL, source TEXT NOT NULL,
		distinct_uses INTEGER NOT NULL, missing INTEGER NOT NULL, blocking INTEGER NOT NULL, calls BIGINT NOT NULL, supported {real} NOT NULL,
		started TEXT NOT NULL, seconds {real} NOT NULL, host TEXT NOT NULL, shard TEXT NOT NULL, log TEXT NOT NULL, report TEXT NOT NULL,
		coverage_json TEXT NOT NULL, diff_json TEXT NOT NULL, probe_json TEXT NOT NULL,
		UNIQUE (app, app_version, command, tbl, config, syscov, backend, mode)
	);
	CREATE INDEX results_by_table ON results (tbl, config, app);
	CREATE TABLE gaps (
		result_id BIGINT NOT NULL REFERENCES results (id) ON DELETE CASCADE,
		use_key TEXT NOT NULL, name TEXT NOT NULL, nr INTEGER NOT NULL, calls BIGINT NOT NULL, level TEXT NOT NULL,
		impact TEXT NOT NULL, impact_why TEXT NOT NULL, class TEXT NOT NULL, site TEXT NOT NULL, closure TEXT NOT NULL,
		unikernel TEXT NOT NULL, probe TEXT NOT NULL, note TEXT NOT NULL
	);
	CREATE INDEX gaps_by_result ON gaps (result_id);
	CREATE INDEX gaps_by_use ON gaps (use_key);`,
}

// NewerSchemaError is a store written by a newer syscov.
type NewerSchemaError struct{ Found, Known int }

func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("the store's schema is version %d, newer than this syscov knows (%d): use a newer syscov (the store is left as it is)", e.Found, e.Known)
}

// migrate brings the store to SchemaVersion, one transaction per step; several
// processes starting at once wait for each other (PostgreSQL: an advisory
// lock; SQLite: the write lock taken at BEGIN).
func (s *Store) migrate(ctx context.Context) error {
	for {
		done, err := s.migrateStep(ctx)
		if err != nil || done {
			return err
		}
	}
}

func (s *Store) migrateStep(ctx context.Context) (done bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if s.dialect == postgresDialect {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7261726)"); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS syscov_schema (version INTEGER NOT NULL)"); err != nil {
		return false, fmt.Errorf("schema: %w", err)
	}
	var v int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM syscov_schema").Scan(&v); err != nil {
		return false, fmt.Errorf("schema: %w", err)
	}
	if v > SchemaVersion {
		return false, &NewerSchemaError{v, SchemaVersion}
	}
	if v == SchemaVersion {
		return true, tx.Commit()
	}
	ddl := migrations[v]
	id, real := "INTEGER PRIMARY KEY AUTOINCREMENT", "REAL"
	if s.dialect == postgresDialect {
		id, real = "BIGSERIAL PRIMARY KEY", "DOUBLE PRECISION"
	}
	ddl = strings.NewReplacer("{id}", id, "{real}", real).Replace(ddl)
	for _, stmt := range strings.Split(ddl, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("migration to version %d: %w", v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q("INSERT INTO syscov_schema (version) VALUES (?)"), v+1); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

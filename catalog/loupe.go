package catalog

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/catalog/store"
	"github.com/syscov/syscov/job"
	"github.com/syscov/syscov/trace"
)

// LoupeRun is one app's run in a Loupe database:
// DIR/APP/{suite|benchmark-X}/HASH/ with dyn.csv (# syscall, used, works
// faked, works stubbed, works both), cmd.txt and the Dockerfile.
type LoupeRun struct {
	App, Workload, Hash string
	Command             string
	Dir                 string
	Dockerfile          string // how Loupe built the app's container, when kept
	// Syscalls are the used syscalls with what Loupe found of each.
	Syscalls []LoupeSyscall
}

// LoupeSyscall is one row of dyn.csv whose syscall is used.
type LoupeSyscall struct {
	Name                 string
	Faked, Stubbed, Both bool
	Line                 int
}

// Verdict is the row as a probe verdict.
func (s LoupeSyscall) Verdict() analyze.ProbeVerdict {
	switch {
	case s.Both || s.Stubbed && s.Faked:
		return analyze.WorksBoth
	case s.Stubbed:
		return analyze.WorksStubbed
	case s.Faked:
		return analyze.WorksFaked
	}
	return analyze.Required
}

// ReadLoupe finds every run of a Loupe database. Malformed dyn.csv rows
// are warnings naming file:line; the rows around them are kept.
func ReadLoupe(dir string) (runs []*LoupeRun, warnings []error, err error) {
	apps, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range apps {
		if !a.IsDir() || strings.HasPrefix(a.Name(), ".") {
			continue
		}
		workloads, err := os.ReadDir(filepath.Join(dir, a.Name()))
		if err != nil {
			return nil, nil, err
		}
		for _, w := range workloads {
			if !w.IsDir() || !(w.Name() == "suite" || strings.HasPrefix(w.Name(), "benchmark")) {
				continue
			}
			hashes, err := os.ReadDir(filepath.Join(dir, a.Name(), w.Name()))
			if err != nil {
				return nil, nil, err
			}
			for _, h := range hashes {
				d := filepath.Join(dir, a.Name(), w.Name(), h.Name())
				if _, err := os.Stat(filepath.Join(d, "dyn.csv")); err != nil {
					continue
				}
				run := &LoupeRun{App: a.Name(), Workload: w.Name(), Hash: h.Name(), Dir: d}
				if _, err := os.Stat(filepath.Join(d, "Dockerfile")); err == nil {
					run.Dockerfile = filepath.Join(d, "Dockerfile")
				}
				if cmd, err := os.ReadFile(filepath.Join(d, "cmd.txt")); err == nil {
					run.Command = strings.TrimSpace(string(cmd))
				}
				warns, err := readDynCSV(filepath.Join(d, "dyn.csv"), run)
				if err != nil {
					return nil, nil, err
				}
				warnings = append(warnings, warns...)
				runs = append(runs, run)
			}
		}
	}
	if len(runs) == 0 {
		return nil, warnings, fmt.Errorf("%s: no Loupe runs (want APP/{suite|benchmark-X}/HASH/dyn.csv)", dir)
	}
	return runs, warnings, nil
}

func yes(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "y", "yes", "true", "1":
		return true, true
	case "n", "no", "false", "0":
		return false, true
	}
	return false, false
}

// readDynCSV reads dyn.csv into run: rows "SYSCALL,USED,FAKED,STUBBED,BOTH"
// with Y/N flags; SYSCALL is an x86_64 name or number (Loupe writes either).
func readDynCSV(path string, run *LoupeRun) ([]error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseDynCSV(path, f, run)
}

// parseDynCSV reads dyn.csv rows from r (named path in warnings).
func parseDynCSV(path string, r io.Reader, run *LoupeRun) ([]error, error) {
	tab := trace.Table(trace.ArchX86_64)
	var warns []error
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Split(text, ",")
		if len(f) != 5 {
			warns = append(warns, fmt.Errorf("%s:%d: want 5 fields (syscall, used, works faked, works stubbed, works both), got %d", path, line, len(f)))
			continue
		}
		name := strings.TrimSpace(f[0])
		if nr, err := strconv.Atoi(name); err == nil {
			n, ok := tab.Name(nr)
			if !ok {
				warns = append(warns, fmt.Errorf("%s:%d: syscall number %d is not an x86_64 syscall", path, line, nr))
				continue
			}
			name = n
		} else if tab.Number(name) < 0 {
			warns = append(warns, fmt.Errorf("%s:%d: %q is not an x86_64 syscall", path, line, name))
			continue
		}
		var flags [4]bool
		ok := true
		for i := 0; i < 4; i++ {
			var good bool
			if flags[i], good = yes(f[i+1]); !good {
				warns = append(warns, fmt.Errorf("%s:%d: field %d is %q: want Y or N", path, line, i+2, f[i+1]))
				ok = false
				break
			}
		}
		if !ok || !flags[0] {
			continue
		}
		run.Syscalls = append(run.Syscalls, LoupeSyscall{Name: name, Faked: flags[1], Stubbed: flags[2], Both: flags[3], Line: line})
	}
	if err := sc.Err(); err != nil {
		return warns, fmt.Errorf("%s: %w", path, err)
	}
	return warns, nil
}

// LoupeResult judges a Loupe run against a table: each used syscall the
// table does not support is a gap whose evidence is Loupe's probe (a stub
// or a fake does: degrades; neither: blocks).
func LoupeResult(run *LoupeRun, table *analyze.SupportTable) (*store.Result, error) {
	judge, err := analyze.NewJudge(table, nil)
	if err != nil {
		return nil, err
	}
	arch := trace.ArchX86_64
	res := &store.Result{Key: store.Key{App: run.App, AppVersion: run.Hash, Command: run.Command, Table: table.Name(), Syscov: job.Version, Backend: "loupe", Mode: "loupe:" + run.Workload},
		Tags: []string{"loupe"}, Weight: 1, Status: store.Works, Source: "loupe", Started: time.Now(), Log: filepath.Join(run.Dir, "dyn.csv"), Report: run.Dockerfile, Distinct: len(run.Syscalls)}
	sort.Slice(run.Syscalls, func(i, j int) bool { return run.Syscalls[i].Name < run.Syscalls[j].Name })
	for _, s := range run.Syscalls {
		if !judge.Unsupported(arch, s.Name, false) {
			continue
		}
		v := s.Verdict()
		g := store.Gap{Key: s.Name, Name: s.Name, Nr: trace.Table(arch).Number(s.Name), Level: string(table.Lookup(arch, s.Name).Level), Probe: string(v),
			Closure: judge.Closure(arch, s.Name, s.Name, ""), Site: fmt.Sprintf("dyn.csv:%d", s.Line)}
		if v.Cheap() {
			g.Impact, g.ImpactWhy = "degrades", "Loupe: the app works with it "+strings.TrimPrefix(string(v), "works ")
		} else {
			g.Impact, g.ImpactWhy = "blocks", "Loupe: the app fails with it stubbed and with it faked"
			res.Blocking++
			res.Status = store.Lacks
		}
		res.Missing++
		res.Gaps = append(res.Gaps, g)
	}
	return res, nil
}

// ImportLoupe stores every run of a Loupe database as results.
func ImportLoupe(ctx context.Context, st *store.Store, dir string, table *analyze.SupportTable, replace bool) (stored, kept int, warnings []error, err error) {
	runs, warnings, err := ReadLoupe(dir)
	if err != nil {
		return 0, 0, warnings, err
	}
	for _, run := range runs {
		res, err := LoupeResult(run, table)
		if err != nil {
			return stored, kept, warnings, err
		}
		ok, err := st.Put(ctx, res, replace)
		if err != nil {
			return stored, kept, warnings, err
		}
		if ok {
			stored++
		} else {
			kept++
		}
	}
	return stored, kept, warnings, nil
}

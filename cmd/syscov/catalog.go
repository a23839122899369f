package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/syscov/syscov/catalog"
	"github.com/syscov/syscov/catalog/store"
	"github.com/syscov/syscov/job"
	"github.com/syscov/syscov/trace/native"
)

// catalogSubcommands are the subcommands of catalog, for the completions.
var catalogSubcommands = []string{"run", "matrix"}

func runCatalog(e *env, args []string) error {
	if len(args) == 0 {
		return job.Usagef("want a subcommand: %s", strings.Join(catalogSubcommands, ", "))
	}
	switch args[0] {
	case "run":
		return runCatalogRun(e, args[1:])
	case "matrix":
		return runCatalogMatrix(e, args[1:])
	case "-h", "--help":
		fmt.Fprintln(e.stderr, "usage: syscov catalog run MANIFEST [--store URL] [--jobs N] [--shard K/N|auto] [--only NAME,…] [--unikernel] [--probe] [--rerun]\n       syscov catalog matrix MANIFEST --shards N")
		return nil
	}
	return job.Usagef("unknown subcommand %q: want %s", args[0], strings.Join(catalogSubcommands, ", "))
}

func registerStore(fs interface {
	StringVar(p *string, name, value, usage string)
}, to *string) {
	fs.StringVar(to, "store", "", "the results store: a SQLite file (default "+store.DefaultPath+"), sqlite:PATH, or postgres://USER@HOST/DB")
}

func runCatalogRun(e *env, args []string) error {
	fs := newFlagSet(e, "catalog run", "catalog run MANIFEST [--store URL] [--jobs N] [--shard K/N|auto] [--only NAME,…] [--unikernel] [--probe] [--rerun]")
	var storeURL string
	registerStore(fs, &storeURL)
	jobs := fs.Int("jobs", 1, "apps checked at once on this machine")
	shardSpec := fs.String("shard", "", "this machine's share: K/N (0 <= K < N: the apps at positions i with i mod N = K), or auto (a Kubernetes Indexed Job, a Slurm array)")
	only := fs.StringSlice("only", nil, "only these apps (names, comma-separated)")
	uk := fs.Bool("unikernel", false, "also run each app that has a unikernel: section in its image")
	probeApps := fs.Bool("probe", false, "also probe each app that has a probe: section (which missing syscalls a stub or a fake does for)")
	rerun := fs.Bool("rerun", false, "check apps again whose result is stored with the same key (replacing it)")
	out := fs.String("out", "catalog-out", "directory for each app's reports (OUT/NAME/) and log (OUT/NAME.log)")
	against := fs.String("against", "unikraft", "support table: unikraft, unikraft@VERSION (built in) or a file from 'syscov kb import'")
	var configPath string
	registerConfig(fs, &configPath)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return job.Usagef("want one manifest: syscov catalog run MANIFEST")
	}
	if *jobs < 1 || *jobs > 256 {
		return job.Usagef("--jobs %d: want 1 to 256", *jobs)
	}
	shard, err := catalog.ParseShard(*shardSpec, os.Getenv)
	if err != nil {
		return &job.UsageError{Msg: err.Error()}
	}
	m, err := catalog.LoadManifest(fs.Arg(0))
	if err != nil {
		return err
	}
	apps, err := catalog.Select(m, shard, *only)
	if err != nil {
		return &job.UsageError{Msg: err.Error()}
	}
	table, err := job.LoadSupportTable(*against)
	if err != nil {
		return err
	}
	cfg, err := job.LoadConfig(configPath)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The store is reached before any app runs.
	st, err := store.Open(ctx, storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(e.stderr, "syscov catalog: %d of %d apps of %s (shard %s) into %s, %d at a time\n", len(apps), len(m.Apps), m.Path, shard, st.Where(), *jobs)
	r := &catalog.Runner{Store: st, Judgement: job.Judgement{Table: table, Config: cfg}, TableSpec: *against, ConfigPath: configPath,
		Backend: native.BackendPtrace, Jobs: *jobs, Out: *out, ManifestDir: filepath.Dir(m.Path), Unikernel: *uk, Probe: *probeApps, Rerun: *rerun,
		Shard: shard, Stdout: e.stdout, Stderr: e.stderr, Manifest: m.Path}
	sum, err := r.Run(ctx, apps)
	if sum != nil {
		var parts []string
		for _, s := range []store.Status{store.Works, store.Lacks, store.UnikernelFailed, store.CouldNotRun} {
			if n := sum.ByStatus[s]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, s))
			}
		}
		if len(parts) == 0 {
			parts = []string{"none"}
		}
		fmt.Fprintf(e.stdout, "%d apps stored (%s), %d stored already, in %s; store %s\n", sum.Stored, strings.Join(parts, ", "), sum.Skipped, sum.Elapsed.Round(100e6), st.Where())
	}
	return err
}

// runCatalogMatrix prints a GitHub Actions matrix: {"shard": ["0/N", …]}.
func runCatalogMatrix(e *env, args []string) error {
	fs := newFlagSet(e, "catalog matrix", "catalog matrix MANIFEST --shards N")
	shards := fs.Int("shards", 4, "how many machines")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return job.Usagef("want one manifest: syscov catalog matrix MANIFEST --shards N")
	}
	if *shards < 1 || *shards > 256 {
		return job.Usagef("--shards %d: want 1 to 256 (GitHub Actions runs at most 256 jobs of a matrix)", *shards)
	}
	m, err := catalog.LoadManifest(fs.Arg(0))
	if err != nil {
		return err
	}
	type entry struct {
		Shard string   `json:"shard"`
		Apps  []string `json:"apps"`
	}
	var include []entry
	for k := 0; k < *shards; k++ {
		s := catalog.Shard{Index: k, Count: *shards}
		var names []string
		for _, a := range m.Apps {
			if s.Has(a.Index) {
				names = append(names, a.Name)
			}
		}
		if len(names) == 0 {
			continue // more shards than apps
		}
		sort.Strings(names)
		include = append(include, entry{s.String(), names})
	}
	data, err := json.Marshal(map[string]any{"include": include})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s\n", data)
	return nil
}

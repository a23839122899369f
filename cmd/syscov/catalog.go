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
	"time"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/catalog"
	"github.com/syscov/syscov/catalog/store"
	"github.com/syscov/syscov/job"
	"github.com/syscov/syscov/report"
	"github.com/syscov/syscov/trace/native"
)

func init() {
	examples["catalog run"] = []string{
		"syscov catalog run catalog/apps.yaml --jobs 2",
		"syscov catalog run apps.yaml --store postgres://syscov@db/catalog --shard auto --unikernel --probe",
		"syscov catalog run apps.yaml --only redis,nginx --rerun",
	}
	examples["catalog matrix"] = []string{"syscov catalog matrix catalog/apps.yaml --shards 4"}
	examples["catalog plan"] = []string{
		"syscov catalog plan",
		"syscov catalog plan --against unikraft@0.17.0 --format markdown > tracking-issue.md",
		"syscov catalog plan --store postgres://syscov@db/catalog --tag server --format html > plan.html",
	}
	examples["catalog compare"] = []string{"syscov catalog compare --from unikraft@0.17.0 --to unikraft@staging", "syscov catalog compare --from unikraft@0.17.0 --to unikraft@0.17.0:build/.config"}
	examples["catalog import-loupe"] = []string{"syscov catalog import-loupe ../loupedb --against unikraft@0.17.0"}
}

// catalogSubcommands are the subcommands of catalog, for the completions.
var catalogSubcommands = []string{"run", "plan", "compare", "matrix", "import-loupe"}

func runCatalog(e *env, args []string) error {
	if len(args) == 0 {
		return job.Usagef("want a subcommand: %s", strings.Join(catalogSubcommands, ", "))
	}
	switch args[0] {
	case "run":
		return runCatalogRun(e, args[1:])
	case "matrix":
		return runCatalogMatrix(e, args[1:])
	case "plan":
		return runCatalogPlan(e, args[1:])
	case "compare":
		return runCatalogCompare(e, args[1:])
	case "import-loupe":
		return runCatalogImportLoupe(e, args[1:])
	case "-h", "--help":
		fmt.Fprintln(e.stderr, `usage: syscov catalog run MANIFEST [--store URL] [--jobs N] [--shard K/N|auto] [--only NAME,…] [--unikernel] [--probe] [--rerun]
       syscov catalog plan [--store URL] [--against TABLE] [--config FILE] [--tag T] [--format table|markdown|json|html]
       syscov catalog compare --from TABLE[:CONFIG] --to TABLE[:CONFIG] [--store URL]
       syscov catalog matrix MANIFEST --shards N
       syscov catalog import-loupe DIR [--store URL] [--against TABLE]`)
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
	fs := newFlagSet(e, "catalog run", "catalog run MANIFEST [--store URL] [--jobs N] [--shard K/N|auto] [--only NAME,…] [--tag T] [--unikernel] [--probe] [--rerun]")
	var storeURL string
	registerStore(fs, &storeURL)
	jobs := fs.Int("jobs", 1, "apps checked at once on this machine")
	shardSpec := fs.String("shard", "", "this machine's share: K/N (0 <= K < N: the apps at positions i with i mod N = K), or auto (a Kubernetes Indexed Job, a Slurm array)")
	only := fs.StringSlice("only", nil, "only these apps (names, comma-separated)")
	tag := fs.String("tag", "", "only the apps with this tag")
	uk := fs.Bool("unikernel", false, "also run each app that has a unikernel: section in its image")
	probeApps := fs.Bool("probe", false, "also probe each app that has a probe: section (which missing syscalls a stub or a fake does for)")
	rerun := fs.Bool("rerun", false, "check apps again whose result is stored with the same key (replacing it)")
	out := fs.String("out", "catalog-out", "directory for each app's reports (OUT/NAME/) and log (OUT/NAME.log)")
	against := fs.String("against", "unikraft", "support table: unikraft, unikraft@VERSION (built in) or a file from 'syscov kb import'")
	var configPath string
	registerConfig(fs, &configPath)
	var bf backendFlags
	bf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return job.Usagef("want one manifest: syscov catalog run MANIFEST")
	}
	var ncfg native.Config
	if err := bf.apply(&ncfg); err != nil {
		return err
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
	apps, err := catalog.SelectTagged(m, shard, *only, *tag)
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
		Backend: ncfg.Backend, Jobs: *jobs, Out: *out, ManifestDir: filepath.Dir(m.Path), Unikernel: *uk, Probe: *probeApps, Rerun: *rerun,
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

// tableName is the name of the table --against names (unikraft@0.17.0).
func tableName(spec string) (string, error) {
	t, err := job.LoadSupportTable(spec)
	if err != nil {
		return "", err
	}
	return t.Name(), nil
}

func runCatalogPlan(e *env, args []string) error {
	fs := newFlagSet(e, "catalog plan", "catalog plan [--store URL] [--against TABLE] [--config FILE] [--tag T] [--format table|markdown|json|html]")
	var storeURL string
	registerStore(fs, &storeURL)
	against := fs.String("against", "unikraft", "the support table the apps were checked against: unikraft, unikraft@VERSION or a file")
	configPath := fs.String("config", "", "only the results checked with this .config (as catalog run --config gave it)")
	tag := fs.String("tag", "", "only the apps with this tag")
	format := fs.String("format", "table", "output format: table, markdown (a task list for a tracking issue), json or html")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		return &job.UsageError{Msg: err.Error()}
	}
	name, err := tableName(*against)
	if err != nil {
		return err
	}
	in := catalog.PlanInput{Table: name, Tag: *tag}
	if *configPath != "" {
		in.Config = "config " + catalog.ConfigKey(*configPath)
	}
	st, err := store.Open(context.Background(), storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	apps, err := catalog.PlanApps(context.Background(), st, in)
	if err != nil {
		return err
	}
	if len(apps) == 0 {
		return fmt.Errorf("no results against %s in %s (syscov catalog run MANIFEST --against %s first)", name, st.Where(), *against)
	}
	against_ := name
	if in.Config != "" {
		against_ += " with " + in.Config
	}
	return report.Render(e.stdout, f, report.CatalogPlanDoc{Plan: analyze.PlanCatalog(apps), Against: against_, Store: st.Where(),
		Generated: "generated by syscov " + job.Version + " at " + time.Now().UTC().Format(time.RFC3339)})
}

// side reads TABLE[:CONFIG] of catalog compare.
func side(spec string) (catalog.PlanInput, string, error) {
	table, cfg, _ := strings.Cut(spec, ":")
	name, err := tableName(table)
	if err != nil {
		return catalog.PlanInput{}, "", err
	}
	in := catalog.PlanInput{Table: name}
	label := name
	if cfg != "" {
		in.Config = "config " + catalog.ConfigKey(cfg)
		label += " with " + filepath.Base(cfg)
	}
	return in, label, nil
}

func runCatalogCompare(e *env, args []string) error {
	fs := newFlagSet(e, "catalog compare", "catalog compare --from TABLE[:CONFIG] --to TABLE[:CONFIG] [--store URL] [--tag T] [--format table|markdown|json]")
	var storeURL string
	registerStore(fs, &storeURL)
	from := fs.String("from", "", "one side: the table the apps were checked against, and optionally :CONFIG, the .config they were checked with")
	to := fs.String("to", "", "the other side, as --from")
	tag := fs.String("tag", "", "only the apps with this tag")
	format := fs.String("format", "table", "output format: table, markdown or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return job.Usagef("want --from and --to: syscov catalog compare --from unikraft@0.17.0 --to unikraft@0.18.0")
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		return &job.UsageError{Msg: err.Error()}
	}
	if err := report.Supports(f, report.CatalogCompareDoc{}); err != nil {
		return err
	}
	st, err := store.Open(context.Background(), storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	var apps [2][]*analyze.CatalogApp
	var labels [2]string
	for i, spec := range []string{*from, *to} {
		in, label, err := side(spec)
		if err != nil {
			return err
		}
		in.Tag = *tag
		if apps[i], err = catalog.PlanApps(context.Background(), st, in); err != nil {
			return err
		}
		if len(apps[i]) == 0 {
			return fmt.Errorf("no results against %s in %s (syscov catalog run MANIFEST --against … first)", label, st.Where())
		}
		labels[i] = label
	}
	return report.Render(e.stdout, f, report.CatalogCompareDoc{Comparison: analyze.CompareCatalogs(labels[0], apps[0], labels[1], apps[1])})
}

func runCatalogImportLoupe(e *env, args []string) error {
	fs := newFlagSet(e, "catalog import-loupe", "catalog import-loupe DIR [--store URL] [--against TABLE] [--rerun]")
	var storeURL string
	registerStore(fs, &storeURL)
	against := fs.String("against", "unikraft", "the support table the apps' syscalls are judged against")
	replace := fs.Bool("rerun", false, "replace runs imported before")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return job.Usagef("want one Loupe database directory: syscov catalog import-loupe DIR")
	}
	table, err := job.LoadSupportTable(*against)
	if err != nil {
		return err
	}
	st, err := store.Open(context.Background(), storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	stored, kept, warnings, err := catalog.ImportLoupe(context.Background(), st, fs.Arg(0), table, *replace)
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "syscov: warning: %v\n", w)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d Loupe runs imported against %s, %d imported before; store %s\n", stored, table.Name(), kept, st.Where())
	return nil
}

package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/catalog/store"
	"github.com/syscov/syscov/job"
	"github.com/syscov/syscov/trace/native"
	"github.com/syscov/syscov/trace/probe"
	"github.com/syscov/syscov/trace/workload"
)

// Runner checks the apps of a manifest into a store.
type Runner struct {
	Store *store.Store
	// Judgement is what every app is judged by; TableSpec names its table
	// as --against gave it (probe loads it again), ConfigPath its
	// --config ("" none).
	Judgement  job.Judgement
	TableSpec  string
	ConfigPath string
	Backend    native.Backend
	Jobs       int
	// Out is where each app's reports (OUT/NAME/) and log (OUT/NAME.log)
	// go.
	Out string
	// ManifestDir resolves an app's relative paths (images, configs).
	ManifestDir string
	// Unikernel also runs the apps that have a unikernel run; Probe also
	// probes the apps that ask for it; Rerun checks apps whose key is
	// stored already.
	Unikernel, Probe, Rerun bool
	Shard                   Shard
	// Stdout gets a line per app; Stderr the progress (on a terminal).
	Stdout, Stderr io.Writer
	// Manifest names the manifest in the rerun commands of the reports.
	Manifest string
}

// Summary counts what a run did.
type Summary struct {
	Stored, Skipped int
	ByStatus        map[store.Status]int
	Elapsed         time.Duration
}

// Run checks apps, Jobs at a time. An app that cannot be checked is a
// stored could-not-run row, never the end of the run; the run ends early
// only when ctx is canceled (the apps running then are stopped and not
// stored: the next run does them) or the store fails.
func (r *Runner) Run(ctx context.Context, apps []*App) (*Summary, error) {
	jobs := r.Jobs
	if jobs < 1 {
		jobs = 1
	}
	if err := os.MkdirAll(r.Out, 0o755); err != nil {
		return nil, err
	}
	sum := &Summary{ByStatus: map[store.Status]int{}}
	start := time.Now()
	pr := newRunProgress(r.Stdout, r.Stderr, len(apps), jobs)
	var mu sync.Mutex
	var firstErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan *App)
	var wg sync.WaitGroup
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range todo {
				pr.start(a.Name)
				res, skipped, err := r.runApp(ctx, a)
				mu.Lock()
				switch {
				case err != nil:
					if firstErr == nil && ctx.Err() == nil {
						firstErr = fmt.Errorf("%s: %w", a.Name, err)
						cancel()
					}
				case skipped:
					sum.Skipped++
					pr.line(fmt.Sprintf("%-16s stored already (--rerun checks it again)", a.Name))
				case res != nil:
					sum.Stored++
					sum.ByStatus[res.Status]++
					pr.line(resultLine(res))
				}
				mu.Unlock()
				pr.finish(a.Name)
			}
		}()
	}
	for _, a := range apps {
		if ctx.Err() != nil {
			break
		}
		select {
		case todo <- a:
		case <-ctx.Done():
		}
	}
	close(todo)
	wg.Wait()
	pr.done()
	sum.Elapsed = time.Since(start)
	if firstErr != nil {
		return sum, firstErr
	}
	if err := ctx.Err(); err != nil {
		return sum, &job.ExitError{Code: job.ExitInterrupt, Err: fmt.Errorf("interrupted: %d apps stored; the apps that were running are not, and the next run does them", sum.Stored)}
	}
	return sum, nil
}

// resultLine is the line printed for an app.
func resultLine(res *store.Result) string {
	line := fmt.Sprintf("%-16s %-16s", res.App, res.Status)
	switch res.Status {
	case store.CouldNotRun, store.UnikernelFailed:
		line += " " + res.Reason
	default:
		var blocking []string
		for _, g := range res.Gaps {
			if g.Impact == "blocks" {
				blocking = append(blocking, g.Key)
			}
		}
		line += fmt.Sprintf(" %d uses, %d missing, %d blocking", res.Distinct, res.Missing, res.Blocking)
		if len(blocking) > 0 {
			if len(blocking) > 5 {
				blocking = append(blocking[:5], "…")
			}
			line += " (" + strings.Join(blocking, ", ") + ")"
		}
	}
	return line + fmt.Sprintf("  %.1fs", res.Seconds)
}

// KeyOf is the key of app's result in this run: what decides its answer.
func (r *Runner) KeyOf(a *App, version string) store.Key {
	k := store.Key{App: a.Name, AppVersion: version, Command: job.ShellJoin(a.Command), Table: r.Judgement.Table.Name(),
		Syscov: job.Version, Backend: string(r.backend()), Mode: "native"}
	var cfg []string
	if r.ConfigPath != "" {
		cfg = append(cfg, "config "+ConfigKey(r.ConfigPath))
	}
	if r.Unikernel && a.Unikernel != nil {
		k.Mode = "unikernel"
		// The image and how the app runs in it (its arguments, kernel
		// parameters, ports, memory) decide the answer too.
		u := a.Unikernel
		how := fmt.Sprintf("%q %q %q %q", u.Args, u.Append, u.Ports, u.Memory)
		cfg = append(cfg, fmt.Sprintf("image %s run:%x", filepath.Base(u.Image), sha256.Sum256([]byte(how)))[:len("image ")+len(filepath.Base(u.Image))+len(" run:")+8])
		if a.Unikernel.Config != "" && r.ConfigPath == "" {
			cfg = append(cfg, "config "+ConfigKey(r.resolve(a.Unikernel.Config)))
		}
	}
	if r.Probe && a.Probe != nil {
		k.Mode += "+probe"
	}
	if a.AllProcesses {
		k.Mode += "+all-processes"
	}
	k.Config = strings.Join(cfg, ", ")
	return k
}

func (r *Runner) backend() native.Backend {
	if r.Backend == "" {
		return native.BackendAuto // as check: eBPF where it can, ptrace for the stacks
	}
	return r.Backend
}

// ConfigKey names a configuration file in a key by the start of its SHA-256 (and its name).
func ConfigKey(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return filepath.Base(path) + " (unreadable)"
	}
	return fmt.Sprintf("%s sha256:%x", filepath.Base(path), sha256.Sum256(data))[:len(filepath.Base(path))+20]
}

func (r *Runner) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if _, err := os.Stat(filepath.Join(r.ManifestDir, p)); err == nil {
		return filepath.Join(r.ManifestDir, p)
	}
	if dir := os.Getenv("SYSCOV_UNIKRAFT_IMAGES"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			return filepath.Join(dir, p)
		}
	}
	return filepath.Join(r.ManifestDir, p)
}

// PackageVersion is the installed version of a Debian package.
func PackageVersion(ctx context.Context, pkg string) (string, error) {
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Version}", pkg).Output()
	if err != nil {
		if _, lerr := exec.LookPath("dpkg-query"); lerr != nil {
			return "", fmt.Errorf("package %s: no dpkg-query on this machine to ask for its version", pkg)
		}
		return "", fmt.Errorf("not installed: Debian package %s (apt-get install %s)", pkg, pkg)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 || !strings.HasPrefix(f[0], "ii") {
		return "", fmt.Errorf("not installed: Debian package %s is known to dpkg but not installed (apt-get install %s)", pkg, pkg)
	}
	return f[1], nil
}

// runApp checks one app and stores its result. skipped: its key was
// stored. err is only what ends the run (the store failed, ctx ended).
func (r *Runner) runApp(ctx context.Context, a *App) (res *store.Result, skipped bool, err error) {
	start := time.Now()
	version := ""
	var notInstalled error
	if a.Package != "" {
		if version, notInstalled = PackageVersion(ctx, a.Package); notInstalled != nil {
			version = "not installed"
		}
	}
	key := r.KeyOf(a, version)
	if !r.Rerun {
		has, err := r.Store.Has(ctx, key)
		if err != nil {
			return nil, false, fmt.Errorf("store: %w", err)
		}
		if has {
			return nil, true, nil
		}
	}
	host, _ := os.Hostname()
	res = &store.Result{Key: key, Package: a.Package, Tags: a.Tags, Weight: a.Weight, Source: "syscov", Started: time.Now(), Host: host, Shard: r.Shard.String()}
	dir := filepath.Join(r.Out, a.Name)
	res.Log = filepath.Join(r.Out, a.Name+".log")
	if err := os.RemoveAll(dir); err != nil {
		return nil, false, err
	}
	log, err := os.Create(res.Log)
	if err != nil {
		return nil, false, err
	}
	defer log.Close()
	fmt.Fprintf(log, "syscov catalog: %s (%s), key %s\n", a.Name, a.Pos, key)
	runErr := notInstalled
	var checkTime time.Duration
	if runErr == nil {
		t0 := time.Now()
		runErr = r.check(ctx, a, dir, log, res)
		checkTime = time.Since(t0)
	}
	res.Seconds = time.Since(res.Started).Seconds()
	if ctx.Err() != nil {
		return nil, false, ctx.Err() // interrupted: not an answer
	}
	r.classify(res, runErr, a)
	fmt.Fprintf(log, "syscov catalog: %s: %s %s\n", a.Name, res.Status, res.Reason)
	r.collect(res, dir)
	if _, err := r.Store.Put(ctx, res, r.Rerun); err != nil {
		return nil, false, fmt.Errorf("store: %w", err)
	}
	// What the catalog costs beside the check: the package's version,
	// the key's look-up, reading the reports, the store's transaction.
	total := time.Since(start)
	fmt.Fprintf(log, "syscov catalog: %s: %s in all, the check %s, the catalog's own work %s\n", a.Name, total.Round(time.Millisecond), checkTime.Round(time.Millisecond), (total - checkTime).Round(time.Millisecond))
	return res, false, nil
}

// errTimedOut is an app's check that used up its time.
var errTimedOut = errors.New("timed out")

// check runs the app's probe (when asked) and check into dir.
func (r *Runner) check(ctx context.Context, a *App, dir string, log *os.File, res *store.Result) error {
	if _, err := exec.LookPath(a.Command[0]); err != nil {
		what := "not installed: " + a.Command[0] + " is not on PATH"
		if a.Package != "" {
			what += " (package " + a.Package + ")"
		}
		return errors.New(what)
	}
	port, err := probe.FreePort()
	if err != nil {
		return err
	}
	port2, err := probe.FreePort()
	for err == nil && port2 == port {
		port2, err = probe.FreePort()
	}
	if err != nil {
		return err
	}
	// The run directory: {dir}, with the manifest's files.
	runDir, err := filepath.Abs(filepath.Join(dir, "run"))
	if err != nil {
		return err
	}
	fixed := strings.NewReplacer("{port2}", strconv.Itoa(port2), "{dir}", runDir)
	sub := func(s string) string { return strings.ReplaceAll(fixed.Replace(s), "{port}", strconv.Itoa(port)) }
	// fresh lays the run directory anew: the check never sees what the
	// probe's runs left there.
	fresh := func() error {
		if err := os.RemoveAll(runDir); err != nil {
			return err
		}
		if err := os.MkdirAll(runDir, 0o755); err != nil {
			return err
		}
		os.Chmod(dir, 0o755)
		for _, f := range a.Files {
			if err := os.WriteFile(filepath.Join(runDir, f.Name), []byte(sub(f.Content)), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	if err := fresh(); err != nil {
		return err
	}
	subAll := func(list []string) []string {
		out := make([]string, len(list))
		for i, s := range list {
			out[i] = sub(s)
		}
		return out
	}
	actx, cancel := context.WithTimeout(ctx, a.Timeout)
	defer cancel()
	o := job.Output{Stdout: log, Stderr: log}
	j := r.Judgement
	j.Apps.All = a.AllProcesses
	if r.Probe && a.Probe != nil {
		// probe gives each of its runs its own {port}; the rest is fixed.
		argv := make([]string, len(a.Command))
		for i, s := range a.Command {
			argv[i] = fixed.Replace(s)
		}
		p := &job.Probe{Argv: argv, Syscalls: a.Probe.Syscalls, Ready: workload.Ready{Spec: fixed.Replace(a.Ready)}, Workload: fixed.Replace(a.Workload), Check: fixed.Replace(a.Check),
			Replicas: 1, Jobs: 1, Timeout: a.Timeout / 4, Out: dir}
		if p.Syscalls == "" {
			p.MissingAgainst = r.TableSpec
		}
		rep, err := p.Run(actx, o)
		if err != nil {
			if actx.Err() != nil && ctx.Err() == nil {
				return fmt.Errorf("probe: %w after %s", errTimedOut, a.Timeout)
			}
			return fmt.Errorf("probe: %w", err)
		}
		j.Probe = map[string]map[string]analyze.ProbeVerdict{filepath.Base(a.Command[0]): rep.Verdicts()}
	}
	if err := fresh(); err != nil {
		return err
	}
	wl := sub(a.Workload)
	switch c := sub(a.Check); {
	case wl != "" && c != "":
		wl = "(" + wl + ") || { echo 'syscov catalog: the workload failed' >&2; exit 101; }; (" + c + ") || { echo 'syscov catalog: the check failed' >&2; exit 102; }"
	case c != "":
		wl = "(" + c + ") || { echo 'syscov catalog: the check failed' >&2; exit 102; }"
	}
	c := &job.Check{Argv: subAll(a.Command), Out: dir, Workload: wl, Ready: workload.Ready{Spec: sub(a.Ready)}, Timeout: a.Timeout,
		Stacks: true, Backend: r.backend(), Judgement: j, AppOutput: log,
		Rerun: fmt.Sprintf("syscov catalog run %s --only %s --rerun", r.Manifest, a.Name)}
	if r.Unikernel && a.Unikernel != nil {
		u := a.Unikernel
		c.Unikernel = job.UnikernelOptions{Image: r.resolve(u.Image), Append: sub(u.Append), Ports: subAll(u.Ports), Memory: u.Memory, KVM: "auto",
			QEMU: "qemu-system-x86_64", Idle: job.DefaultIdle}
		if c.Unikernel.Memory == "" {
			c.Unikernel.Memory = "256M"
		}
		c.AppArgs = subAll(u.Args)
		if u.Config != "" && r.ConfigPath == "" {
			cfg, err := job.LoadConfig(r.resolve(u.Config))
			if err != nil {
				return err
			}
			c.Judgement.Config = cfg
		}
	}
	err = c.Run(actx, o)
	if err != nil && actx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		return fmt.Errorf("%w after %s (the manifest's timeout)", errTimedOut, a.Timeout)
	}
	// An app that died, or ended with a failure, proves nothing: its
	// trace is not the app doing its work.
	if n := c.Native; n != nil && !n.Stopped && !n.Canceled && (n.Signal != "" || n.ExitCode != 0) {
		if n.Signal != "" {
			return fmt.Errorf("the app died of %s natively", n.Signal)
		}
		return fmt.Errorf("the app exited with status %d natively", n.ExitCode)
	}
	return err
}

// classify turns a check's error into the result's status.
func (r *Runner) classify(res *store.Result, err error, a *App) {
	var xe *job.ExitError
	switch {
	case err == nil:
		res.Status = store.Works
	case errors.As(err, &xe) && xe.Code == job.ExitLacks:
		res.Status, res.ExitCode = store.Lacks, xe.Code
	case errors.As(err, &xe) && xe.Code == job.ExitBootFailure:
		res.Status, res.ExitCode, res.Reason = store.UnikernelFailed, xe.Code, err.Error()
	case strings.Contains(err.Error(), "exit status 101") && a.Workload != "":
		res.Status, res.ExitCode, res.Reason = store.CouldNotRun, 101, "could not run: the workload failed: "+oneLine(a.Workload)
	case strings.Contains(err.Error(), "exit status 102") && a.Check != "":
		res.Status, res.ExitCode, res.Reason = store.CouldNotRun, 102, "could not run: the check failed: "+oneLine(a.Check)
	default:
		res.Status, res.ExitCode, res.Reason = store.CouldNotRun, 1, "could not run: "+oneLine(err.Error())
		if errors.As(err, &xe) {
			res.ExitCode = xe.Code
		}
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// collect reads the JSON documents the check wrote into dir: the figures
// and gaps of the result come from coverage.json, and the three documents
// are kept whole.
func (r *Runner) collect(res *store.Result, dir string) {
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return ""
		}
		return string(data)
	}
	res.CoverageJSON, res.DiffJSON, res.ProbeJSON = read("coverage.json"), read("diff.json"), read("probe.json")
	if _, err := os.Stat(filepath.Join(dir, "report.html")); err == nil {
		res.Report = filepath.Join(dir, "report.html")
	}
	if res.CoverageJSON == "" || res.Status == store.CouldNotRun {
		return
	}
	if err := FillFromCoverage(res, []byte(res.CoverageJSON)); err != nil {
		res.Status, res.Reason = store.CouldNotRun, "could not run: coverage.json: "+err.Error()
	}
}

// FillFromCoverage sets a result's figures and gaps from a coverage JSON
// document (report's syscov.coverage schema) of one app.
func FillFromCoverage(res *store.Result, doc []byte) error {
	var cov struct {
		Schema string `json:"schema"`
		Apps   []struct {
			Calls    int            `json:"calls"`
			Weighted float64        `json:"weighted_coverage"`
			Counts   map[string]int `json:"counts"`
			Missing  []string       `json:"missing"`
			Used     []struct {
				Key       string `json:"key"`
				Name      string `json:"name"`
				Nr        int    `json:"nr"`
				Calls     int    `json:"calls"`
				Level     string `json:"level"`
				Note      string `json:"note"`
				Class     string `json:"class"`
				Site      string `json:"first_site"`
				Unikernel string `json:"unikernel"`
				Probe     string `json:"probe"`
				Impact    string `json:"impact"`
				ImpactWhy string `json:"impact_why"`
				Closure   string `json:"to_close"`
			} `json:"used"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(doc, &cov); err != nil {
		return err
	}
	if !strings.HasPrefix(cov.Schema, "syscov.coverage/") || len(cov.Apps) != 1 {
		return fmt.Errorf("not the coverage document of one app (schema %q, %d apps)", cov.Schema, len(cov.Apps))
	}
	a := cov.Apps[0]
	res.Calls, res.Supported, res.Distinct = a.Calls, a.Weighted, len(a.Used)
	res.Missing, res.Blocking = a.Counts["missing"], len(a.Missing)
	res.Gaps = res.Gaps[:0]
	for _, u := range a.Used {
		if u.Level == "implemented" {
			continue
		}
		res.Gaps = append(res.Gaps, store.Gap{Key: u.Key, Name: u.Name, Nr: u.Nr, Calls: u.Calls, Level: u.Level, Impact: u.Impact, ImpactWhy: u.ImpactWhy,
			Class: u.Class, Site: u.Site, Closure: u.Closure, Unikernel: u.Unikernel, Probe: u.Probe, Note: u.Note})
	}
	return nil
}

package main

import (
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/analyze/uksource"
	"github.com/syscov/syscov/job"
	"github.com/syscov/syscov/report"
	"github.com/syscov/syscov/trace"
)

func runKB(e *env, args []string) error {
	if len(args) == 0 {
		return job.Usagef("want a subcommand: list, show, diff or import")
	}
	switch args[0] {
	case "list":
		return runKBList(e, args[1:])
	case "show":
		return runKBShow(e, args[1:])
	case "import":
		return runKBImport(e, args[1:])
	case "diff":
		return runKBDiff(e, args[1:])
	case "-h", "--help":
		fmt.Fprintln(e.stderr, "usage: syscov kb list | kb show [unikraft[@V]|FILE] [SYSCALL...] | kb diff A B | kb import UNIKRAFT_SOURCE_DIR [LIB_DIR...] --version V [-o FILE]")
		return nil
	}
	return job.Usagef("unknown subcommand %q: want list, show, diff or import", args[0])
}

func runKBList(e *env, args []string) error {
	fs := newFlagSet(e, "kb list", "kb list [--format table|markdown|json]")
	format := fs.String("format", "table", "output format: table, markdown or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		return &job.UsageError{Msg: err.Error()}
	}
	tables, err := analyze.EmbeddedTables()
	if err != nil {
		return err
	}
	return report.Render(e.stdout, f, report.TablesDoc{Tables: tables})
}

func runKBShow(e *env, args []string) error {
	fs := newFlagSet(e, "kb show", "kb show [unikraft[@V]|FILE] [SYSCALL...] [--config .config] [--arch A] [--level L] [--format table|markdown|json]")
	format := fs.String("format", "table", "output format: table, markdown or json")
	archFlag := fs.String("arch", "x86_64", "architecture: x86_64 or aarch64")
	level := fs.String("level", "", "only syscalls at this level: implemented, stubbed, partial, disabled, missing")
	var configPath string
	registerConfig(fs, &configPath)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	f, arch, err := formatAndArch(*format, *archFlag)
	if err != nil {
		return err
	}
	switch analyze.Level(*level) {
	case "", analyze.Implemented, analyze.Stubbed, analyze.Partial, analyze.Disabled, analyze.Missing:
	default:
		return job.Usagef("--level %q: want implemented, stubbed, partial, disabled or missing", *level)
	}
	// kb show [TABLE] [SYSCALL...]: the table is named first, when it is.
	spec, names := "unikraft", fs.Args()
	if len(names) > 0 {
		if _, err := os.Stat(names[0]); err == nil || strings.HasPrefix(names[0], "unikraft") {
			spec, names = names[0], names[1:]
		}
	}
	t, err := job.LoadSupportTable(spec)
	if err != nil {
		return err
	}
	cfg, err := job.LoadConfig(configPath)
	if err != nil {
		return err
	}
	if cfg != nil {
		t = t.WithConfig(cfg)
	}
	if len(names) > 0 {
		for _, n := range names {
			if trace.Table(arch).Number(n) < 0 {
				return job.Usagef("%q is not a %s syscall", n, arch)
			}
		}
		return report.Render(e.stdout, f, report.SyscallsDoc{Table: t, Arch: arch, Names: names})
	}
	return report.Render(e.stdout, f, report.TableDoc{Table: t, Arch: arch, Only: analyze.Level(*level)})
}

func runKBDiff(e *env, args []string) error {
	fs := newFlagSet(e, "kb diff", "kb diff A B [--config .config] [--arch A] [--format table|markdown|json]")
	format := fs.String("format", "table", "output format: table, markdown or json")
	archFlag := fs.String("arch", "x86_64", "architecture: x86_64 or aarch64")
	var configPath string
	registerConfig(fs, &configPath)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return job.Usagef("want two tables: unikraft@V, unikraft@staging or files from 'syscov kb import'")
	}
	f, arch, err := formatAndArch(*format, *archFlag)
	if err != nil {
		return err
	}
	cfg, err := job.LoadConfig(configPath)
	if err != nil {
		return err
	}
	var tables [2]*analyze.SupportTable
	for i, spec := range fs.Args() {
		if tables[i], err = job.LoadSupportTable(spec); err != nil {
			return err
		}
		if cfg != nil {
			tables[i] = tables[i].WithConfig(cfg)
		}
	}
	return report.Render(e.stdout, f, report.TableDiffDoc{From: tables[0], To: tables[1], Arch: arch, Changes: analyze.DiffTables(tables[0], tables[1], arch)})
}

func runKBImport(e *env, args []string) error {
	fs := newFlagSet(e, "kb import", "kb import UNIKRAFT_SOURCE_DIR [LIB_DIR...] --version V [--source TEXT] [-o FILE]")
	version := fs.String("version", "", "the Unikraft version the tree is (required), e.g. 0.17.0")
	source := fs.String("source", "", "what the tree is, recorded in the table (default: the directory)")
	out := fs.StringP("output", "o", "", "where to write the table (default: unikraft-VERSION.json)")
	defaults := fs.String("default-config", "", "a resolved .config whose levels the table states when a user gives none\n(e.g. app-elfloader's defconfig after make defconfig)")
	defaultsName := fs.String("default-config-name", "", "how reports name --default-config or --defconfig (default: the file name)")
	defconfig := fs.String("defconfig", "", "a defconfig (app-elfloader's defconfigs/qemu-x86_64-initrd) resolved against the Config.uk\nfiles of the trees given, as make defconfig would: the table's default configuration")
	writeConfig := fs.String("write-config", "", "with --defconfig: also write the resolved .config to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return job.Usagef("name a Unikraft source directory (and the directories of its libraries)")
	}
	if *version == "" {
		return job.Usagef("--version is required")
	}
	if *defaults != "" && *defconfig != "" {
		return job.Usagef("--default-config and --defconfig: give one (a resolved .config, or a defconfig to resolve)")
	}
	if *writeConfig != "" && *defconfig == "" {
		return job.Usagef("--write-config needs --defconfig")
	}
	var findings []uksource.Finding
	var dirs []string
	var trees []iofs.FS
	var names []string
	for _, dir := range fs.Args() {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("%s: not a directory", dir)
		}
		f, err := uksource.Scan(os.DirFS(dir))
		if err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		if len(f) == 0 && len(dirs) == 0 {
			return fmt.Errorf("%s: no syscall definitions found (is it a Unikraft tree?)", dir)
		}
		abs, _ := filepath.Abs(dir)
		for i := range f {
			if f[i].Lib == "" {
				f[i].Lib = strings.TrimPrefix(filepath.Base(abs), "lib-") // lib-lwip → lwip, as Unikraft names it
			}
		}
		findings = append(findings, f...)
		dirs = append(dirs, abs)
		trees, names = append(trees, os.DirFS(dir)), append(names, filepath.Base(abs))
	}
	src := *source
	if src == "" {
		src = strings.Join(dirs, " + ")
	}
	var def *analyze.Config
	if *defaults != "" {
		data, err := os.ReadFile(*defaults)
		if err != nil {
			return err
		}
		name := *defaultsName
		if name == "" {
			name = *defaults
		}
		if def, err = analyze.ParseConfig(*defaults, data); err != nil {
			return err
		}
		def.Name = name
	}
	if *defconfig != "" {
		data, err := os.ReadFile(*defconfig)
		if err != nil {
			return err
		}
		set, err := uksource.ParseDefconfig(*defconfig, data)
		if err != nil {
			return err
		}
		kt, err := uksource.ReadKconfig(trees, names)
		if err != nil {
			return err
		}
		r := kt.Resolve(set)
		for _, o := range r.Unknown {
			fmt.Fprintf(e.stderr, "syscov: %s: %s is no option of these trees (renamed or removed in this release, or of a library not given): left out\n", *defconfig, o)
		}
		for _, o := range r.Refused {
			fmt.Fprintf(e.stderr, "syscov: %s: %s stays off in these trees (no prompt, or a dependency is not met)\n", *defconfig, o)
		}
		name := *defaultsName
		if name == "" {
			name = *defconfig
		}
		def = &analyze.Config{Name: name, On: map[string]bool{}}
		for _, o := range r.On() {
			def.On[o] = true
		}
		if *writeConfig != "" {
			if err := job.WriteFile(*writeConfig, r.Config()); err != nil {
				return err
			}
		}
	}
	overrides, err := analyze.Overrides()
	if err != nil {
		return err
	}
	t, err := analyze.BuildSupportTable(findings, *version, src, def, overrides)
	if err != nil {
		return err
	}
	// Every option the trees define, to tell a .config of another
	// release when one is applied.
	if kt, err := uksource.ReadKconfig(trees, names); err == nil {
		t.Options = kt.Options()
	} else {
		fmt.Fprintf(e.stderr, "syscov: the trees' Config.uk files cannot be read (%v): the table lists no options\n", err)
	}
	data, err := analyze.MarshalSupportTable(t)
	if err != nil {
		return err
	}
	path := *out
	if path == "" {
		path = "unikraft-" + *version + ".json"
	}
	if err := job.WriteFile(path, append(data, '\n')); err != nil {
		return err
	}
	c := t.Counts(trace.ArchX86_64)
	fmt.Fprintf(e.stderr, "syscov: %s (%s): x86_64 %d implemented, %d stubbed, %d partial, %d disabled, %d missing; wrote %s\n",
		t.Name(), t.Config, c[analyze.Implemented], c[analyze.Stubbed], c[analyze.Partial], c[analyze.Disabled], c[analyze.Missing], path)
	return nil
}

// formatAndArch reads --format and --arch of the kb commands.
func formatAndArch(format, arch string) (report.Format, trace.Arch, error) {
	f, err := report.ParseFormat(format)
	if err != nil {
		return "", "", &job.UsageError{Msg: err.Error()}
	}
	a, err := trace.ParseArch(arch)
	if err != nil {
		return "", "", &job.UsageError{Msg: err.Error()}
	}
	return f, a, nil
}

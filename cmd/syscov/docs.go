package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	flag "github.com/spf13/pflag"

	"github.com/syscov/syscov/job"
)

// examples end every command's --help; the man page shows them too.
var examples = map[string][]string{
	"check": {
		"syscov check --out redis-check --ready tcp:6390 --workload 'redis-cli -p 6390 set k v && redis-cli -p 6390 bgsave' -- redis-server --port 6390 --save ''",
		"syscov check --unikernel elfloader_qemu-x86_64 --out sq -- sqlite3 /tmp/t.db 'select 1;'",
		"syscov check --strict-impact -- /usr/bin/true",
	},
	"trace": {
		"syscov trace -o redis.trace --ready tcp:6390 --workload 'redis-cli -p 6390 bgsave' -- redis-server --port 6390 --save ''",
		"syscov trace --backend ebpf --ring-buffer 256M -o redis-load.trace --ready tcp:6390 --workload 'redis-benchmark -p 6390 -n 50000 -q' -- redis-server --port 6390 --save ''",
		"syscov trace --backend strace --stacks -o ls.trace -- ls -l /",
		"syscov trace --unikernel elfloader_qemu-x86_64 -- /usr/bin/sqlite3 /tmp/t.db 'SELECT 1;'",
	},
	"summary":    {"syscov summary app.strace", "syscov summary --per-process --format markdown native.trace"},
	"diff":       {"syscov diff native.trace unikernel.trace", "syscov diff --format markdown native.trace unikernel.console.log > issue.md"},
	"coverage":   {"syscov coverage redis.trace nginx.trace sqlite3.trace", "syscov coverage --against unikraft@0.17.0 --probe probe.json redis.trace", "syscov coverage --config build/.config redis.trace"},
	"probe":      {"syscov probe --ready 'tcp:{port}' --workload 'redis-benchmark -p {port} -n 300 -q' -- redis-server --port '{port}' --save ''"},
	"profile":    {"syscov profile -o hot.pb.gz redis.trace && go tool pprof -top hot.pb.gz"},
	"bench":      {"syscov bench --ready tcp:6390 --clients 1,10,60 -- redis-server --port 6390 --save ''", "syscov bench --unikernel elfloader_qemu-x86_64.lwip --append netdev.ip=10.0.2.15/24:10.0.2.2 --port 16390:6390 --ready tcp:6390 --runs 6 --memory-bisect -- redis-server --port 6390 --protected-mode no"},
	"kb list":    {"syscov kb list"},
	"kb show":    {"syscov kb show unikraft@0.17.0 --level missing", "syscov kb show futex socket eventfd2", "syscov kb show --config build/.config --level disabled"},
	"kb diff":    {"syscov kb diff unikraft@0.17.0 unikraft@staging"},
	"kb import":  {"syscov kb import ../unikraft ../app-elfloader ../lib-lwip --version 0.17.0 --default-config ../app-elfloader/.config -o unikraft.json"},
	"completion": {"syscov completion bash > /etc/bash_completion.d/syscov", "syscov completion fish > ~/.config/fish/completions/syscov.fish"},
	"man":        {"syscov man > syscov.1 && man -l syscov.1"},
}

// commandDoc is what --help, completion and the man page say of a
// command: taken from the same FlagSet the command parses with.
type commandDoc struct {
	name, summary, usage string
	fs                   *flag.FlagSet
}

// describing, while docs are collected, has parseFlags hand over each
// command's FlagSet instead of parsing.
var describing struct {
	sync.Mutex
	on    bool
	usage map[*flag.FlagSet]string
	got   []commandDoc
}

// noteFlagSet records a FlagSet's usage while docs are collected.
func noteFlagSet(fs *flag.FlagSet, usage string) {
	if describing.on {
		describing.usage[fs] = usage
	}
}

// described hands the FlagSet over (and stops the command) while docs
// are collected.
func described(fs *flag.FlagSet) bool {
	if !describing.on {
		return false
	}
	describing.got = append(describing.got, commandDoc{name: fs.Name(), usage: describing.usage[fs], fs: fs})
	return true
}

// commandDocs runs every command in describe mode and returns their docs
// in the order of the usage text.
func commandDocs() []commandDoc {
	describing.Lock()
	defer describing.Unlock()
	describing.on, describing.usage, describing.got = true, map[*flag.FlagSet]string{}, nil
	defer func() { describing.on = false }()
	e := &env{stdout: io.Discard, stderr: io.Discard}
	summaries := map[string]string{}
	for _, c := range commands {
		summaries[c.name] = c.summary
		switch c.name {
		case "kb":
			runKBList(e, nil)
			runKBShow(e, nil)
			runKBImport(e, nil)
			runKBDiff(e, nil)
		case "catalog":
			runCatalogRun(e, nil)
			runCatalogMatrix(e, nil)
			runCatalogPlan(e, nil)
			runCatalogCompare(e, nil)
			runCatalogImportLoupe(e, nil)
		default:
			c.run(e, nil)
		}
	}
	docs := describing.got
	for i := range docs {
		docs[i].summary = summaries[docs[i].name]
		if docs[i].summary == "" {
			docs[i].summary = summaries[strings.Fields(docs[i].name)[0]]
		}
	}
	return docs
}

// kbSubcommands are the subcommands of kb, for the completions.
var kbSubcommands = []string{"list", "show", "diff", "import"}

func runCompletion(e *env, args []string) error {
	fs := newFlagSet(e, "completion", "completion bash|zsh|fish")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return job.Usagef("want a shell: bash, zsh or fish")
	}
	docs := commandDocs()
	switch fs.Arg(0) {
	case "bash":
		writeBashCompletion(e.stdout, docs)
	case "zsh":
		fmt.Fprintln(e.stdout, "#compdef syscov\n# syscov's completion for zsh: the bash one, through bashcompinit.\nautoload -U +X bashcompinit && bashcompinit")
		writeBashCompletion(e.stdout, docs)
	case "fish":
		writeFishCompletion(e.stdout, docs)
	default:
		return job.Usagef("unknown shell %q: want bash, zsh or fish", fs.Arg(0))
	}
	return nil
}

// flagWords lists a FlagSet's flags as the shell types them.
func flagWords(fs *flag.FlagSet) []string {
	var out []string
	fs.VisitAll(func(f *flag.Flag) {
		out = append(out, "--"+f.Name)
		if f.Shorthand != "" {
			out = append(out, "-"+f.Shorthand)
		}
	})
	return out
}

func topCommands() []string {
	var out []string
	for _, c := range commands {
		out = append(out, c.name)
	}
	return out
}

func writeBashCompletion(w io.Writer, docs []commandDoc) {
	fmt.Fprintln(w, "# syscov's completion for bash (syscov completion bash), from its flag definitions.")
	fmt.Fprintln(w, "_syscov() {")
	fmt.Fprintln(w, "\tlocal cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} sub=${COMP_WORDS[2]}")
	fmt.Fprintln(w, "\tif [ \"$COMP_CWORD\" -eq 1 ]; then")
	fmt.Fprintf(w, "\t\tCOMPREPLY=($(compgen -W %q -- \"$cur\")); return\n", strings.Join(topCommands(), " "))
	fmt.Fprintln(w, "\tfi")
	fmt.Fprintln(w, "\tif [ \"$cmd\" = kb ] && [ \"$COMP_CWORD\" -eq 2 ]; then")
	fmt.Fprintf(w, "\t\tCOMPREPLY=($(compgen -W '%s' -- \"$cur\")); return\n", strings.Join(kbSubcommands, " "))
	fmt.Fprintln(w, "\tfi")
	fmt.Fprintln(w, "\tif [ \"$cmd\" = catalog ] && [ \"$COMP_CWORD\" -eq 2 ]; then")
	fmt.Fprintf(w, "\t\tCOMPREPLY=($(compgen -W '%s' -- \"$cur\")); return\n", strings.Join(catalogSubcommands, " "))
	fmt.Fprintln(w, "\tfi")
	fmt.Fprintln(w, "\tlocal words=")
	fmt.Fprintln(w, "\tcase \"$cmd $sub\" in")
	for _, d := range docs {
		// An unquoted pattern (a quoted one would not glob).
		pattern := strings.ReplaceAll(d.name, " ", `\ `) + `\ *`
		if strings.Contains(d.name, " ") {
			pattern = strings.ReplaceAll(d.name, " ", `\ `)
		}
		fmt.Fprintf(w, "\t%s) words=%q ;;\n", pattern, strings.Join(flagWords(d.fs), " "))
	}
	fmt.Fprintln(w, "\tesac")
	fmt.Fprintln(w, "\tif [[ $cur == -* ]]; then")
	fmt.Fprintln(w, "\t\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))")
	fmt.Fprintln(w, "\telse")
	fmt.Fprintln(w, "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))")
	fmt.Fprintln(w, "\tfi")
	fmt.Fprintln(w, "}")
	fmt.Fprintln(w, "complete -o filenames -F _syscov syscov")
}

func writeFishCompletion(w io.Writer, docs []commandDoc) {
	fmt.Fprintln(w, "# syscov's completion for fish (syscov completion fish), from its flag definitions.")
	fmt.Fprintf(w, "complete -c syscov -f -n '__fish_use_subcommand' -a %q\n", strings.Join(topCommands(), " "))
	fmt.Fprintf(w, "complete -c syscov -f -n '__fish_seen_subcommand_from kb' -a '%s'\n", strings.Join(kbSubcommands, " "))
	fmt.Fprintf(w, "complete -c syscov -f -n '__fish_seen_subcommand_from catalog' -a '%s'\n", strings.Join(catalogSubcommands, " "))
	for _, d := range docs {
		cond := "__fish_seen_subcommand_from " + strings.Fields(d.name)[0]
		if f := strings.Fields(d.name); len(f) == 2 {
			cond += "; and __fish_seen_subcommand_from " + f[1]
		}
		d.fs.VisitAll(func(f *flag.Flag) {
			line := fmt.Sprintf("complete -c syscov -n %q -l %s", cond, f.Name)
			if f.Shorthand != "" {
				line += " -s " + f.Shorthand
			}
			if f.Value.Type() != "bool" {
				line += " -r"
			}
			fmt.Fprintf(w, "%s -d %q\n", line, firstSentence(f.Usage))
		})
	}
}

func firstSentence(s string) string {
	if i := strings.IndexAny(s, ":;("); i > 20 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

func runMan(e *env, args []string) error {
	fs := newFlagSet(e, "man", "man")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	writeMan(e.stdout, commandDocs())
	return nil
}

// roff escapes text for a man page.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	var b strings.Builder
	for _, r := range s {
		if r > 0x7e {
			fmt.Fprintf(&b, `\[u%04X]`, r) // groff's Unicode escape
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func writeMan(w io.Writer, docs []commandDoc) {
	fmt.Fprintf(w, ".TH SYSCOV 1 \"\" \"syscov %s\" \"User Commands\"\n", version)
	fmt.Fprintln(w, ".SH NAME\nsyscov \\- which syscalls an app needs that a unikernel lacks")
	fmt.Fprintln(w, ".SH SYNOPSIS\n.B syscov\n.I command\n[\\fIflags\\fR] [\\fIargs\\fR]")
	fmt.Fprintln(w, ".SH DESCRIPTION\nsyscov traces an application natively and inside a Unikraft unikernel, diffs the two runs, judges what the unikernel lacks (blocks, degrades, noise) against a support table, and writes reports as tables, Markdown, JSON, HTML and pprof profiles.")
	fmt.Fprintln(w, ".SH COMMANDS")
	for _, d := range docs {
		fmt.Fprintf(w, ".SS %s\n%s\n.PP\n.B syscov %s\n", roff(d.name), roff(d.summary), roff(d.usage))
		d.fs.VisitAll(func(f *flag.Flag) {
			names := `\fB\-\-` + roff(f.Name) + `\fR`
			if f.Shorthand != "" {
				names = `\fB\-` + roff(f.Shorthand) + `\fR, ` + names
			}
			if t := f.Value.Type(); t != "bool" {
				names += " \\fI" + roff(strings.ToUpper(t)) + "\\fR"
			}
			usage := f.Usage
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0s" && f.DefValue != "0" {
				usage += " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(w, ".TP\n%s\n%s\n", names, roff(usage))
		})
		if ex := examples[d.name]; len(ex) > 0 {
			fmt.Fprintln(w, ".PP\nExamples:")
			for _, x := range ex {
				fmt.Fprintf(w, ".IP\n.nf\n%s\n.fi\n", roff(x))
			}
		}
	}
	fmt.Fprintln(w, ".SH EXIT STATUS\n0 success; 1 failure; 2 usage error; 3 the unikernel did not boot or crashed (trace \\-\\-unikernel, check); 4 the unikernel lacks syscalls the app needs (check, diff); trace passes the app's own status on (128+N for signal N, 124 timeout, 130 interrupted).")
	fmt.Fprintln(w, ".SH ENVIRONMENT\n.TP\n.B SYSCOV_UNIKRAFT_IMAGES\nthe folder of real Unikraft images the tests boot.")
}

// sortedFlagNames is for the tests: every flag of a command.
func sortedFlagNames(fs *flag.FlagSet) []string {
	var out []string
	fs.VisitAll(func(f *flag.Flag) { out = append(out, f.Name) })
	sort.Strings(out)
	return out
}

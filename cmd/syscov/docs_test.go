package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func runOut(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, nil, &out, &errb)
	return out.String(), errb.String(), code
}

// The bash completion loads in the real bash and completes commands,
// subcommands and each command's own flags.
func TestCompletionBash(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	script, _, code := runOut(t, "completion", "bash")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	file := filepath.Join(t.TempDir(), "syscov.bash")
	os.WriteFile(file, []byte(script), 0o644)
	for _, tt := range []struct {
		words string
		cword int
		want  string
	}{
		{"syscov di", 1, "diff"},
		{"syscov check --strict-i", 2, "--strict-impact"},
		{"syscov trace --rootfs-a", 2, "--rootfs-add"},
		{"syscov kb sh", 2, "show"},
		{"syscov kb show --le", 3, "--level"},
		{"syscov completion", 1, "completion"},
	} {
		cmd := exec.Command("bash", "-c", `source "$1"; COMP_WORDS=($2); COMP_CWORD=$3; _syscov; echo "${COMPREPLY[*]}"`, "x", file, tt.words, itoa(tt.cword))
		b, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(b)) != tt.want {
			t.Errorf("%q: %q (%v), want %q", tt.words, b, err, tt.want)
		}
	}
}

func itoa(n int) string { return string(rune('0' + n)) }

// zsh and fish scripts pass their shell's syntax check, where the shell
// is installed.
func TestCompletionZshFish(t *testing.T) {
	for _, sh := range []struct{ name, check string }{{"zsh", "-n"}, {"fish", "--no-execute"}} {
		script, _, code := runOut(t, "completion", sh.name)
		if code != 0 || !strings.Contains(script, "syscov") {
			t.Fatalf("%s: exit %d", sh.name, code)
		}
		if _, err := exec.LookPath(sh.name); err != nil {
			t.Logf("%s is not installed: its script is not syntax-checked", sh.name)
			continue
		}
		file := filepath.Join(t.TempDir(), "c."+sh.name)
		os.WriteFile(file, []byte(script), 0o644)
		if b, err := exec.Command(sh.name, sh.check, file).CombinedOutput(); err != nil {
			t.Errorf("%s %s: %v\n%s", sh.name, sh.check, err, b)
		}
	}
}

// The man page is valid roff (groff reports no warning) and documents
// every flag of every command, from the same definitions.
func TestManPage(t *testing.T) {
	page, _, code := runOut(t, "man")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, d := range commandDocs() {
		for _, name := range sortedFlagNames(d.fs) {
			if !strings.Contains(page, `\fB\-\-`+strings.ReplaceAll(name, "-", `\-`)+`\fR`) {
				t.Errorf("%s --%s is not in the man page", d.name, name)
			}
		}
	}
	if _, err := exec.LookPath("groff"); err != nil {
		t.Skip("groff is not installed: the page is not checked as roff")
	}
	cmd := exec.Command("groff", "-man", "-ww", "-z")
	cmd.Stdin = strings.NewReader(page)
	if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
		t.Errorf("groff: %v\n%s", err, b)
	}
}

// Every command's --help ends with examples, and every command is in the
// README's table of commands.
func TestHelpExamplesAndReadme(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range commandDocs() {
		_, help, code := runOut(t, append(strings.Fields(d.name), "--help")...)
		if code != 0 {
			t.Errorf("%s --help: exit %d", d.name, code)
		}
		i := strings.LastIndex(help, "\nExamples:\n")
		if i < 0 || !strings.HasPrefix(strings.TrimSpace(help[i+len("\nExamples:\n"):]), "syscov ") {
			t.Errorf("%s --help does not end with examples:\n%s", d.name, help)
		}
		if !strings.Contains(string(readme), "`syscov "+d.name) {
			t.Errorf("%s is not in the README", d.name)
		}
	}
}

// Every flag the README's table of commands names exists in that
// command's --help (the README cannot drift from the flags).
func TestReadmeFlagsExist(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	flagsOf := map[string]map[string]bool{}
	for _, d := range commandDocs() {
		m := map[string]bool{}
		for _, n := range sortedFlagNames(d.fs) {
			m[n] = true
		}
		flagsOf[d.name] = m
	}
	rows := 0
	for _, line := range strings.Split(string(readme), "\n") {
		if !strings.HasPrefix(line, "| `syscov ") {
			continue
		}
		cell := line[len("| `") : strings.Index(line[3:], "`")+3]
		words := strings.Fields(cell)
		name := words[1]
		if (name == "kb" || name == "catalog") && len(words) > 2 {
			name = "kb " + strings.SplitN(words[2], "\\", 2)[0]
		}
		flags, ok := flagsOf[name]
		if !ok {
			continue // version
		}
		rows++
		for _, w := range words {
			w = strings.Trim(w, "[]")
			if !strings.HasPrefix(w, "--") || w == "--" {
				continue
			}
			f := strings.SplitN(strings.TrimPrefix(w, "--"), "=", 2)[0]
			if !flags[f] {
				t.Errorf("README's row for %s names --%s, which it does not have", name, f)
			}
		}
	}
	if rows < 10 {
		t.Errorf("only %d rows of commands found in the README", rows)
	}
}

package job

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace/guard"
	"github.com/syscov/syscov/trace/native"
	"github.com/syscov/syscov/trace/ptrace"
)

func TestMain(m *testing.M) {
	guard.RunIfRequested()
	ptrace.RunHelperIfRequested()
	os.Exit(m.Run())
}

// A Go program runs the main job as the command does: /bin/true lacks
// nothing it needs (glibc falls back from rseq and its robust list), and
// every report is written.
func TestCheckFromGo(t *testing.T) {
	table, err := analyze.EmbeddedTable("unikraft")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	c := &Check{Argv: []string{"/bin/true"}, Out: out, Stacks: true, Backend: native.Backend("ptrace"), Judgement: Judgement{Table: table}}
	if err := c.Run(context.Background(), Output{Stdout: &stdout, Stderr: &stderr}); err != nil {
		t.Fatalf("check /bin/true: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "(0 blocking)") {
		t.Errorf("verdict: %s", stdout.String())
	}
	for _, f := range []string{"native.trace", "coverage.txt", "coverage.md", "coverage.json", "report.md", "report.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// A program that forks lacks what blocks it: the error says exit 4.
	c = &Check{Argv: []string{"/bin/sh", "-c", "/bin/true; /bin/true"}, Out: t.TempDir(), Backend: native.Backend("ptrace"),
		Judgement: Judgement{Table: table, Apps: AppSelection{All: true}}}
	err = c.Run(context.Background(), Output{Stdout: &stdout, Stderr: &stderr})
	var xe *ExitError
	if !errors.As(err, &xe) || xe.Code != ExitLacks {
		t.Errorf("a shell that forks: %v, want exit %d", err, ExitLacks)
	}
}

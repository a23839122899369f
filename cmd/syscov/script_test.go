package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/syscov/syscov/trace/ptrace"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/script/*.txtar")

// TestMain makes this test binary also the syscov command, so the scripts
// under testdata/script run the real main.
func TestMain(m *testing.M) {
	ptrace.RunHelperIfRequested()
	testscript.Main(m, map[string]func(){
		"syscov": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the end-to-end scripts: each is a list of syscov
// commands with their expected stdout, stderr and exit status. $FIXTURES is
// the repository's fixtures directory.
func TestScripts(t *testing.T) {
	fixtures, err := filepath.Abs("../../fixtures")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Setup: func(e *testscript.Env) error {
			e.Setenv("FIXTURES", fixtures)
			return nil
		},
	})
}

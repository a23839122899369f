package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/syscov/syscov/trace/ebpf"
	"github.com/syscov/syscov/trace/guard"
	"github.com/syscov/syscov/trace/ptrace"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/script/*.txtar")

// TestMain makes this test binary also the syscov command, so the scripts
// under testdata/script run the real main.
func TestMain(m *testing.M) {
	guard.RunIfRequested()
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
			e.Setenv("UKIMAGES", unikraftImages())
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "ukimages":
				// The real Unikraft images (../shared/unikraft/images),
				// named by SYSCOV_UNIKRAFT_IMAGES, which .ci/run sets.
				return unikraftImages() != "", nil
			case "pidscgroup":
				// A cgroup v1 pids hierarchy this test may make a group in
				// (root): a fork bomb under a pid limit shared with syscov.
				dir, err := os.MkdirTemp("/sys/fs/cgroup/pids", "syscov-probe-")
				if err != nil {
					return false, nil
				}
				os.Remove(dir)
				return true, nil
			case "ebpf":
				// The kernel and privileges load syscov's eBPF program.
				return ebpf.Check() == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// unikraftImages is the folder of real Unikraft images named by
// SYSCOV_UNIKRAFT_IMAGES, when it holds the base image.
func unikraftImages() string {
	dir := os.Getenv("SYSCOV_UNIKRAFT_IMAGES")
	if dir == "" {
		return ""
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	if _, err := os.Stat(filepath.Join(dir, "elfloader_qemu-x86_64")); err != nil {
		return ""
	}
	return dir
}

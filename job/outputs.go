package job

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/internal/outfile"
	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/native"
)

// checkOutputs are the files a check writes into its --out directory.
var checkOutputs = []string{
	"native.trace",
	"unikernel.trace", "unikernel.trace.partial", "unikernel.trace.tmp", "unikernel.console.log",
	"unikernel.initrd.cpio", "unikernel.rootfs.txt",
	"coverage.txt", "coverage.md", "coverage.json",
	"diff.txt", "diff.md", "diff.json",
	"report.html", "report.md",
}

// LockName is the lock file of an output directory, and the suffix of an
// output file's lock beside it.
const LockName = ".syscov.lock"

// prepareOut makes the output directory ready for one check: it takes
// the directory's lock (one writer: a second check on the same --out
// fails at once and says so), refuses before anything runs a symbolic
// link planted where an output goes, and removes what an earlier run
// wrote there, so that no report of that run stays beside the traces of
// this one. unlock releases the lock.
func prepareOut(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	unlock, err = outfile.Lock(dir, filepath.Join(dir, LockName))
	if err != nil {
		return nil, err
	}
	for _, name := range checkOutputs {
		if err := outfile.RefuseLink(filepath.Join(dir, name)); err != nil {
			unlock()
			return nil, err
		}
	}
	for _, name := range checkOutputs {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			unlock()
			return nil, err
		}
	}
	// The verification runs' logs of an earlier check: a directory of
	// syscov's own (a link planted in its place is refused).
	if err := outfile.RefuseLink(filepath.Join(dir, "verify")); err != nil {
		unlock()
		return nil, err
	}
	if err := os.RemoveAll(filepath.Join(dir, "verify")); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// LockOutput takes the lock of an output file (a trace written with -o):
// FILE.syscov.lock beside it; none for stdout.
func LockOutput(path string) (unlock func(), err error) {
	if path == "-" || path == "" {
		return func() {}, nil
	}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return func() {}, nil // a device or a FIFO: nothing to keep apart
	}
	return outfile.Lock(path, path+LockName)
}

// noteNative keeps what the native run shows that a reader of the
// reports must know: the app's own failure (an exit status other than 0,
// a signal, when syscov did not stop it) and events the tracer lost.
func (c *Check) noteNative(o Output, res *native.Result) {
	if !res.Stopped && !res.Canceled {
		switch {
		case res.Signal != "":
			c.notes.Warnings = append(c.notes.Warnings, fmt.Sprintf("the app was killed by %s natively", res.Signal))
		case res.ExitCode != 0:
			c.notes.Warnings = append(c.notes.Warnings, fmt.Sprintf("the app exited with status %d natively", res.ExitCode))
		}
	}
	for _, w := range c.notes.Warnings {
		fmt.Fprintf(o.Stderr, "syscov: warning: %s\n", w)
	}
	// (RecordNative has said this one on stderr already.)
	var lost uint64
	for _, n := range res.Lost {
		lost += n
	}
	if lost > 0 {
		c.notes.Warnings = append(c.notes.Warnings, fmt.Sprintf("the eBPF ring buffer had no room for %d events: the native trace misses them (a larger --ring-buffer, or --filter, helps)", lost))
	}
}

// unikernelIncomplete: a unikernel failure that stopped the run before it
// proved anything about the app (a timeout, Ctrl-C, qemu killed or
// failing), as opposed to what the guest did (no boot, a crash).
func unikernelIncomplete(err error) bool {
	var xe *ExitError
	if errors.As(err, &xe) {
		return xe.Code == ExitTimeout || xe.Code == ExitInterrupt
	}
	return true // qemu failed
}

// writeIncomplete writes the reports of a check that did not finish (the
// native run interrupted or timed out): the coverage of what was
// recorded, when there is any, marked incomplete, never a verdict. It
// returns stopped, the run's own error.
func (c *Check) writeIncomplete(o Output, j Judgement, nativePath string, plan *UnikernelPlan, stopped error) error {
	apps, err := CoverageOf([]string{nativePath}, trace.Options{}, j)
	if err != nil {
		apps = []*analyze.AppCoverage{}
	}
	if err := c.writeReports(nil, apps, plan); err != nil {
		fmt.Fprintf(o.Stderr, "syscov: %v\n", err)
	}
	fmt.Fprintf(o.Stdout, "incomplete: %s\nreports in %s\n", c.notes.Incomplete, c.Out)
	return stopped
}

// LockDir takes the lock of an output directory (probe --out, bench
// --out): one writer; made first when it does not exist yet.
func LockDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return outfile.Lock(dir, filepath.Join(dir, LockName))
}

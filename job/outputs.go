package job

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/syscov/syscov/internal/outfile"
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

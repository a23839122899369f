package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/syscov/syscov/trace"
)

// Each input is decoded once per command, whatever it writes: diff with
// its Markdown page, coverage of several apps, check with every report.
func TestOneDecodePerInput(t *testing.T) {
	fixtures, err := filepath.Abs("../../fixtures")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cases := []struct {
		args []string
		want int64
	}{
		{[]string{"diff", "--format", "markdown", filepath.Join(fixtures, "strace/redis-bgsave.strace"), filepath.Join(fixtures, "unikraft/redis-elfloader-0.17.log")}, 2},
		{[]string{"diff", "--format", "html", filepath.Join(fixtures, "strace/redis-bgsave.strace"), filepath.Join(fixtures, "unikraft/redis-elfloader-0.17.log")}, 2},
		{[]string{"coverage", "--format", "markdown", filepath.Join(fixtures, "strace/redis-bgsave.strace"), filepath.Join(fixtures, "strace/sqlite3-ttt-T-y.strace")}, 2},
		{[]string{"check", "--out", filepath.Join(dir, "c"), "--", "/bin/true"}, 1},
	}
	if images := unikraftImages(); images != "" {
		// Both runs: the native trace and the unikernel's, once each, and
		// the console, decoded while the VM runs (the recording itself).
		cases = append(cases, struct {
			args []string
			want int64
		}{[]string{"check", "--out", filepath.Join(dir, "u"), "--unikernel", filepath.Join(images, "elfloader_qemu-x86_64"), "--", "/bin/true"}, 3})
	} else {
		t.Log("SYSCOV_UNIKRAFT_IMAGES is not set: check with a unikernel run is not counted")
	}
	for _, tt := range cases {
		before := trace.StreamsOpened()
		var out, errb bytes.Buffer
		code := run(tt.args, bytes.NewReader(nil), &out, &errb)
		if code > 4 || code == 1 || code == 2 || code == 3 {
			t.Fatalf("%v: exit %d\n%s", tt.args, code, errb.String())
		}
		if got := trace.StreamsOpened() - before; got != tt.want {
			t.Errorf("%v: %d streams decoded, want %d (one per input)", tt.args[:2], got, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "c", "report.md")); err != nil {
		t.Errorf("check wrote no report: %v", err)
	}
}

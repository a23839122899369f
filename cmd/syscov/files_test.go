package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A command whose output file does not fit fails and says so, and leaves
// no cut file and no temporary file.
func TestProfileFullDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "full")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=16k"); err != nil {
		t.Skipf("cannot mount a small tmpfs (%v): this test needs root", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	// A command whose output file does not fit fails and says so: fill
	// the disk first.
	filler, _ := os.Create(filepath.Join(dir, "filler"))
	for {
		if _, err := filler.Write(make([]byte, 512)); err != nil {
			break
		}
	}
	filler.Close()
	var stdout, stderr bytes.Buffer
	code := run([]string{"profile", "-o", filepath.Join(dir, "big.pb.gz"), "../../fixtures/strace/redis-bgsave-ttt-T-yy.strace", "../../fixtures/strace/sysmix-k.strace"}, nil, &stdout, &stderr)
	if code != exitFail || !strings.Contains(stderr.String(), "no space left") {
		t.Errorf("profile onto a full disk: exit %d, stderr %q", code, stderr.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left: %v (a cut profile, a temporary file?)", entries)
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syscov/syscov/internal/testdisk"
)

// A command whose output file does not fit fails and says so, and leaves
// no cut file and no temporary file.
func TestProfileFullDisk(t *testing.T) {
	dir := testdisk.Small(t)
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

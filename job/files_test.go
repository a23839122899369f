package job

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syscov/syscov/internal/testdisk"
)

// On a full disk a report is written whole or not at all: the old file
// stays, no cut file and no temporary file is left.
func TestWriteFileFullDisk(t *testing.T) {
	dir := testdisk.Small(t)
	path := filepath.Join(dir, "report.html")
	if err := WriteFile(path, []byte("old report\n")); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(path, bytes.Repeat([]byte("x"), 64<<10))
	if err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("err = %v, want no space left", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old report\n" {
		t.Errorf("the old report became %d bytes", len(got))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}

}

// A symlink planted where syscov creates a trace is never followed.
func TestCreateNewDoesNotFollowSymlinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	link := filepath.Join(dir, "t.trace.partial")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	if f, err := CreateNew(link); err == nil {
		f.Close()
		t.Fatal("created through a symlink")
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("the symlink's target was written: %q", b)
	}
}

// Package testdisk gives tests a full disk on demand: a small tmpfs. It is
// for tests only and imports nothing of syscov.
package testdisk

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Small mounts a 16 KiB tmpfs in a temporary directory and returns its
// path; it is unmounted when the test ends. Without root the test skips
// and says so.
func Small(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "full")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=16k"); err != nil {
		t.Skipf("cannot mount a small tmpfs (%v): this test needs root", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

package outfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// plant makes dir/name a symbolic link to a victim file and returns the
// victim's path.
func plant(t *testing.T, dir, name string) string {
	t.Helper()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	return victim
}

func kept(t *testing.T, victim string) {
	t.Helper()
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("the link's target was written: %q", b)
	}
}

// A link planted where a growing file (a trace, a console log) goes is
// refused and named; its target is untouched, dangling links included.
func TestCreateRefusesLinks(t *testing.T) {
	dir := t.TempDir()
	victim := plant(t, dir, "native.trace")
	_, err := Create(filepath.Join(dir, "native.trace"))
	var le *LinkError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "is a symbolic link (to "+victim+")") {
		t.Fatalf("err = %v, want a LinkError naming the target", err)
	}
	kept(t, victim)
	os.Symlink(filepath.Join(dir, "nothing-yet"), filepath.Join(dir, "dangling"))
	if _, err := Create(filepath.Join(dir, "dangling")); !errors.As(err, &le) {
		t.Fatalf("dangling link: err = %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nothing-yet")); err == nil {
		t.Error("a dangling link's target was created")
	}
}

// An old regular file is replaced by a new one: a hard link planted there
// to another file does not make syscov write into that file.
func TestCreateReplacesHardLinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep"), 0o600)
	out := filepath.Join(dir, "app.trace")
	if err := os.Link(victim, out); err != nil {
		t.Fatal(err)
	}
	f, err := Create(out)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("new trace")
	f.Close()
	kept(t, victim)
	if b, _ := os.ReadFile(out); string(b) != "new trace" {
		t.Errorf("out = %q", b)
	}
}

// Devices and FIFOs are written as they are (-o /dev/null).
func TestCreateDevice(t *testing.T) {
	f, err := Create(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, _ := os.Lstat(os.DevNull); fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatal("/dev/null was replaced")
	}
	if _, err := Create(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: err = %v", err)
	}
}

// A report renamed into place refuses a link at its name too, and leaves
// no temporary file behind.
func TestWriteRefusesLinks(t *testing.T) {
	dir := t.TempDir()
	victim := plant(t, dir, "report.html")
	err := Write(filepath.Join(dir, "report.html"), []byte("report"))
	var le *LinkError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a LinkError", err)
	}
	kept(t, victim)
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("files left: %v", entries)
	}
	if err := Write(filepath.Join(dir, "ok.md"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "ok.md")); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
}

// One writer per output: the second gets a BusyError naming the first's
// pid; once the first unlocks, the lock is free again and its file gone.
func TestLock(t *testing.T) {
	dir := t.TempDir()
	lock := filepath.Join(dir, ".syscov.lock")
	unlock, err := Lock(dir, lock)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file: a second open in this process
	// conflicts as another process would.
	_, err = Lock(dir, lock)
	var be *BusyError
	if !errors.As(err, &be) || be.PID == "" || !strings.Contains(err.Error(), "is being written by another syscov (pid ") {
		t.Fatalf("second writer: err = %v", err)
	}
	unlock()
	if _, err := os.Lstat(lock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left: %v", err)
	}
	unlock2, err := Lock(dir, lock)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	unlock2()
	victim := plant(t, dir, "l")
	if _, err := Lock(dir, filepath.Join(dir, "l")); !errors.As(err, new(*LinkError)) {
		t.Errorf("lock through a link: err = %v", err)
	}
	kept(t, victim)
}

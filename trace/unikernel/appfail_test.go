package unikernel

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// app-elfloader's messages when it cannot start the app, as the real 0.17
// and 0.18 images print them (fixtures/unikraft/nographic-*.log).
func TestAppFailure(t *testing.T) {
	for _, tt := range []struct {
		lib, text, end, path string
	}{
		{"appelfloader", "nonexistent: Failed to execute /nonexistent: No such file or directory", EndAppNotFound, "/nonexistent"},
		{"appelfloader", "--: Failed to find executable in envirenment ($PATH): No such file or directory (-2)", EndAppNotFound, "--"},
		{"appelfloader", "ld.so.cache: Parsing of ELF image failed: Exec format error (-8)", EndAppNotExec, "ld.so.cache"},
		{"appelfloader", "ld.so.cache: Image format not recognized or not supported", EndAppNotExec, "ld.so.cache"},
		{"appelfloader", "app: Failed to execute /app: Permission denied", EndAppNotExec, "/app"},
		{"libukrandom", "Could not initialize the HWRNG (-95)", "", ""},
		{"appelfloader", "Prepare application thread...", "", ""},
		{"libvfscore", "x: Failed to execute /x: No such file or directory", "", ""},
	} {
		end, path := AppFailure(tt.lib, tt.text)
		if end != tt.end || path != tt.path {
			t.Errorf("%s %q: %q %q, want %q %q", tt.lib, tt.text, end, path, tt.end, tt.path)
		}
	}
}

// CPIONames reads back what Rootfs.WriteCPIO wrote.
func TestCPIONamesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a", "bb", "ccc"} {
		if err := os.WriteFile(filepath.Join(dir, f), bytes.Repeat([]byte("x"), len(f)*3), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := NewRootfs()
	r.AddDir("/etc", "test")
	for _, f := range []string{"a", "bb", "ccc"} {
		if err := r.AddFile(filepath.Join(dir, f), "/etc/"+f, "test"); err != nil {
			t.Fatal(err)
		}
	}
	cpio := filepath.Join(dir, "x.cpio")
	out, err := os.Create(cpio)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteCPIO(out); err != nil {
		t.Fatal(err)
	}
	out.Close()
	names, more, err := CPIONames(cpio, 100)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range r.List() {
		want = append(want, e.Guest)
	}
	for _, w := range want {
		found := false
		for _, n := range names {
			found = found || n == w
		}
		if !found {
			t.Errorf("%s not listed: %v", w, names)
		}
	}
	if more != 0 {
		t.Errorf("more %d", more)
	}
	if names, more, err = CPIONames(cpio, 1); err != nil || len(names) != 1 || more == 0 {
		t.Errorf("max 1: %v %d %v", names, more, err)
	}
	if err := os.WriteFile(cpio, []byte("070701 not a header"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := CPIONames(cpio, 10); err == nil || !strings.Contains(err.Error(), "at byte 0") {
		t.Errorf("bad archive: %v", err)
	}
}

// FuzzCPIONames: any file gives names or an error naming the offset,
// never a panic.
func FuzzCPIONames(f *testing.F) {
	dir := f.TempDir()
	r := NewRootfs()
	r.AddDir("/etc", "seed")
	var b bytes.Buffer
	if err := r.WriteCPIO(&b); err == nil {
		f.Add(b.Bytes())
	}
	f.Add([]byte("070701"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "f.cpio")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		names, _, err := CPIONames(p, 50)
		if err != nil && !strings.Contains(err.Error(), "at byte") {
			t.Fatalf("error without the offset: %v", err)
		}
		if len(names) > 50 {
			t.Fatalf("%d names", len(names))
		}
	})
}

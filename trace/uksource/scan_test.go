package uksource

import (
	"os"
	"reflect"
	"testing"
)

func TestScanFixtureTree(t *testing.T) {
	got, err := Scan(os.DirFS("../../fixtures/uksource"))
	if err != nil {
		t.Fatal(err)
	}
	var brief []string
	for _, f := range got {
		s := f.Name + " " + string(f.Kind) + " " + f.Lib + " " + f.File
		if f.Note != "" {
			s += " (" + f.Note + ")"
		}
		brief = append(brief, s)
	}
	want := []string{
		"clock_gettime defined posix-time lib/posix-time/time.c",
		"clone defined posix-process lib/posix-process/clone.c",
		"clone partial posix-process lib/posix-process/clone.c (posix_clone: Unsupported clone flags requested: 0x%lx)",
		"clone provided posix-process lib/posix-process/Makefile.uk",
		"clone3 provided posix-process lib/posix-process/Makefile.uk",
		"fcntl defined vfscore lib/vfscore/main.c",
		"fcntl partial vfscore lib/vfscore/main.c (unsupported fcntl cmd %d)",
		"getpid defined posix-process lib/posix-process/clone.c",
		"getpid provided posix-process lib/posix-process/Makefile.uk",
		"nanosleep defined posix-time lib/posix-time/time.c",
		"openat defined vfscore lib/vfscore/main.c",
		"read defined vfscore lib/vfscore/main.c",
		"setpgid defined posix-process lib/posix-process/clone.c",
		"setpgid stubbed posix-process lib/posix-process/clone.c",
		"timer_create defined posix-time lib/posix-time/time.c",
		"timer_create stubbed posix-time lib/posix-time/time.c",
	}
	if !reflect.DeepEqual(brief, want) {
		t.Errorf("got\n%q\nwant\n%q", brief, want)
	}
	for _, f := range got {
		if f.Line < 1 {
			t.Errorf("%+v has no line", f)
		}
	}
}

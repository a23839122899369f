package uksource

import (
	"os"
	"testing"
	"testing/fstest"
)

// FuzzScan: the source scanner never panics on any C file or Makefile.uk
// and gives every finding a name and a line.
func FuzzScan(f *testing.F) {
	for _, p := range []string{"lib/posix-process/clone.c", "lib/posix-time/time.c", "lib/vfscore/main.c", "lib/posix-process/Makefile.uk"} {
		data, err := os.ReadFile("../../fixtures/uksource/" + p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, p[len(p)-2:] == ".c")
	}
	f.Fuzz(func(t *testing.T, data []byte, isC bool) {
		name := "lib/x/Makefile.uk"
		if isC {
			name = "lib/x/x.c"
		}
		got, err := Scan(fstest.MapFS{name: {Data: data}})
		if err != nil {
			t.Fatal(err)
		}
		for _, fd := range got {
			if fd.Name == "" || fd.Line < 1 {
				t.Fatalf("finding %+v", fd)
			}
		}
	})
}

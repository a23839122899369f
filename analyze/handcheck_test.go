package analyze

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syscov/syscov/analyze/uksource"
	"github.com/syscov/syscov/trace"
)

type handChecked struct {
	name  string
	level Level
	where string
	line  int
}

// readHandCheck reads kbdata/handcheck-staging.tsv: syscalls whose level,
// place and Kconfig were read from the Unikraft source by hand.
func readHandCheck(t *testing.T) []handChecked {
	f, err := os.Open("kbdata/handcheck-staging.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []handChecked
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "syscall\t") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 5 {
			t.Fatalf("handcheck-staging.tsv:%d: %d columns, want 5", n, len(cols))
		}
		out = append(out, handChecked{name: cols[0], level: Level(cols[1]), where: cols[2], line: n})
	}
	if len(out) < 80 {
		t.Fatalf("%d syscalls checked by hand, want at least 80", len(out))
	}
	return out
}

// The built-in tables agree with the syscalls checked by hand: the level
// (in app-elfloader's defaults) and, for the staging tree they were read
// in, the place.
func TestHandCheckedSyscalls(t *testing.T) {
	rows := readHandCheck(t)
	for _, spec := range []string{"unikraft@staging", "unikraft@0.17.0"} {
		tab, err := EmbeddedTable(spec)
		if err != nil {
			t.Fatal(err)
		}
		agree := 0
		for _, r := range rows {
			s := tab.Lookup(trace.ArchX86_64, r.name)
			switch {
			case s.Level != r.level:
				t.Errorf("%s: %s is %s, checked by hand %s (handcheck-staging.tsv:%d)", spec, r.name, s.Level, r.level, r.line)
			case spec == "unikraft@staging" && r.where != "-" && s.Where != r.where:
				t.Errorf("%s: %s at %s, checked by hand at %s (handcheck-staging.tsv:%d)", spec, r.name, s.Where, r.where, r.line)
			default:
				agree++
			}
		}
		t.Logf("%s agrees with %d of %d syscalls checked by hand", spec, agree, len(rows))
	}
}

// With the Unikraft sources at hand (SYSCOV_UNIKRAFT_SRC: a folder with
// unikraft/, app-elfloader/ and lib-lwip/ as the table's source line
// names them), the importer run now agrees with the hand check too.
func TestImporterOnRealTree(t *testing.T) {
	src := os.Getenv("SYSCOV_UNIKRAFT_SRC")
	if src == "" {
		t.Skip("SYSCOV_UNIKRAFT_SRC is not set: no Unikraft source tree to import (the built-in tables are checked by TestHandCheckedSyscalls)")
	}
	var findings []uksource.Finding
	for _, dir := range []string{"unikraft", "app-elfloader", "lib-lwip"} {
		f, err := uksource.Scan(os.DirFS(filepath.Join(src, dir)))
		if err != nil {
			t.Fatal(err)
		}
		for i := range f {
			if f[i].Lib == "" {
				f[i].Lib = strings.TrimPrefix(dir, "lib-")
			}
		}
		findings = append(findings, f...)
	}
	embedded, err := EmbeddedTable("unikraft@staging")
	if err != nil {
		t.Fatal(err)
	}
	overrides, err := Overrides()
	if err != nil {
		t.Fatal(err)
	}
	tab, err := BuildSupportTable(findings, "staging", "test", embedded.ConfigOf(), overrides)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range readHandCheck(t) {
		if got := tab.Lookup(trace.ArchX86_64, r.name).Level; got != r.level {
			t.Errorf("%s: the importer says %s, checked by hand %s", r.name, got, r.level)
		}
	}
}

package analyze

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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

// readHandCheck reads kbdata/handcheck-NAME.tsv: syscalls whose level,
// place and Kconfig were read from a Unikraft source tree by hand (the
// file's header says which).
func readHandCheck(t *testing.T, file string, atLeast int) []handChecked {
	f, err := os.Open("kbdata/" + file)
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
			t.Fatalf("%s:%d: %d columns, want 5", file, n, len(cols))
		}
		out = append(out, handChecked{name: cols[0], level: Level(cols[1]), where: cols[2], line: n})
	}
	if len(out) < atLeast {
		t.Fatalf("%s: %d syscalls checked by hand, want at least %d", file, len(out), atLeast)
	}
	return out
}

// Which hand check holds for which built-in table: the levels (in
// app-elfloader's defaults) always, the places where the rows were read
// in that table's tree.
var handChecks = []struct {
	file    string
	atLeast int
	table   string
	places  bool
}{
	// Read on staging eaf6fda1 (the 0.17 images' tree); 0.17.0 agrees on
	// every level.
	{"handcheck-0.17.tsv", 80, "unikraft@0.17.0", false},
	{"handcheck-0.18.0.tsv", 80, "unikraft@0.18.0", true},
	{"handcheck-staging.tsv", 10, "unikraft@staging", true},
}

// The built-in tables agree with the syscalls checked by hand.
func TestHandCheckedSyscalls(t *testing.T) {
	for _, hc := range handChecks {
		rows := readHandCheck(t, hc.file, hc.atLeast)
		tab, err := EmbeddedTable(hc.table)
		if err != nil {
			t.Fatal(err)
		}
		agree := 0
		for _, r := range rows {
			s := tab.Lookup(trace.ArchX86_64, r.name)
			switch {
			case s.Level != r.level:
				t.Errorf("%s: %s is %s, checked by hand %s (%s:%d)", hc.table, r.name, s.Level, r.level, hc.file, r.line)
			case hc.places && r.where != "-" && s.Where != r.where:
				t.Errorf("%s: %s at %s, checked by hand at %s (%s:%d)", hc.table, r.name, s.Where, r.where, hc.file, r.line)
			default:
				agree++
			}
		}
		t.Logf("%s agrees with %d of %d syscalls checked by hand in %s", hc.table, agree, len(rows), hc.file)
	}
}

// The rows of 0.18.0 that staging's diff does not name keep their level
// on staging: what changed is in handcheck-staging.tsv.
func TestStagingKeepsUnchangedLevels(t *testing.T) {
	r18, err := EmbeddedTable("unikraft@0.18.0")
	if err != nil {
		t.Fatal(err)
	}
	st, err := EmbeddedTable("unikraft@staging")
	if err != nil {
		t.Fatal(err)
	}
	changed := map[string]bool{}
	for _, r := range readHandCheck(t, "handcheck-staging.tsv", 10) {
		changed[r.name] = true
	}
	for _, r := range readHandCheck(t, "handcheck-0.18.0.tsv", 80) {
		if got := st.Lookup(trace.ArchX86_64, r.name).Level; !changed[r.name] && got != r.level {
			t.Errorf("unikraft@staging: %s is %s, 0.18.0 by hand %s, and handcheck-staging.tsv does not say why", r.name, got, r.level)
		}
	}
	for _, c := range DiffTables(r18, st, trace.ArchX86_64) {
		if c.From.Level != c.To.Level && !changed[c.Name] {
			t.Errorf("%s: %s → %s from 0.18.0 to staging, not checked by hand in handcheck-staging.tsv", c.Name, c.From.Level, c.To.Level)
		}
	}
}

// importTree reads trees as `syscov kb import` does, the default
// configuration resolved from app-elfloader's qemu-x86_64-initrd.
func importTree(t *testing.T, version string, dirs ...string) *SupportTable {
	var findings []uksource.Finding
	var trees []fs.FS
	var names []string
	for _, dir := range dirs {
		f, err := uksource.Scan(os.DirFS(dir))
		if err != nil {
			t.Fatal(err)
		}
		for i := range f {
			if f[i].Lib == "" {
				f[i].Lib = strings.TrimPrefix(filepath.Base(dir), "lib-")
			}
		}
		findings = append(findings, f...)
		trees, names = append(trees, os.DirFS(dir)), append(names, filepath.Base(dir))
	}
	kt, err := uksource.ReadKconfig(trees, names)
	if err != nil {
		t.Fatal(err)
	}
	elf := dirs[1]
	data, err := os.ReadFile(filepath.Join(elf, "defconfigs/qemu-x86_64-initrd"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := uksource.ParseDefconfig("qemu-x86_64-initrd", data)
	if err != nil {
		t.Fatal(err)
	}
	def := &Config{Name: "qemu-x86_64-initrd", On: map[string]bool{}}
	for _, o := range kt.Resolve(set).On() {
		def.On[o] = true
	}
	overrides, err := Overrides()
	if err != nil {
		t.Fatal(err)
	}
	tab, err := BuildSupportTable(findings, version, "test", def, overrides)
	if err != nil {
		t.Fatal(err)
	}
	tab.Options = kt.Options()
	return tab
}

// With the Unikraft sources at hand (SYSCOV_UNIKRAFT_SRC: a folder with
// app-elfloader/ (0.18 compat patch applied), lib-lwip/, lib-libelf/ and
// one or more of unikraft/ (staging eaf6fda1, the 0.17 images' tree),
// unikraft-0.17.0/, unikraft-0.18.0/ and unikraft-staging/ (12072b5f), as
// regenerate.sh extracts them), the importer run now agrees with the hand
// checks, and gives the built-in tables' levels and places exactly.
func TestImporterOnRealTree(t *testing.T) {
	src := os.Getenv("SYSCOV_UNIKRAFT_SRC")
	if src == "" {
		t.Skip("SYSCOV_UNIKRAFT_SRC is not set: no Unikraft source tree to import (the built-in tables are checked by TestHandCheckedSyscalls)")
	}
	libs := []string{filepath.Join(src, "app-elfloader"), filepath.Join(src, "lib-lwip"), filepath.Join(src, "lib-libelf")}
	ran := 0
	for _, c := range []struct{ dir, version, table, handcheck string }{
		{"unikraft", "staging", "", "handcheck-0.17.tsv"},
		{"unikraft-0.17.0", "0.17.0", "unikraft@0.17.0", "handcheck-0.17.tsv"},
		{"unikraft-0.18.0", "0.18.0", "unikraft@0.18.0", "handcheck-0.18.0.tsv"},
		{"unikraft-staging", "staging", "unikraft@staging", "handcheck-staging.tsv"},
	} {
		dir := filepath.Join(src, c.dir)
		if _, err := os.Stat(dir); err != nil {
			t.Logf("%s: not there, not imported", dir)
			continue
		}
		ran++
		tab := importTree(t, c.version, append([]string{dir}, libs...)...)
		for _, r := range readHandCheck(t, c.handcheck, 10) {
			if got := tab.Lookup(trace.ArchX86_64, r.name).Level; got != r.level {
				t.Errorf("%s: %s: the importer says %s, checked by hand %s (%s:%d)", c.dir, r.name, got, r.level, c.handcheck, r.line)
			}
		}
		if c.table == "" {
			continue
		}
		embedded, err := EmbeddedTable(c.table)
		if err != nil {
			t.Fatal(err)
		}
		if d := DiffTables(embedded, tab, trace.ArchX86_64); len(d) > 0 {
			t.Errorf("%s: the import differs from the built-in %s in %d syscalls, the first %s (%v): run analyze/kbdata/regenerate.sh", c.dir, c.table, len(d), d[0].Name, d[0].What)
		}
		if !slices.Equal(embedded.DefaultConfig, tab.DefaultConfig) {
			t.Errorf("%s: the default configuration differs from the built-in %s's", c.dir, c.table)
		}
		if !slices.Equal(embedded.Options, tab.Options) {
			t.Errorf("%s: the Kconfig options differ from the built-in %s's (%d, built in %d)", c.dir, c.table, len(tab.Options), len(embedded.Options))
		}
	}
	if ran == 0 {
		t.Fatalf("SYSCOV_UNIKRAFT_SRC=%s has none of unikraft/, unikraft-0.17.0/, unikraft-0.18.0/, unikraft-staging/", src)
	}
}

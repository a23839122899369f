package analyze

import (
	"os"
	"testing"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/uksource"
)

func TestBuildSupportTableFromFixtureTree(t *testing.T) {
	findings, err := uksource.Scan(os.DirFS("../fixtures/uksource"))
	if err != nil {
		t.Fatal(err)
	}
	tab := BuildSupportTable(findings, "9.9.9", "fixture")
	for name, want := range map[string]Level{
		"getpid": Implemented, "openat": Implemented, "clone": Partial, "fcntl": Partial,
		"setpgid": Stubbed, "timer_create": Stubbed, "clone3": Implemented, "fork": Missing, "io_uring_setup": Missing,
	} {
		if got := tab.Lookup(trace.ArchX86_64, name).Level; got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	if n := tab.Lookup(trace.ArchX86_64, "clone").Note; n != "posix_clone: Unsupported clone flags requested: 0x%lx" {
		t.Errorf("clone note %q", n)
	}
	// aarch64 has no open(2): only its own names are in its table.
	if _, ok := tab.Arch[trace.ArchAarch64]["open"]; ok {
		t.Error("aarch64 table has open")
	}
	data, err := MarshalSupportTable(tab)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseSupportTable(data)
	if err != nil || back.Name() != "unikraft@9.9.9" || back.Lookup(trace.ArchX86_64, "setpgid").Level != Stubbed {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := ParseSupportTable([]byte(`{"syscov_kb":1,"os":"x","version":"1","arch":{"x86_64":{"read":{"level":"maybe"}}}}`)); err == nil {
		t.Error("an unknown level is accepted")
	}
}

func TestEmbeddedTable(t *testing.T) {
	tab, err := EmbeddedTable("unikraft")
	if err != nil {
		t.Fatal(err)
	}
	if tab.Version != "0.17.0" {
		t.Errorf("newest built-in table is %s", tab.Name())
	}
	// Facts of Unikraft 0.17.0 that the analysis relies on.
	for name, want := range map[string]Level{"clone": Partial, "fork": Missing, "openat": Implemented, "brk": Implemented, "getdents64": Implemented} {
		if got := tab.Lookup(trace.ArchX86_64, name).Level; got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	if _, err := EmbeddedTable("unikraft@0.1.0"); err == nil {
		t.Error("an unknown version is found")
	}
}

// FuzzParseSupportTable: a table file is never trusted to be well formed.
func FuzzParseSupportTable(f *testing.F) {
	data, _ := os.ReadFile("kbdata/unikraft-0.17.0.json")
	f.Add(data[:min(len(data), 4000)])
	f.Add([]byte(`{"syscov_kb":1,"os":"unikraft","version":"1","arch":{"x86_64":{"read":{"level":"implemented"}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := ParseSupportTable(data)
		if err != nil {
			return
		}
		for arch := range tab.Arch {
			for name := range tab.Arch[arch] {
				if l := tab.Lookup(arch, name).Level; l == "" {
					t.Fatalf("%s %s: empty level", arch, name)
				}
			}
		}
	})
}

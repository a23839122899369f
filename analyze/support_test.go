package analyze

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/syscov/syscov/analyze/uksource"
	"github.com/syscov/syscov/trace"
)

func TestBuildSupportTableFromFixtureTree(t *testing.T) {
	findings, err := uksource.Scan(os.DirFS("../fixtures/uksource"))
	if err != nil {
		t.Fatal(err)
	}
	// The image of the fixture: posix-process without PIDS, posix-mmap,
	// poll, vfscore; no posix-time, no ukmmap, no tests.
	cfg, err := ParseConfig("fixture.config", []byte("CONFIG_LIBPOSIX_PROCESS=y\n# CONFIG_LIBPOSIX_PROCESS_PIDS is not set\nCONFIG_LIBPOSIX_MMAP=y\nCONFIG_LIBPOSIX_POLL=y\nCONFIG_LIBVFSCORE=y\nCONFIG_APPELFLOADER_ARCH_PRCTL=y\nCONFIG_ARCH_X86_64=y\n"))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := BuildSupportTable(findings, "9.9.9", "fixture", cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]Level{
		"getpid": Implemented, "openat": Implemented, "clone": Partial, "fcntl": Partial, "ppoll": Partial,
		"setpgid": Missing,                                        // defined, but no UK_PROVIDED_SYSCALLS entry: the shim never calls it
		"wait4":   Stubbed, "execve": Stubbed, "getppid": Stubbed, // getppid: the !PIDS variant
		"mprotect": Implemented, // posix-mmap's, not ukmmap's stub
		"mremap":   Disabled, "clock_gettime": Disabled, "clone3": Disabled,
		"fork": Missing, "io_uring_setup": Missing, "arch_prctl": Implemented,
	} {
		if got := tab.Lookup(trace.ArchX86_64, name).Level; got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	if s := tab.Lookup(trace.ArchX86_64, "mremap"); s.Note != "not in this image: enable CONFIG_LIBUKMMAP (which turns off CONFIG_LIBPOSIX_MMAP: it cannot be on with it)" || s.Where != "lib/ukmmap/mmap.c:8" {
		t.Errorf("mremap: %+v", s)
	}
	if s := tab.Lookup(trace.ArchX86_64, "wait4"); s.Returns != "-ECHILD" {
		t.Errorf("wait4 returns %q", s.Returns)
	}
	if s := tab.Lookup(trace.ArchX86_64, "clone3"); len(s.Fix) != 1 || s.Fix[0] != "CONFIG_LIBPOSIX_PROCESS_CLONE" {
		t.Errorf("clone3 fix %v", s.Fix)
	}
	// The same release with ukmmap instead of posix-mmap: mprotect is
	// ukmmap's stub, mremap is on.
	ukmmap, _ := ParseConfig("ukmmap.config", []byte("CONFIG_LIBUKMMAP=y\nCONFIG_LIBPOSIX_PROCESS=y\nCONFIG_LIBPOSIX_PROCESS_PIDS=y\n"))
	other := tab.WithConfig(ukmmap)
	for name, want := range map[string]Level{"mprotect": Stubbed, "mremap": Implemented, "mmap": Disabled, "getppid": Implemented, "arch_prctl": Disabled} {
		if got := other.Lookup(trace.ArchX86_64, name).Level; got != want {
			t.Errorf("ukmmap image: %s: %s, want %s", name, got, want)
		}
	}
	if n := tab.Lookup(trace.ArchX86_64, "clone").Note; n != "posix_clone: Unsupported clone flags requested: 0x%lx; -EOPNOTSUPP when flags & ~SUPPORTED_FLAGS" {
		t.Errorf("clone note %q", n)
	}
	// aarch64 has no open(2): only its own names are in its table.
	if _, ok := tab.Arch[trace.ArchAarch64]["open"]; ok {
		t.Error("aarch64 table has open")
	}
	// aarch64 has no arch_prctl; its table has no x86_64-only options on.
	if tab.Lookup(trace.ArchAarch64, "openat").Level != Implemented {
		t.Error("aarch64 openat")
	}
	data, err := MarshalSupportTable(tab)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseSupportTable(data)
	if err != nil || back.Name() != "unikraft@9.9.9" || back.Lookup(trace.ArchX86_64, "wait4").Level != Stubbed || back.ConfigOf() == nil {
		t.Fatalf("round trip: %v", err)
	}
	if got := back.WithConfig(ukmmap).Lookup(trace.ArchX86_64, "mprotect").Level; got != Stubbed {
		t.Errorf("round trip, then ukmmap: mprotect %s", got)
	}
	if _, err := ParseSupportTable([]byte(`{"syscov_kb":1,"os":"x","version":"1","arch":{"x86_64":{"read":{"level":"maybe"}}}}`)); err == nil {
		t.Error("an unknown level is accepted")
	}
}

// Every override names an implementation the importer found, and does
// what it says on the built-in tables.
func TestOverrides(t *testing.T) {
	overrides, err := Overrides()
	if err != nil {
		t.Fatal(err)
	}
	tab, err := EmbeddedTable("unikraft@0.17.0")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range overrides {
		s := tab.Lookup(trace.ArchX86_64, o.Syscall)
		found := false
		for _, im := range s.Impls {
			if im.File == o.File {
				found = true
				if im.Override != o.Reason {
					t.Errorf("%s: override not applied to %s", o.Syscall, im.Where())
				}
				if o.Level != "" && im.Level != o.Level {
					t.Errorf("%s: level %s, want %s", o.Syscall, im.Level, o.Level)
				}
			}
		}
		if !found {
			t.Errorf("%s: no implementation in %s", o.Syscall, o.File)
		}
		if len(s.Rules) < len(o.Rules) {
			t.Errorf("%s: %d rules, want %d", o.Syscall, len(s.Rules), len(o.Rules))
		}
	}
}

// Kconfig conditions evaluate over a .config; bad lines are errors.
func TestConfig(t *testing.T) {
	c, err := ParseConfig("x.config", []byte("# comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_S=\"text\"\nCONFIG_N=n\n"))
	if err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string]bool{
		"CONFIG_A": true, "CONFIG_B": false, "!CONFIG_B": true, "CONFIG_A && CONFIG_B": false,
		"(CONFIG_A || CONFIG_B)": true, "!(CONFIG_A && CONFIG_B) && CONFIG_S": true, "CONFIG_N": false,
		"__GNUC__": true, "CONFIG_A && (": true, "0": false,
	} {
		if got := c.Holds(expr); got != want {
			t.Errorf("%s: %v, want %v", expr, got, want)
		}
	}
	if _, err := ParseConfig("bad.config", []byte("CONFIG_A=y\nnot a line\n")); err == nil || !strings.Contains(err.Error(), "bad.config:2") {
		t.Errorf("bad line: %v", err)
	}
	if _, err := ParseConfig("empty.config", nil); err == nil {
		t.Error("an empty .config is accepted")
	}
}

// Argument rules: the uses an implementation rejects, and only those.
func TestArgRules(t *testing.T) {
	tab, err := EmbeddedTable("unikraft@0.17.0")
	if err != nil {
		t.Fatal(err)
	}
	j := testJudge(t, nil)
	j.Table = tab
	for _, tt := range []struct {
		name, args string
		key        string
		level      Level
	}{
		{"futex", "0x7f00, FUTEX_WAIT_PRIVATE, 0, NULL", "futex", Implemented},
		{"futex", "0x7f00, FUTEX_WAKE|FUTEX_PRIVATE_FLAG, 1", "futex", Implemented},
		{"futex", "0x7f00, FUTEX_WAIT_BITSET|FUTEX_PRIVATE_FLAG|FUTEX_CLOCK_REALTIME, 0, NULL, NULL, FUTEX_BITSET_MATCH_ANY", "futex", Implemented},
		{"futex", "0x7f00, FUTEX_LOCK_PI|FUTEX_PRIVATE_FLAG, 0, NULL", "futex FUTEX_LOCK_PI|FUTEX_PRIVATE_FLAG", Missing},
		{"futex", "0x7f00, FUTEX_WAIT_BITSET, 0, NULL, NULL, 0x1", "futex FUTEX_WAIT_BITSET with a partial mask", Missing},
		{"ppoll", "[{fd=3, events=POLLIN}], 1, NULL, NULL, 8", "ppoll", Implemented},
		{"ppoll", "[{fd=3, events=POLLIN}], 1, NULL, [], 8", "ppoll with a signal mask", Missing},
		{"epoll_pwait", "4, [], 64, -1, [PIPE], 8", "epoll_pwait with a signal mask", Missing},
		{"socket", "AF_INET, SOCK_STREAM, IPPROTO_TCP", "socket", Implemented},
		{"socket", "AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE", "socket AF_NETLINK", Missing},
		{"socket", "AF_UNIX, SOCK_STREAM, 0", "socket AF_UNIX", Disabled},
		{"arch_prctl", "ARCH_SET_FS, 0x7f0000", "arch_prctl", Implemented},
		{"arch_prctl", "0x3001 /* ARCH_??? */, 0x7ffc", "arch_prctl 0x3001 /* ARCH_??? */", Missing},
		{"faccessat", "AT_FDCWD, \"/x\", F_OK, AT_SYMLINK_NOFOLLOW", "faccessat with AT_SYMLINK_NOFOLLOW", Missing},
		{"clock_nanosleep", "CLOCK_MONOTONIC, 0, {tv_sec=1, tv_nsec=0}, NULL", "clock_nanosleep CLOCK_MONOTONIC", Missing},
		{"clock_nanosleep", "CLOCK_REALTIME, 0, {tv_sec=1, tv_nsec=0}, NULL", "clock_nanosleep", Implemented},
		// The unikernel shim prints undecoded numbers: no rule can judge.
		{"futex", "0x7f00, 0x80, 0x0", "futex", Partial},
	} {
		key, level, _ := j.Support(trace.ArchX86_64, &trace.Event{Kind: trace.KindSyscall, Name: tt.name, Args: tt.args})
		if key != tt.key || level != tt.level {
			t.Errorf("%s(%s): %q %s, want %q %s", tt.name, tt.args, key, level, tt.key, tt.level)
		}
	}
}

func TestEmbeddedTable(t *testing.T) {
	tab, err := EmbeddedTable("unikraft")
	if err != nil {
		t.Fatal(err)
	}
	if tab.Version != "0.18.0" {
		t.Errorf("newest built-in release table is %s", tab.Name())
	}
	if _, err := EmbeddedTable("unikraft@staging"); err != nil {
		t.Error(err)
	}
	if tab, err = EmbeddedTable("unikraft@0.17.0"); err != nil {
		t.Fatal(err)
	}
	// Facts of Unikraft 0.17.0 (in app-elfloader's default configuration)
	// that the analysis relies on.
	for name, want := range map[string]Level{"clone": Partial, "fork": Missing, "openat": Implemented, "brk": Implemented, "getdents64": Implemented,
		"wait4": Stubbed, "execve": Stubbed, "rt_sigaction": Stubbed, "futex": Partial, "mprotect": Implemented, "mremap": Disabled, "eventfd2": Disabled} {
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
	f.Add([]byte(`{"syscov_kb":2,"os":"unikraft","version":"1","default_config":["CONFIG_A"],"default_config_name":"d","arch":{"x86_64":{"futex":{"level":"partial","impls":[{"lib":"l","file":"f.c","line":1,"level":"partial","needs":["CONFIG_A && !CONFIG_B"]}],"rules":[{"use":"futex {arg1}","answer":"-ENOSYS","when":[{"arg":1,"not_in":["FUTEX_WAIT"]}]}]}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := ParseSupportTable(data)
		if err != nil {
			return
		}
		other := tab.WithConfig(&Config{Name: "x", On: map[string]bool{"CONFIG_A": true}})
		for arch := range tab.Arch {
			for name := range tab.Arch[arch] {
				if l := tab.Lookup(arch, name).Level; l == "" {
					t.Fatalf("%s %s: empty level", arch, name)
				}
				if l := other.Lookup(arch, name).Level; l == "" {
					t.Fatalf("%s %s: empty level in another configuration", arch, name)
				}
				for _, args := range []string{"", "0x1, FUTEX_WAKE|FUTEX_PRIVATE_FLAG, 1", "AF_INET, SOCK_STREAM", "NULL, [], 0x0"} {
					if r, _ := other.RuleFor(arch, &trace.Event{Kind: trace.KindSyscall, Name: name, Args: args}); r != nil && r.Name(args) == "" {
						t.Fatalf("%s: a rule without a name", name)
					}
				}
			}
		}
	})
}

// FuzzParseConfig: a .config and the conditions evaluated over it are
// never trusted: an error names the file and line, evaluation never
// panics.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_S=\"x\"\n"), "CONFIG_A && !(CONFIG_B || CONFIG_S)")
	f.Add([]byte("CONFIG_A=y\nnot kconfig\n"), "((CONFIG_A")
	f.Add([]byte(""), "!")
	f.Fuzz(func(t *testing.T, data []byte, expr string) {
		c, err := ParseConfig("f.config", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.config") {
				t.Fatalf("error without the file: %v", err)
			}
			return
		}
		_ = c.Holds(expr)
		_ = c.Missing([]string{expr, "CONFIG_A"})
	})
}

// A .config of another release names options the table's trees do not
// define (0.18 renamed the console driver's): the table says so, from the
// options its import read, with no list of renames.
func TestForeignOptions(t *testing.T) {
	tab, err := EmbeddedTable("unikraft@0.18.0")
	if err != nil {
		t.Fatal(err)
	}
	old := &Config{Name: "0.17 .config", On: map[string]bool{"CONFIG_LIBUKCONSOLE_NS16550": true, "CONFIG_LIBPOSIX_PROCESS": true, "CONFIG_LIBNS16550": true}}
	if got := tab.ForeignOptions(old); !reflect.DeepEqual(got, []string{"CONFIG_LIBUKCONSOLE_NS16550"}) {
		t.Errorf("foreign %v", got)
	}
	if c := tab.WithConfig(old).Config; !strings.Contains(c, "it sets 1 options that no Config.uk of unikraft@0.18.0 defines: CONFIG_LIBUKCONSOLE_NS16550") {
		t.Errorf("config name %q", c)
	}
	t17, err := EmbeddedTable("unikraft@0.17.0")
	if err != nil {
		t.Fatal(err)
	}
	if got := t17.ForeignOptions(old); !reflect.DeepEqual(got, []string{"CONFIG_LIBNS16550", "CONFIG_LIBUKCONSOLE_NS16550"}) {
		t.Errorf("0.17.0 (no ukconsole yet): foreign %v", got)
	}
}

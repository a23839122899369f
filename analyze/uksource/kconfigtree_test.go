package uksource

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func readFixtureKconfig(t *testing.T, tree string) (*KconfigTree, map[string]string) {
	t.Helper()
	k, err := ReadKconfig([]fs.FS{os.DirFS("../../fixtures/kconfig/" + tree)}, []string{""})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../fixtures/kconfig/defconfig")
	if err != nil {
		t.Fatal(err)
	}
	set, err := ParseDefconfig("defconfig", data)
	if err != nil {
		t.Fatal(err)
	}
	return k, set
}

// The old release's defconfig on the old tree: selects, defaults, the
// options inside "if" blocks.
func TestResolveOldTree(t *testing.T) {
	k, set := readFixtureKconfig(t, "old")
	r := k.Resolve(set)
	want := []string{"CONFIG_KVM_VMM_QEMU", "CONFIG_LIBPOSIX_PROCESS", "CONFIG_LIBPOSIX_PROCESS_CLONE", "CONFIG_LIBPOSIX_PROCESS_PIDS",
		"CONFIG_LIBUKCONSOLE", "CONFIG_LIBUKCONSOLE_NS16550", "CONFIG_LIBUKRANDOM", "CONFIG_LIBUKSIGNAL", "CONFIG_LIBVFSCORE", "CONFIG_PLAT_KVM"}
	if got := r.On(); !slices.Equal(got, want) {
		t.Errorf("on: %v\nwant %v", got, want)
	}
	if len(r.Unknown) > 0 || len(r.Refused) > 0 {
		t.Errorf("unknown %v refused %v, want none", r.Unknown, r.Refused)
	}
}

// The same defconfig on the new tree: the renamed and folded options are
// named as unknown (no list of renames: the tree does not define them),
// the driver that replaced the console option comes on through imply,
// the new options take their defaults, and the new gate stays off.
func TestResolveRenamedTree(t *testing.T) {
	k, set := readFixtureKconfig(t, "new")
	r := k.Resolve(set)
	want := []string{"CONFIG_KVM_VMM_QEMU", "CONFIG_LIBNS16550", "CONFIG_LIBPOSIX_PROCESS", "CONFIG_LIBPOSIX_PROCESS_SIGNAL",
		"CONFIG_LIBUKCONSOLE", "CONFIG_LIBUKRANDOM", "CONFIG_PLAT_KVM"}
	if got := r.On(); !slices.Equal(got, want) {
		t.Errorf("on: %v\nwant %v", got, want)
	}
	if want := []string{"CONFIG_LIBPOSIX_PROCESS_CLONE", "CONFIG_LIBUKCONSOLE_NS16550", "CONFIG_LIBUKSIGNAL", "CONFIG_LIBVFSCORE"}; !slices.Equal(r.Unknown, want) {
		t.Errorf("unknown %v, want %v", r.Unknown, want)
	}
	if !k.Has("CONFIG_LIBNS16550") || k.Has("LIBUKSIGNAL") {
		t.Error("Has: wrong options")
	}
	if w := k.Where("LIBNS16550"); w != "drivers/ukconsole/ns16550/Config.uk:5" {
		t.Errorf("LIBNS16550 at %q", w)
	}
}

// Kconfig forms one at a time.
func TestResolveForms(t *testing.T) {
	for _, c := range []struct {
		name, kconfig, defconfig string
		on                       []string
	}{
		{"select wins over an unmet dependency", "config A\n\tbool \"a\"\n\tselect B\nconfig B\n\tbool \"b\"\n\tdepends on C\nconfig C\n\tbool \"c\"\n", "CONFIG_A=y", []string{"CONFIG_A", "CONFIG_B"}},
		{"imply refused by the user", "config A\n\tbool \"a\"\n\timply B\nconfig B\n\tbool \"b\"\n", "CONFIG_A=y\n# CONFIG_B is not set", []string{"CONFIG_A"}},
		{"imply refused by a dependency", "config A\n\tbool \"a\"\n\timply B\nconfig B\n\tbool \"b\"\n\tdepends on C\nconfig C\n\tbool \"c\"\n", "CONFIG_A=y", []string{"CONFIG_A"}},
		{"no prompt: the user's value does not count", "config A\n\tbool\n", "CONFIG_A=y", nil},
		{"default under a condition", "config A\n\tbool \"a\"\nconfig B\n\tbool\n\tdefault y if A\n", "CONFIG_A=y", []string{"CONFIG_A", "CONFIG_B"}},
		{"menu depends on", "menu \"m\"\n\tdepends on A\nconfig B\n\tbool \"b\"\n\tdefault y\nendmenu\nconfig A\n\tbool \"a\"\n", "", nil},
		{"choice default", "choice\n\tprompt \"c\"\n\tdefault Y\nconfig X\n\tbool \"x\"\nconfig Y\n\tbool \"y\"\nendchoice\n", "", []string{"CONFIG_Y"}},
		{"choice set by the user", "choice\n\tprompt \"c\"\n\tdefault Y\nconfig X\n\tbool \"x\"\nconfig Y\n\tbool \"y\"\nendchoice\n", "CONFIG_X=y", []string{"CONFIG_X"}},
		{"int comparison", "config N\n\tint \"n\"\n\tdefault 1\nconfig SMP\n\tbool\n\tdefault y if N > 1\n", "CONFIG_N=4", []string{"CONFIG_N", "CONFIG_SMP"}},
		{"string not empty", "config S\n\tstring \"s\"\nconfig SET\n\tbool\n\tdefault y if S != \"\"\n", "CONFIG_S=\"x\"", []string{"CONFIG_S", "CONFIG_SET"}},
		{"help text with keywords in it", "config A\n\tbool \"a\"\n\thelp\n\t  config B is not a keyword here\n\t  select C\nconfig D\n\tbool \"d\"\n\tdefault y\n", "", []string{"CONFIG_D"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := ReadKconfig([]fs.FS{fstest.MapFS{"Config.uk": {Data: []byte(c.kconfig)}}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			set, err := ParseDefconfig("defconfig", []byte(c.defconfig))
			if err != nil {
				t.Fatal(err)
			}
			if got := k.Resolve(set).On(); !slices.Equal(got, c.on) {
				t.Errorf("on: %v, want %v", got, c.on)
			}
		})
	}
}

// Bad Config.uk files are errors naming file:line.
func TestKconfigErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"config A B\n", "Config.uk:1: config without one option name"},
		{"config A\n\tfrobnicate\n", "Config.uk:2: unknown Kconfig keyword"},
		{"if A\nconfig B\n\tbool \"b\"\n", "Config.uk: 1 unclosed block(s), the last a if"},
		{"endmenu\n", "Config.uk:1: endmenu without menu"},
	} {
		_, err := ReadKconfig([]fs.FS{fstest.MapFS{"Config.uk": {Data: []byte(c.text)}}}, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.text, err, c.want)
		}
	}
	if _, err := ParseDefconfig("d", []byte("CONFIG_A=y\nnonsense\n")); err == nil || !strings.Contains(err.Error(), "d:2:") {
		t.Errorf("defconfig error %v", err)
	}
}

// With the real trees and images at hand, the resolution gives the very
// .config that `make defconfig` gave for the images (the options set from
// the build's environment, $(UK_FULLVERSION) and such, aside).
func TestResolveLikeMakeDefconfig(t *testing.T) {
	src, images := os.Getenv("SYSCOV_UNIKRAFT_SRC"), os.Getenv("SYSCOV_UNIKRAFT_IMAGES")
	if src == "" || images == "" {
		t.Skip("SYSCOV_UNIKRAFT_SRC and SYSCOV_UNIKRAFT_IMAGES are not both set: no real tree and .config to compare with")
	}
	env := map[string]bool{"UK_FULLVERSION": true, "UK_CODENAME": true, "HOST_ARCH": true, "UK_DEFNAME": true, "UK_BASE": true, "UK_APP": true}
	ran := 0
	for _, c := range []struct{ tree, defconfig, config string }{
		{"unikraft", "defconfig", "config"},
		{"unikraft", "defconfig.lwip", "config.lwip"},
		{"unikraft-0.18.0", "defconfig.v0.18", "config.v0.18"},
		{"unikraft-0.18.0", "defconfig.v0.18.lwip", "config.v0.18.lwip"},
	} {
		if _, err := os.Stat(filepath.Join(src, c.tree)); err != nil {
			continue
		}
		ran++
		var trees []fs.FS
		for _, d := range []string{c.tree, "app-elfloader", "lib-lwip", "lib-libelf"} {
			trees = append(trees, os.DirFS(filepath.Join(src, d)))
		}
		k, err := ReadKconfig(trees, nil)
		if err != nil {
			t.Fatal(err)
		}
		def, err := os.ReadFile(filepath.Join(images, c.defconfig))
		if err != nil {
			t.Fatal(err)
		}
		set, err := ParseDefconfig(c.defconfig, def)
		if err != nil {
			t.Fatal(err)
		}
		got := k.Resolve(set).Values
		data, err := os.ReadFile(filepath.Join(images, c.config))
		if err != nil {
			t.Fatal(err)
		}
		want, err := ParseDefconfig(c.config, data)
		if err != nil {
			t.Fatal(err)
		}
		bad := 0
		for n, v := range want {
			if !env[n] && got[n] != v && !(v == "n" && got[n] == "") {
				bad++
				t.Errorf("%s on %s: %s is %q, make defconfig gave %q", c.defconfig, c.tree, n, got[n], v)
			}
		}
		for n, v := range got {
			if _, ok := want[n]; !ok && v != "n" {
				bad++
				t.Errorf("%s on %s: %s is %q, not in %s", c.defconfig, c.tree, n, v, c.config)
			}
		}
		t.Logf("%s on %s: %d options as make defconfig gave them, %d not", c.defconfig, c.tree, len(want)-bad, bad)
	}
	if ran == 0 {
		t.Skip("SYSCOV_UNIKRAFT_SRC has neither unikraft/ nor unikraft-0.18.0/")
	}
}

// FuzzKconfig: any Config.uk and defconfig give an error or a
// resolution, never a panic or a hang.
func FuzzKconfig(f *testing.F) {
	for _, tree := range []string{"old", "new"} {
		fs.WalkDir(os.DirFS("../../fixtures/kconfig/"+tree), ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Name() == "Config.uk" {
				data, _ := os.ReadFile(filepath.Join("../../fixtures/kconfig", tree, p))
				f.Add(data, []byte("CONFIG_PLAT_KVM=y\nCONFIG_LIBUKCONSOLE=y\n"))
			}
			return nil
		})
	}
	f.Add([]byte("choice\nconfig A\n\tbool \"a\"\n\tselect A\nendchoice\n"), []byte("CONFIG_A=y"))
	f.Fuzz(func(t *testing.T, kconfig, defconfig []byte) {
		k, err := ReadKconfig([]fs.FS{fstest.MapFS{"Config.uk": {Data: kconfig}}}, nil)
		if err != nil {
			if !strings.Contains(err.Error(), "Config.uk") {
				t.Fatalf("error without the file: %v", err)
			}
			return
		}
		set, err := ParseDefconfig("defconfig", defconfig)
		if err != nil {
			return
		}
		k.Resolve(set).Config()
	})
}

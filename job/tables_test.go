package job

import (
	"strings"
	"testing"
)

// The table of an image's version: its very commit's, else its release's,
// else the nearest with a warning that names both versions and the fix.
func TestChooseTable(t *testing.T) {
	for _, tt := range []struct {
		version, table, why, warning string
	}{
		{"Helene (0.18.0~424eb3d9)", "unikraft@0.18.0", "commit 424eb3d9 is this table's tree", ""},
		{"0.17.0~484ff209", "unikraft@0.17.0", "commit 484ff209 is this table's tree", ""},
		{"Helene (0.18.0~12072b5f)", "unikraft@staging", "commit 12072b5f is this table's tree", ""},
		{"Calypso (0.17.0~eaf6fda1-custom)", "unikraft@0.17.0", "the image is Unikraft 0.17.0~eaf6fda1-custom: the table of its release (the image's commit eaf6fda1 is not the release's own", ""},
		{"Kiviuq (0.20.0~0123abcd)", "unikraft@0.18.0", "newer than every table built in", "the image is Unikraft 0.20.0, newer than every support table built in (the newest is unikraft@0.18.0)"},
		{"Ijiraq (0.21.0)", "unikraft@0.18.0", "newer than every table", "--version 0.21.0 --defconfig app-elfloader/defconfigs/qemu-x86_64-initrd -o unikraft-0.21.0.json, then --against unikraft-0.21.0.json"},
		{"Pandora (0.15.0~689db89)", "unikraft@0.17.0", "older than every table built in", "the image is Unikraft 0.15.0, older than every support table built in (the oldest is unikraft@0.17.0)"},
		{"", "unikraft@0.18.0", "the newest release built in (no Unikraft version known", ""},
	} {
		tab, err := ChooseTable(tt.version)
		if err != nil {
			t.Fatal(err)
		}
		if tab.Name() != tt.table || !strings.Contains(tab.Chosen, tt.why) {
			t.Errorf("%q: %s (%s), want %s (… %s …)", tt.version, tab.Name(), tab.Chosen, tt.table, tt.why)
		}
		if tt.warning == "" && tab.Warning != "" || !strings.Contains(tab.Warning, tt.warning) {
			t.Errorf("%q: warning %q, want %q", tt.version, tab.Warning, tt.warning)
		}
	}
}

// --against wins over the image's version.
func TestForImageKeepsAgainst(t *testing.T) {
	tab, err := LoadSupportTable("unikraft@0.17.0")
	if err != nil {
		t.Fatal(err)
	}
	j := Judgement{Table: tab, Explicit: true}
	got, err := j.ForImage("Helene (0.18.0~424eb3d9)")
	if err != nil || got.Table.Name() != "unikraft@0.17.0" || got.Table.Chosen != "--against unikraft@0.17.0" {
		t.Errorf("explicit: %s %q %v", got.Table.Name(), got.Table.Chosen, err)
	}
	j.Explicit = false
	if got, err = j.ForImage("Helene (0.18.0~424eb3d9)"); err != nil || got.Table.Name() != "unikraft@0.18.0" {
		t.Errorf("by the image: %s %v", got.Table.Name(), err)
	}
}

package job

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/syscov/syscov/analyze"
)

// LoadSupportTable takes "unikraft", "unikraft@V" (built in) or a file.
func LoadSupportTable(spec string) (*analyze.SupportTable, error) {
	if data, err := os.ReadFile(spec); err == nil {
		t, err := analyze.ParseSupportTable(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		t.Chosen = "--against " + spec
		return t, nil
	}
	t, err := analyze.EmbeddedTable(spec)
	if err == nil && spec != "unikraft" {
		c := *t
		c.Chosen = "--against " + spec
		t = &c
	}
	return t, err
}

// LoadProbe reads probe.json for coverage and check: the app it probed
// and its verdicts.
func LoadProbe(path string) (string, map[string]analyze.ProbeVerdict, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	var rep analyze.ProbeReport
	if err := json.Unmarshal(data, &rep); err != nil || !strings.HasPrefix(rep.Schema, "syscov.probe/") {
		return "", nil, fmt.Errorf("%s: not a syscov probe report (syscov probe --format json)", path)
	}
	app := rep.App
	if len(rep.Command) > 0 {
		app = filepath.Base(rep.Command[0])
	}
	return app, rep.Verdicts(), nil
}

// LoadJudgement loads what uses are judged against: a support table and
// the probe verdicts of the probed apps, by app.
func LoadJudgement(against string, probeFiles []string) (*analyze.SupportTable, map[string]map[string]analyze.ProbeVerdict, error) {
	table, err := LoadSupportTable(against)
	if err != nil || len(probeFiles) == 0 {
		return table, nil, err
	}
	probes := map[string]map[string]analyze.ProbeVerdict{}
	for _, f := range probeFiles {
		app, verdicts, err := LoadProbe(f)
		if err != nil {
			return nil, nil, err
		}
		probes[app] = verdicts
	}
	return table, probes, nil
}

// LoadConfig reads --config ("" is none).
func LoadConfig(path string) (*analyze.Config, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return analyze.ParseConfig(path, data)
}

// unikraftVersionRE finds "0.18.0" and its commit in a banner ("Helene
// (0.18.0~424eb3d9)") or a .uk_libinfo version ("0.17.0~eaf6fda1-custom").
var unikraftVersionRE = regexp.MustCompile(`(\d+\.\d+\.\d+)(?:~([0-9a-f]{7,40}))?(-[a-z0-9]+)?`)

// ChooseTable picks the built-in table for an image of Unikraft version
// (a banner or a .uk_libinfo version; "" when unknown): the table of the
// image's very commit, else of its release, else (an image newer or older
// than every table) the nearest release, with a warning naming both
// versions and how to get the right table. The table's Chosen says why.
func ChooseTable(version string) (*analyze.SupportTable, error) {
	tables, err := analyze.EmbeddedTables()
	if err != nil {
		return nil, err
	}
	var releases []*analyze.SupportTable
	for _, t := range tables {
		if unikraftVersionRE.MatchString(t.Version) && t.OS == "unikraft" {
			releases = append(releases, t)
		}
	}
	if len(releases) == 0 {
		return nil, fmt.Errorf("no built-in release table")
	}
	newest := releases[len(releases)-1]
	m := unikraftVersionRE.FindStringSubmatch(version)
	if m == nil {
		t := *newest
		t.Chosen = "the newest release built in (no Unikraft version known: no image, or it printed no banner)"
		return &t, nil
	}
	release, commit := m[1], m[2]
	if commit != "" {
		for _, tab := range tables {
			if strings.Contains(tab.Source, " ("+commit) || strings.Contains(tab.Source, " "+commit) {
				t := *tab
				t.Chosen = fmt.Sprintf("the image is Unikraft %s: commit %s is this table's tree", m[0], commit)
				return &t, nil
			}
		}
	}
	for _, tab := range releases {
		if tab.Version == release {
			t := *tab
			t.Chosen = fmt.Sprintf("the image is Unikraft %s: the table of its release", m[0])
			if commit != "" {
				t.Chosen += " (the image's commit " + commit + " is not the release's own: a table of that very tree would be nearer)"
			}
			return &t, nil
		}
	}
	fix := fmt.Sprintf("to judge against %s itself, import its tree (the unikraft, app-elfloader and library sources the image was built from): syscov kb import unikraft app-elfloader lib-lwip --version %s --defconfig app-elfloader/defconfigs/qemu-x86_64-initrd -o unikraft-%s.json, then --against unikraft-%s.json", release, release, release, release)
	if analyze.VersionLess(newest.Version, release) {
		t := *newest
		t.Chosen = fmt.Sprintf("the image is Unikraft %s, newer than every table built in: the newest, %s", m[0], newest.Name())
		t.Warning = fmt.Sprintf("the image is Unikraft %s, newer than every support table built in (the newest is %s): what it lacks is judged by %s's code and may be wrong; %s", release, newest.Name(), newest.Version, fix)
		return &t, nil
	}
	oldest := releases[0]
	t := *oldest
	t.Chosen = fmt.Sprintf("the image is Unikraft %s, older than every table built in: the oldest, %s", m[0], oldest.Name())
	t.Warning = fmt.Sprintf("the image is Unikraft %s, older than every support table built in (the oldest is %s): what it lacks is judged by %s's code and may be wrong; %s", release, oldest.Name(), oldest.Version, fix)
	return &t, nil
}

// ForImage is the judgement for an image of Unikraft version: the table
// that version picks, unless --against named one.
func (j Judgement) ForImage(version string) (Judgement, error) {
	if j.Explicit || version == "" && j.Table != nil {
		return j, nil
	}
	t, err := ChooseTable(version)
	if err != nil {
		return j, err
	}
	j.Table = t
	return j, nil
}

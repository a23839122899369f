package analyze

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"

	"github.com/syscov/syscov/analyze/uksource"
	"github.com/syscov/syscov/trace"
)

// Level is how far a unikernel supports a syscall.
type Level string

const (
	Implemented Level = "implemented"
	Stubbed     Level = "stubbed" // present, pretends or does nothing
	Partial     Level = "partial" // present, rejects some uses (Note says which)
	// Disabled: the release has code for it, but not in this image: its
	// Kconfig options are off (Fix says which to turn on).
	Disabled Level = "disabled"
	Missing  Level = "missing"
)

// Absent reports whether a syscall at this level is not in the image at
// all (it answers ENOSYS): missing from the release, or disabled.
func (l Level) Absent() bool { return l == Missing || l == Disabled }

// Impl is one implementation of a syscall in the release: the library
// and place that define or register it, how far it goes, and the Kconfig
// conditions it is built and registered under.
type Impl struct {
	Lib   string `json:"lib"`
	File  string `json:"file"`
	Line  int    `json:"line"`
	Level Level  `json:"level"`
	// Note says what a partial one rejects (its message, or the
	// conditions of its -ENOSYS).
	Note string `json:"note,omitempty"`
	// Returns is what a stub returns ("0", "-ENOSYS", "-EINVAL, 0").
	Returns string   `json:"returns,omitempty"`
	Needs   []string `json:"needs,omitempty"`
	// Override is the reason of an entry of overrides.json that set this
	// implementation's level (code reading could not decide it).
	Override string `json:"override,omitempty"`
}

// Where is "lib/posix-futex/futex.c:283".
func (i Impl) Where() string { return fmt.Sprintf("%s:%d", i.File, i.Line) }

// Support is one syscall's entry in a SupportTable: its level in the
// table's configuration, from the implementation that is on.
type Support struct {
	Level Level    `json:"level"`
	Note  string   `json:"note,omitempty"`
	Libs  []string `json:"libs,omitempty"`
	// Returns, Where and Needs are those of the implementation the level
	// comes from (for a disabled one: the one to turn on).
	Returns string   `json:"returns,omitempty"`
	Where   string   `json:"where,omitempty"`
	Needs   []string `json:"needs,omitempty"`
	// Fix is, for a disabled syscall, the options to turn on
	// ("CONFIG_LIBPOSIX_SOCKET").
	Fix []string `json:"fix,omitempty"`
	// Impls are all the implementations of the release, whatever the
	// configuration.
	Impls []Impl `json:"impls,omitempty"`
	// Rules are the uses the implementation rejects, by argument.
	Rules []ArgRule `json:"rules,omitempty"`
}

// SupportTable says, per architecture, how a unikernel release supports
// every Linux syscall, in one configuration of its images.
type SupportTable struct {
	Format  int    `json:"syscov_kb"`
	OS      string `json:"os"`
	Version string `json:"version"`
	// Source says what the table was made from (trees and commits).
	Source string `json:"source,omitempty"`
	// DefaultConfig is the configuration the levels are for when the
	// user gives none: the options app-elfloader's own defaults turn on.
	DefaultConfig     []string `json:"default_config,omitempty"`
	DefaultConfigName string   `json:"default_config_name,omitempty"`
	// Options are every Kconfig option the trees' Config.uk files define
	// (kb import reads them): a .config that names others is of another
	// release (an option renamed or gone), or of an app or library the
	// table was not made from.
	Options []string `json:"options,omitempty"`
	// Config names the configuration the levels are for.
	Config string `json:"config,omitempty"`
	// Excludes are the options that cannot be on together (Config.uk's
	// "depends on !OTHER"), both ways: turning one on turns the other off.
	Excludes map[string][]string               `json:"excludes,omitempty"`
	Arch     map[trace.Arch]map[string]Support `json:"arch"`
	// Chosen says why the reports judge against this table ("the image
	// is Unikraft 0.18.0 (banner …)", "--against"); Warning, when set, is
	// said loudly in the verdict and every report (an image newer than
	// every table built in). Neither is written into a table file.
	Chosen  string `json:"-"`
	Warning string `json:"-"`
	// ConfigGiven: the configuration is the image's own (--config), not
	// one assumed for it (app-elfloader's defaults, the image's
	// libraries), so a unikernel run does not overrule it.
	ConfigGiven bool `json:"-"`
	// cfg is that configuration (nil for a table of format 1).
	cfg *Config
}

// Name is "unikraft@0.17.0".
func (t *SupportTable) Name() string { return t.OS + "@" + t.Version }

// Lookup returns the support of a syscall on arch; an unknown name is
// missing.
func (t *SupportTable) Lookup(arch trace.Arch, name string) Support {
	if s, ok := t.Arch[arch][name]; ok {
		return s
	}
	if s, ok := t.Arch[trace.ArchX86_64][name]; ok && arch == "" {
		return s
	}
	return Support{Level: Missing}
}

// Counts returns how many syscalls of arch are at each level.
func (t *SupportTable) Counts(arch trace.Arch) map[Level]int {
	out := map[Level]int{}
	for _, s := range t.Arch[arch] {
		out[s.Level]++
	}
	return out
}

// ConfigOf is the configuration a table's levels are for (nil for a
// table without Kconfig knowledge).
func (t *SupportTable) ConfigOf() *Config { return t.cfg }

// archOption is the Kconfig option of an architecture.
var archOption = map[trace.Arch]string{trace.ArchX86_64: "CONFIG_ARCH_X86_64", trace.ArchAarch64: "CONFIG_ARCH_ARM_64"}

// levelRank orders the implementations that are on: a real one wins over
// a partial one, a partial one over a stub.
var levelRank = map[Level]int{Implemented: 0, Partial: 1, Stubbed: 2}

// WithConfig returns the table of the images built with c: for every
// syscall, the implementation whose conditions hold (the best, when
// several do), or disabled with the options to turn on, or missing.
func (t *SupportTable) WithConfig(c *Config) *SupportTable {
	out := *t
	out.cfg, out.Config = c, c.Name
	if foreign := t.ForeignOptions(c); len(foreign) > 0 {
		ex := strings.Join(foreign[:min(3, len(foreign))], ", ")
		if len(foreign) > 3 {
			ex += ", …"
		}
		out.Config = fmt.Sprintf("%s (it sets %d options that no Config.uk of %s defines: %s; a .config of another release, or of an app or library the table was not made from?)", c.Name, len(foreign), t.Name(), ex)
	}
	out.Arch = map[trace.Arch]map[string]Support{}
	for arch, m := range t.Arch {
		ac := c.forArch(archOption[arch])
		n := make(map[string]Support, len(m))
		for name, s := range m {
			n[name] = resolve(s, ac, t.Excludes)
		}
		out.Arch[arch] = n
	}
	return &out
}

// ForeignOptions are the options c turns on that the table's trees do not
// define (nil when the table does not list its options).
func (t *SupportTable) ForeignOptions(c *Config) []string {
	if len(t.Options) == 0 || c == nil {
		return nil
	}
	var out []string
	for _, o := range c.Options() {
		if _, found := slices.BinarySearch(t.Options, o); !found {
			out = append(out, o)
		}
	}
	return out
}

// resolve sets an entry's level from its implementations in c.
func resolve(s Support, c *Config, excludes map[string][]string) Support {
	if len(s.Impls) == 0 {
		if s.Level == "" || s.Level == Disabled {
			s.Level = Missing
		}
		return s
	}
	out := Support{Impls: s.Impls, Rules: s.Rules}
	best, bestMissing := -1, []string(nil)
	for i, im := range s.Impls {
		miss := c.Missing(im.Needs)
		switch {
		case len(miss) == 0 && (best < 0 || bestMissing != nil || levelRank[im.Level] < levelRank[s.Impls[best].Level]):
			best, bestMissing = i, nil
		case len(miss) > 0 && (best < 0 || bestMissing != nil && (len(miss) < len(bestMissing) ||
			len(miss) == len(bestMissing) && levelRank[im.Level] < levelRank[s.Impls[best].Level])):
			best, bestMissing = i, miss
		}
	}
	im := s.Impls[best]
	out.Level, out.Note, out.Returns, out.Where, out.Needs = im.Level, im.Note, im.Returns, im.Where(), im.Needs
	out.Libs = []string{im.Lib}
	if bestMissing != nil {
		note := "not in this image: enable " + strings.Join(bestMissing, " && ")
		// What turning them on turns off (ukmmap excludes posix-mmap).
		var off []string
		for _, o := range bestMissing {
			for _, x := range excludes[o] {
				if c.On[x] && !slices.Contains(off, x) {
					off = append(off, x)
				}
			}
		}
		if len(off) > 0 {
			note += " (which turns off " + strings.Join(off, ", ") + ": it cannot be on with it)"
		}
		out.Level, out.Note, out.Returns, out.Fix = Disabled, note, "", bestMissing
	}
	return out
}

// BuildSupportTable turns the findings of a Unikraft source tree into a
// table for every syscall of the x86_64 and aarch64 tables. Each library
// that defines or registers a syscall is an implementation: a definition
// is one only where its library registers the syscall (UK_PROVIDED_
// SYSCALLS; the shim calls nothing else), and holds under both places'
// Kconfig conditions. Its level is implemented, unless its code is a stub
// (constant returns, a stub warning) or partial (an "unsupported"
// message, a conditional -ENOSYS); overrides then set what code reading
// cannot decide. The levels are those of defaults (app-elfloader's own
// configuration) when given.
func BuildSupportTable(findings []uksource.Finding, version, source string, defaults *Config, overrides []Override) (*SupportTable, error) {
	type key struct {
		name, lib, file string
		line            int
	}
	impls := map[string][]*Impl{}
	byPlace := map[key]*Impl{}
	provided := map[[2]string]*uksource.Finding{} // name, lib → first registration
	for i, f := range findings {
		if f.Kind == uksource.Provided {
			if _, ok := provided[[2]string{f.Name, f.Lib}]; !ok {
				provided[[2]string{f.Name, f.Lib}] = &findings[i]
			}
		}
	}
	for _, f := range findings {
		k := key{f.Name, f.Lib, f.File, f.Line}
		im := byPlace[k]
		switch f.Kind {
		case uksource.Defined:
			reg := provided[[2]string{f.Name, f.Lib}]
			if reg == nil {
				continue // defined, not registered: the shim never calls it
			}
			im = &Impl{Lib: f.Lib, File: f.File, Line: f.Line, Level: Implemented, Needs: appendNew(append([]string(nil), f.Needs...), reg.Needs...)}
			byPlace[k] = im
			impls[f.Name] = append(impls[f.Name], im)
		case uksource.Stubbed:
			if im != nil {
				im.Level, im.Returns = Stubbed, f.Returns
			}
		case uksource.Partial:
			if im != nil && im.Level == Implemented {
				im.Level, im.Note = Partial, f.Note
			}
		}
	}
	// A registration without a definition in its library (the code is
	// generated, or defined under another name) is an implementation at
	// the Makefile line.
	for _, f := range findings {
		if f.Kind != uksource.Provided {
			continue
		}
		found := false
		for _, im := range impls[f.Name] {
			found = found || im.Lib == f.Lib
		}
		if !found {
			impls[f.Name] = append(impls[f.Name], &Impl{Lib: f.Lib, File: f.File, Line: f.Line, Level: Implemented, Needs: f.Needs})
		}
	}
	excludes := map[string][]string{}
	for _, f := range findings {
		if f.Kind == uksource.Excludes && f.Name != f.Note {
			excludes[f.Name] = appendNew(excludes[f.Name], f.Note)
			excludes[f.Note] = appendNew(excludes[f.Note], f.Name)
		}
	}
	rules := map[string][]ArgRule{}
	for _, o := range overrides {
		if len(impls[o.Syscall]) == 0 {
			continue // a tree without that syscall (a library alone, a test tree)
		}
		matched := false
		for _, im := range impls[o.Syscall] {
			if im.File != o.File && !strings.HasSuffix(im.File, "/"+o.File) {
				continue
			}
			matched = true
			switch {
			case o.Level != "":
				im.Level, im.Note, im.Returns = o.Level, o.Note, o.Returns
			case im.Level == Implemented:
				// Rules alone: the uses they name are rejected.
				im.Level, im.Note = Partial, o.Note
			}
			im.Override = o.Reason
		}
		if !matched {
			return nil, fmt.Errorf("overrides.json: %s at %s:%d: no implementation of the tree is in that file", o.Syscall, o.File, o.Line)
		}
		rules[o.Syscall] = append(rules[o.Syscall], o.Rules...)
	}
	if r, ok := cloneFlagRule(findings); ok && len(impls["clone"]) > 0 {
		rules["clone"] = append(rules["clone"], r)
	}
	t := &SupportTable{Format: 2, OS: "unikraft", Version: version, Source: source, Arch: map[trace.Arch]map[string]Support{}}
	if len(excludes) > 0 {
		t.Excludes = excludes
	}
	for _, arch := range []trace.Arch{trace.ArchX86_64, trace.ArchAarch64} {
		m := map[string]Support{}
		for _, name := range trace.Table(arch).Names() {
			s := Support{Level: Missing, Rules: rules[name]}
			for _, im := range impls[name] {
				s.Impls = append(s.Impls, *im)
			}
			sort.Slice(s.Impls, func(i, j int) bool { return s.Impls[i].Where() < s.Impls[j].Where() })
			m[name] = s
		}
		t.Arch[arch] = m
	}
	if defaults == nil {
		defaults = &Config{Name: "every option on", On: map[string]bool{}}
		for _, f := range findings {
			for _, n := range f.Needs {
				for _, o := range strings.FieldsFunc(n, func(r rune) bool { return !(r == '_' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') }) {
					// Every option, but not the tests' (their files
					// define syscalls of their own).
					if strings.HasPrefix(o, "CONFIG_") && !strings.Contains(o, "TEST") {
						defaults.On[o] = true
					}
				}
			}
		}
	} else {
		t.DefaultConfig, t.DefaultConfigName = defaults.Options(), defaults.Name
	}
	return t.WithConfig(defaults), nil
}

func appendNew(s []string, more ...string) []string {
	for _, m := range more {
		if !slices.Contains(s, m) {
			s = append(s, m)
		}
	}
	return s
}

// Change is how one syscall differs between two tables.
type Change struct {
	Name     string
	From, To Support
	// What says what changed in the code, read from the implementations
	// of both trees whatever the configuration: "new gate
	// CONFIG_LIBUKRANDOM_GETRANDOM", "moved vfscore → posix-fdio", "new
	// in posix-process", "level". Option names are compared as the
	// trees have them, so a renamed option shows as one gate replaced by
	// another.
	What []string
}

// gates are the Kconfig conditions of a syscall's implementations beyond
// their library's own option, and the libraries.
func gates(s Support) (libs, needs []string) {
	for _, im := range s.Impls {
		libs = appendNew(libs, im.Lib)
		needs = appendNew(needs, im.Needs...)
	}
	sort.Strings(libs)
	sort.Strings(needs)
	return libs, needs
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// changeWhat describes a change of implementations.
func changeWhat(x, y Support) []string {
	var out []string
	lx, nx := gates(x)
	ly, ny := gates(y)
	switch {
	case len(lx) == 0 && len(ly) > 0:
		out = append(out, "new in "+strings.Join(ly, ", "))
	case len(lx) > 0 && len(ly) == 0:
		out = append(out, "gone from "+strings.Join(lx, ", "))
	case !slices.Equal(lx, ly):
		out = append(out, "moved "+strings.Join(lx, ", ")+" → "+strings.Join(ly, ", "))
	}
	if len(lx) > 0 && len(ly) > 0 {
		added, removed := minus(ny, nx), minus(nx, ny)
		switch {
		case len(added) > 0 && len(removed) > 0:
			out = append(out, "gate "+strings.Join(removed, ", ")+" → "+strings.Join(added, ", "))
		case len(added) > 0:
			out = append(out, "new gate "+strings.Join(added, ", "))
		case len(removed) > 0:
			out = append(out, "gate gone "+strings.Join(removed, ", "))
		}
	}
	if x.Level != y.Level {
		out = append(out, string(x.Level)+" → "+string(y.Level))
	} else if x.Returns != y.Returns {
		out = append(out, "returns "+x.Returns+" → "+y.Returns)
	}
	return out
}

// DiffTables lists the syscalls of arch whose level, stub answer, note,
// file, libraries or Kconfig gates differ from a to b, by syscall number
// (a line that moved in the same file is not a change).
func DiffTables(a, b *SupportTable, arch trace.Arch) []Change {
	var out []Change
	tab := trace.Table(arch)
	for _, name := range tab.Names() {
		x, y := a.Lookup(arch, name), b.Lookup(arch, name)
		file := func(s Support) string { f, _, _ := strings.Cut(s.Where, ":"); return f }
		what := changeWhat(x, y)
		if x.Level != y.Level || x.Returns != y.Returns || x.Note != y.Note || file(x) != file(y) || len(what) > 0 {
			if len(what) == 0 {
				what = []string{"note"}
				if file(x) != file(y) {
					what = []string{"file " + file(x) + " → " + file(y)}
				}
			}
			out = append(out, Change{Name: name, From: x, To: y, What: what})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return tab.Number(out[i].Name) < tab.Number(out[j].Name) })
	return out
}

// ParseSupportTable reads a table written by MarshalSupportTable.
func ParseSupportTable(data []byte) (*SupportTable, error) {
	var t SupportTable
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("support table: %w", err)
	}
	if t.Format != 1 && t.Format != 2 || t.OS == "" || t.Version == "" || len(t.Arch) == 0 {
		return nil, fmt.Errorf("support table: not a syscov support table (syscov_kb 1 or 2 with os, version and arch)")
	}
	for arch, m := range t.Arch {
		for name, s := range m {
			levels := []Level{s.Level}
			for _, im := range s.Impls {
				levels = append(levels, im.Level)
			}
			for _, l := range levels {
				switch l {
				case Implemented, Stubbed, Partial, Missing, Disabled:
				default:
					return nil, fmt.Errorf("support table: %s %s: unknown level %q", arch, name, l)
				}
			}
			for _, r := range s.Rules {
				if err := r.check(); err != nil {
					return nil, fmt.Errorf("support table: %s %s: %w", arch, name, err)
				}
			}
		}
	}
	if t.Format == 2 && len(t.DefaultConfig) > 0 {
		c := &Config{Name: t.DefaultConfigName, On: map[string]bool{}}
		for _, o := range t.DefaultConfig {
			c.On[o] = true
		}
		if t.Config == "" || t.Config == c.Name {
			t.cfg = c
		}
	}
	return &t, nil
}

// MarshalSupportTable writes a table as indented JSON, keys sorted.
func MarshalSupportTable(t *SupportTable) ([]byte, error) {
	return json.MarshalIndent(t, "", " ")
}

//go:embed kbdata/*.json
var embedded embed.FS

// EmbeddedTables are the support tables built into syscov, oldest first.
func EmbeddedTables() ([]*SupportTable, error) {
	files, err := fs.Glob(embedded, "kbdata/*.json")
	if err != nil {
		return nil, err
	}
	var out []*SupportTable
	for _, f := range files {
		data, err := embedded.ReadFile(f)
		if err != nil {
			return nil, err
		}
		t, err := ParseSupportTable(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return VersionLess(out[i].Version, out[j].Version) })
	return out, nil
}

// EmbeddedTable finds "unikraft" (the newest) or "unikraft@V".
func EmbeddedTable(spec string) (*SupportTable, error) {
	tables, err := EmbeddedTables()
	if err != nil {
		return nil, err
	}
	osName, version, _ := strings.Cut(spec, "@")
	var found *SupportTable
	for _, t := range tables {
		if t.OS == osName && (version == "" || t.Version == version) {
			found = t
		}
	}
	if found == nil {
		var have []string
		for _, t := range tables {
			have = append(have, t.Name())
		}
		return nil, fmt.Errorf("no support table %q (built in: %s)", spec, strings.Join(have, ", "))
	}
	return found, nil
}

// VersionLess orders release versions ("0.17.0" < "0.18.0"); a name that
// is no number ("staging") sorts first.
func VersionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		var x, y int
		fmt.Sscanf(pa[i], "%d", &x)
		fmt.Sscanf(pb[i], "%d", &y)
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}

// linuxCloneFlags are the clone flags of Linux (include/uapi/linux/sched.h),
// less the exit signal's byte.
var linuxCloneFlags = []string{"CLONE_VM", "CLONE_FS", "CLONE_FILES", "CLONE_SIGHAND", "CLONE_PIDFD", "CLONE_PTRACE",
	"CLONE_VFORK", "CLONE_PARENT", "CLONE_THREAD", "CLONE_NEWNS", "CLONE_SYSVSEM", "CLONE_SETTLS", "CLONE_PARENT_SETTID",
	"CLONE_CHILD_CLEARTID", "CLONE_DETACHED", "CLONE_UNTRACED", "CLONE_CHILD_SETTID", "CLONE_NEWCGROUP", "CLONE_NEWUTS",
	"CLONE_NEWIPC", "CLONE_NEWUSER", "CLONE_NEWPID", "CLONE_NEWNET", "CLONE_IO", "CLONE_CLEAR_SIGHAND", "CLONE_INTO_CGROUP",
	"CLONE_NEWTIME"}

// cloneFlagRule is the use of clone that posix-process rejects, read from
// its handler table: a clone that asks for a flag no
// UK_POSIX_CLONE_HANDLER takes answers -ENOTSUP ("Unsupported clone flags
// requested", lib/posix-process/clone.c); CLONE_SETTLS its own clone code
// takes. A tree without the table (a library alone) has no such rule.
// Staging's vfork handler (12072b5f) takes CLONE_VFORK off the list, with
// no list of releases written by hand.
func cloneFlagRule(findings []uksource.Finding) (ArgRule, bool) {
	handled := map[string]bool{"CLONE_SETTLS": true}
	where := ""
	for _, f := range findings {
		if f.Kind == uksource.CloneFlag {
			handled[f.Name] = true
			if where == "" {
				where = f.File
			}
		}
	}
	if where == "" {
		return ArgRule{}, false
	}
	var lacking []string
	for _, fl := range linuxCloneFlags {
		if !handled[fl] {
			lacking = append(lacking, fl)
		}
	}
	if len(lacking) == 0 {
		return ArgRule{}, false
	}
	return ArgRule{Use: "clone (unsupported flags)", Answer: "-ENOTSUP (posix-process has no clone handler for a flag it asks for: " + strings.Join(lacking, ", ") + ")",
		When: []ArgTest{{Named: "flags", Has: lacking}}}, true
}

package analyze

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/uksource"
)

// Level is how far a unikernel supports a syscall.
type Level string

const (
	Implemented Level = "implemented"
	Stubbed     Level = "stubbed" // present, pretends or does nothing
	Partial     Level = "partial" // present, rejects some uses (Note says which)
	Missing     Level = "missing"
)

// Support is one syscall's entry in a SupportTable.
type Support struct {
	Level Level    `json:"level"`
	Note  string   `json:"note,omitempty"`
	Libs  []string `json:"libs,omitempty"`
}

// SupportTable says, per architecture, how a unikernel release supports
// every Linux syscall.
type SupportTable struct {
	Format  int    `json:"syscov_kb"`
	OS      string `json:"os"`
	Version string `json:"version"`
	// Source says what the table was made from.
	Source string                            `json:"source,omitempty"`
	Arch   map[trace.Arch]map[string]Support `json:"arch"`
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

// BuildSupportTable turns the findings of a Unikraft source tree into a
// table for every syscall of the x86_64 and aarch64 tables: defined or
// provided is implemented, unless a stub warning makes it stubbed or an
// "unsupported" message partial; anything else is missing.
func BuildSupportTable(findings []uksource.Finding, version, source string) *SupportTable {
	type acc struct {
		present, stubbed bool
		note             string
		libs             map[string]bool
	}
	by := map[string]*acc{}
	for _, f := range findings {
		a := by[f.Name]
		if a == nil {
			a = &acc{libs: map[string]bool{}}
			by[f.Name] = a
		}
		a.libs[f.Lib] = true
		switch f.Kind {
		case uksource.Defined, uksource.Provided:
			a.present = true
		case uksource.Stubbed:
			a.stubbed = true
		case uksource.Partial:
			if a.note == "" {
				a.note = f.Note
			}
		}
	}
	t := &SupportTable{Format: 1, OS: "unikraft", Version: version, Source: source, Arch: map[trace.Arch]map[string]Support{}}
	for _, arch := range []trace.Arch{trace.ArchX86_64, trace.ArchAarch64} {
		m := map[string]Support{}
		for _, name := range trace.Table(arch).Names() {
			a := by[name]
			s := Support{Level: Missing}
			if a != nil && a.present {
				s.Level = Implemented
				switch {
				case a.stubbed:
					s.Level = Stubbed
				case a.note != "":
					s.Level, s.Note = Partial, a.note
				}
				for lib := range a.libs {
					s.Libs = append(s.Libs, lib)
				}
				sort.Strings(s.Libs)
			}
			m[name] = s
		}
		t.Arch[arch] = m
	}
	return t
}

// ParseSupportTable reads a table written by MarshalSupportTable.
func ParseSupportTable(data []byte) (*SupportTable, error) {
	var t SupportTable
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("support table: %w", err)
	}
	if t.Format != 1 || t.OS == "" || t.Version == "" || len(t.Arch) == 0 {
		return nil, fmt.Errorf("support table: not a syscov support table (syscov_kb 1 with os, version and arch)")
	}
	for arch, m := range t.Arch {
		for name, s := range m {
			switch s.Level {
			case Implemented, Stubbed, Partial, Missing:
			default:
				return nil, fmt.Errorf("support table: %s %s: unknown level %q", arch, name, s.Level)
			}
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
	sort.Slice(out, func(i, j int) bool { return versionLess(out[i].Version, out[j].Version) })
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

func versionLess(a, b string) bool {
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

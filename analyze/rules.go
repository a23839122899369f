package analyze

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/syscov/syscov/trace"
)

// ArgRule is one use of a syscall that its implementation rejects, told
// by the call's arguments (in the spirit of Asterinas' sctrace patterns:
// a rule of flags and values matched against every recorded call). A
// call matches when every test holds; a rule whose Needs hold in the
// image's configuration does not apply (the option makes it supported).
type ArgRule struct {
	// Use names the rejected use in reports; {argN} is replaced by the
	// call's argument N ("futex {arg1}", "socket {arg0}").
	Use  string    `json:"use"`
	When []ArgTest `json:"when"`
	// Answer is what the unikernel does with the use ("-ENOSYS",
	// "crashes (UK_CRASH)").
	Answer string `json:"answer"`
	// Needs are options that, when on, make the use supported (a socket
	// family's driver): the gap is closed by configuring.
	Needs []string `json:"needs,omitempty"`
}

// ArgTest tests one argument of a call, as strace writes it. Flags are the
// words of a "|"-joined value; the value is its first word that is not a
// modifier (Ignore).
type ArgTest struct {
	// Arg is the argument's index; -1 is the last one (strace leaves out
	// the arguments an operation does not use: futex's val3 is the last).
	Arg int `json:"arg"`
	// Named, when set, finds the argument by the name it is written with
	// ("flags" for "flags=CLONE_VM|…") wherever it stands: strace and
	// syscov's tracers order clone's arguments differently.
	Named string `json:"named,omitempty"`
	// In, NotIn: the value is (not) one of these.
	In    []string `json:"in,omitempty"`
	NotIn []string `json:"not_in,omitempty"`
	// Has: one of these flags is set; Lacks: none of them is.
	Has   []string `json:"has,omitempty"`
	Lacks []string `json:"lacks,omitempty"`
	// NotNull: the argument is a pointer that is not NULL.
	NotNull bool `json:"not_null,omitempty"`
	// Ignore are modifier flags left out of the value (FUTEX_PRIVATE_FLAG).
	Ignore []string `json:"ignore,omitempty"`
}

func (r ArgRule) check() error {
	if r.Use == "" || r.Answer == "" || len(r.When) == 0 {
		return fmt.Errorf("rule %q: want use, answer and at least one test", r.Use)
	}
	for _, t := range r.When {
		if t.Arg < -1 || t.Arg > 5 {
			return fmt.Errorf("rule %q: argument %d: want 0 to 5, or -1 for the last", r.Use, t.Arg)
		}
		if len(t.In)+len(t.NotIn)+len(t.Has)+len(t.Lacks) == 0 && !t.NotNull {
			return fmt.Errorf("rule %q: a test of argument %d tests nothing", r.Use, t.Arg)
		}
	}
	return nil
}

var numericArg = regexp.MustCompile(`^-?(0x[0-9a-fA-F]+|[0-9]+)$`)

// matches reports whether a call's argument text matches every test, and
// whether it could be read at all: a raw number where a name is tested
// (the unikernel shim prints undecoded arguments) cannot be judged.
func (r ArgRule) matches(args string) (match, readable bool) {
	for _, t := range r.When {
		a := strings.TrimSpace(trace.Arg(args, t.Arg))
		if t.Named != "" {
			a = ""
			for i := 0; i < 6; i++ {
				if x := strings.TrimSpace(trace.Arg(args, i)); strings.HasPrefix(x, t.Named+"=") {
					a = x
					break
				}
			}
		}
		if a == "" {
			return false, false
		}
		if t.NotNull {
			null := a == "NULL" || a == "0" || a == "0x0"
			if null {
				return false, true
			}
			continue
		}
		// A raw number where names are tested cannot be judged (the
		// unikernel shim prints undecoded numbers), unless the test names
		// numbers too, or it is 0 (no flags at all).
		if numericArg.MatchString(a) && !hasNumber(t.In) && !hasNumber(t.NotIn) && (a != "0" || len(t.In)+len(t.NotIn) > 0) {
			return false, false
		}
		if i := strings.IndexByte(a, '='); i > 0 && isIdent(a[:i]) {
			a = a[i+1:] // strace's "flags=CLONE_VM|…": the value
		}
		flags := strings.Split(a, "|")
		for i := range flags {
			flags[i] = strings.TrimSpace(flags[i])
		}
		value := ""
		for _, f := range flags {
			if !contains(t.Ignore, f) {
				value = f
				break
			}
		}
		if len(t.In) > 0 && !containsValue(t.In, value) || len(t.NotIn) > 0 && containsValue(t.NotIn, value) {
			return false, true
		}
		if len(t.Has) > 0 && !anyOf(flags, t.Has) || len(t.Lacks) > 0 && anyOf(flags, t.Lacks) {
			return false, true
		}
	}
	return true, true
}

// Name is the use as reports show it, for a call's arguments.
func (r ArgRule) Name(args string) string {
	s := r.Use
	for i := 0; i < 6 && strings.Contains(s, "{arg"); i++ {
		a := strings.TrimSpace(trace.Arg(args, i))
		if a == "" {
			a = "?"
		}
		s = strings.ReplaceAll(s, "{arg"+strconv.Itoa(i)+"}", a)
	}
	return s
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

func hasNumber(list []string) bool {
	for _, x := range list {
		if numericArg.MatchString(x) {
			return true
		}
	}
	return false
}

func anyOf(flags, want []string) bool {
	for _, f := range flags {
		if contains(want, f) {
			return true
		}
	}
	return false
}

// Override is an entry of overrides.json: what reading the code of one
// implementation cannot decide (a crash on a flag, a level), set by hand
// with the place it was read and why.
type Override struct {
	Syscall string `json:"syscall"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	// Level, Note, Returns replace the importer's, when Level is set.
	Level   Level     `json:"level,omitempty"`
	Note    string    `json:"note,omitempty"`
	Returns string    `json:"returns,omitempty"`
	Rules   []ArgRule `json:"rules,omitempty"`
	Reason  string    `json:"reason"`
}

//go:embed overrides.json
var overridesJSON []byte

// Overrides returns the built-in overrides (analyze/overrides.json), used
// by kb import.
func Overrides() ([]Override, error) {
	var f struct {
		Version int        `json:"syscov_overrides"`
		Entries []Override `json:"entries"`
	}
	if err := json.Unmarshal(overridesJSON, &f); err != nil {
		return nil, fmt.Errorf("overrides.json: %w", err)
	}
	for i, o := range f.Entries {
		if o.Syscall == "" || o.File == "" || o.Line < 1 || o.Reason == "" || o.Note == "" || o.Level == "" && len(o.Rules) == 0 {
			return nil, fmt.Errorf("overrides.json: entry %d (%s): want syscall, file, line, note, reason and a level or rules", i, o.Syscall)
		}
		for _, r := range o.Rules {
			if err := r.check(); err != nil {
				return nil, fmt.Errorf("overrides.json: entry %d (%s): %w", i, o.Syscall, err)
			}
		}
	}
	return f.Entries, nil
}

// RuleFor returns the rule a call breaks, if any, and whether it holds
// in the table's configuration (a rule whose options are on does not).
// ok is false when the call's arguments cannot be judged.
func (t *SupportTable) RuleFor(arch trace.Arch, ev *trace.Event) (rule *ArgRule, ok bool) {
	s := t.Lookup(arch, ev.Name)
	ok = true
	for i, r := range s.Rules {
		m, readable := r.matches(ev.Args)
		if !readable {
			ok = false
			continue
		}
		if !m {
			continue
		}
		if len(r.Needs) > 0 && t.cfg != nil && len(t.cfg.Missing(r.Needs)) == 0 {
			continue // the option that supports it is on
		}
		return &s.Rules[i], true
	}
	return nil, ok
}

// isIdent: a C identifier (an argument's name, as strace writes "name=").
func isIdent(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// containsValue: the value is one of the list's, numbers compared as
// numbers (syscov's tracers write an undecoded 0 as 0x0, strace as 0).
func containsValue(list []string, v string) bool {
	if contains(list, v) {
		return true
	}
	if v == "NULL" {
		v = "0" // a register printed as a pointer (an undecoded argument)
	}
	n, err := strconv.ParseInt(v, 0, 64)
	if err != nil {
		return false
	}
	for _, x := range list {
		if m, err := strconv.ParseInt(x, 0, 64); err == nil && m == n {
			return true
		}
	}
	return false
}

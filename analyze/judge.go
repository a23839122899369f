package analyze

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/syscov/syscov/trace"
)

// Impact is what a syscall the unikernel lacks does to the app.
type Impact string

const (
	// Blocks: the app fails without it (no known fallback, probing says
	// it is required, or the unikernel run failed there).
	Blocks Impact = "blocks"
	// Degrades: a known fallback of the libc or runtime takes over, or an
	// optional feature is lost.
	Degrades Impact = "degrades"
	// Noise: a start-up probe whose failure is normal, or a call made
	// only while syscov stopped the app.
	Noise Impact = "noise"
)

// Fallback is one entry of the fallback knowledge file: a syscall whose
// failure a runtime handles by itself.
type Fallback struct {
	Syscall string `json:"syscall"`
	Runtime string `json:"runtime"`
	Impact  Impact `json:"impact"`
	// Args, when set, limits the entry to calls whose argument text holds
	// it (socket AF_UNIX, arch_prctl 0x3001).
	Args string `json:"args,omitempty"`
	// Sites, when set, ties the entry to the code that has the fallback:
	// a call whose recorded stack has no frame whose function holds one
	// of them is not that code's (an app's own AF_UNIX socket is not
	// glibc's nscd client). A call without a recorded stack is judged by
	// the entry, with the call site said to be unknown.
	Sites    []string `json:"sites,omitempty"`
	Fallback string   `json:"fallback"`
	Source   string   `json:"source"`
}

//go:embed fallbacks.json
var fallbacksJSON []byte

// Fallbacks returns the built-in fallback knowledge (analyze/fallbacks.json).
func Fallbacks() ([]Fallback, error) {
	var f struct {
		Version int        `json:"syscov_fallbacks"`
		Entries []Fallback `json:"entries"`
	}
	if err := json.Unmarshal(fallbacksJSON, &f); err != nil {
		return nil, fmt.Errorf("fallbacks.json: %w", err)
	}
	for i, e := range f.Entries {
		if e.Syscall == "" || e.Runtime == "" || e.Fallback == "" || e.Source == "" || (e.Impact != Degrades && e.Impact != Noise) {
			return nil, fmt.Errorf("fallbacks.json: entry %d (%s): want syscall, runtime, fallback, source and impact degrades or noise", i, e.Syscall)
		}
	}
	return f.Entries, nil
}

// Judgement is the impact of one lacking syscall use, and why.
type Judgement struct {
	Impact Impact
	Why    string
	// Evidence is what the impact rests on.
	Evidence Evidence
	// Fallback is the knowledge entry behind a "degrades", when one is.
	Fallback *Fallback
}

// Judge decides the support of each call (the support table, refined by
// unikernel runs and argument-level rules) and the impact of what is
// lacking (fallback knowledge, probe verdicts, the phase of the run).
// Coverage, diff, check, probe and profiles all ask it.
type Judge struct {
	Table *SupportTable
	// Probes holds the verdicts of `syscov probe`, by app (the program's
	// base name): a probe of one app never answers for another.
	Probes map[string]map[string]ProbeVerdict
	// Verified holds the verification runs of check, by app (the
	// program's base name) and use key.
	Verified map[string]map[string]Verification
	// UnikernelWorked: the app did its job in the unikernel run (it was
	// ready, the workload passed): what failed there is done without.
	UnikernelWorked bool
	fallbacks       map[string][]Fallback
}

// SetVerified records the verification of a use of an app.
func (j *Judge) SetVerified(app, key string, v Verification) {
	if j.Verified == nil {
		j.Verified = map[string]map[string]Verification{}
	}
	if j.Verified[app] == nil {
		j.Verified[app] = map[string]Verification{}
	}
	j.Verified[app][key] = v
}

// ProbeOf is what probing found of a syscall of an app ("" unknown).
func (j *Judge) ProbeOf(app, name string) ProbeVerdict { return j.Probes[app][name] }

// NewJudge makes the judge against a table, with the probe verdicts of
// some apps (may be nil).
func NewJudge(table *SupportTable, probes map[string]map[string]ProbeVerdict) (*Judge, error) {
	fb, err := Fallbacks()
	if err != nil {
		return nil, err
	}
	j := &Judge{Table: table, Probes: probes, fallbacks: map[string][]Fallback{}}
	for _, f := range fb {
		j.fallbacks[f.Syscall] = append(j.fallbacks[f.Syscall], f)
	}
	return j, nil
}

// Support is the table's level of a call, made stricter for uses the
// unikernel rejects (a fork-like clone where only threads are supported,
// a use an argument rule of the table names: "futex FUTEX_LOCK_PI",
// "socket AF_NETLINK"), with the key the use is counted under. A call
// of a partial syscall that no rule rejects is a supported use.
func (j *Judge) Support(arch trace.Arch, ev *trace.Event) (key string, level Level, note string) {
	key = ev.Name
	s := j.Table.Lookup(arch, ev.Name)
	level, note = s.Level, s.Note
	if IsForkLike(ev) && (ev.Name == "clone" || ev.Name == "clone3") {
		key = ev.Name + " (fork)"
		if level == Partial || level == Implemented && strings.Contains(strings.ToLower(note), "clone") {
			level, note = Missing, "fork-like clone (no CLONE_VM): "+note
		}
		return key, level, note
	}
	if level.Absent() || len(s.Rules) == 0 {
		return key, level, note
	}
	rule, readable := j.Table.RuleFor(arch, ev)
	switch {
	case rule != nil:
		level = Missing
		if len(rule.Needs) > 0 {
			level = Disabled
		}
		return rule.Name(ev.Args), level, rule.Answer
	case readable && level == Partial:
		return key, Implemented, "a use the implementation supports (" + s.Note + ")"
	}
	return key, level, note
}

// Unsupported reports, before a call runs, whether the judge may not
// call it supported (its level, for a fork-like or other use, is not
// implemented, or argument rules decide): the calls whose call sites a
// report shows.
func (j *Judge) Unsupported(arch trace.Arch, name string, forkLike bool) bool {
	s := j.Table.Lookup(arch, name)
	if forkLike && (name == "clone" || name == "clone3") {
		_, level, _ := j.Support(arch, &trace.Event{Kind: trace.KindSyscall, Name: name})
		return level != Implemented
	}
	return s.Level != Implemented || len(s.Rules) > 0
}

// Closure says what closes a lacking use: "implement" (the release has no
// working code for it), "configure: enable CONFIG_X, …" (the release has
// it in options the image was built without: its library, a socket
// family's driver), or "" when the table has no Kconfig knowledge.
func (j *Judge) Closure(arch trace.Arch, key, name, args string) string {
	s := j.Table.Lookup(arch, name)
	if strings.HasSuffix(key, " (fork)") || s.Level == Missing && len(s.Impls) == 0 {
		return "implement"
	}
	if j.Table.ConfigOf() == nil {
		return ""
	}
	var needs []string
	if s.Level == Disabled {
		needs = append(needs, s.Fix...)
	}
	// args may join several calls' texts with " | " (the unikernel's and
	// the native run's): the first a rule rejects decides.
	for _, text := range strings.Split(args, " | ") {
		rule, _ := j.Table.RuleFor(arch, &trace.Event{Kind: trace.KindSyscall, Name: name, Args: text})
		if rule == nil {
			continue
		}
		if len(rule.Needs) == 0 {
			return "implement"
		}
		needs = appendNew(needs, rule.Needs...)
		break
	}
	if len(needs) == 0 {
		return "implement"
	}
	out := "configure: enable " + strings.Join(needs, ", ")
	var off []string
	for _, n := range needs {
		for _, x := range j.Table.Excludes[n] {
			if j.Table.ConfigOf().On[x] && !slices.Contains(off, x) {
				off = append(off, x)
			}
		}
	}
	if len(off) > 0 {
		out += " (turns off " + strings.Join(off, ", ") + ")"
	}
	return out
}

// ConfigWithLibraries is the configuration of an image known only by its
// libraries (.uk_libinfo): the table's default configuration with every
// library option of the table set as the image has it.
func ConfigWithLibraries(t *SupportTable, image string, libs map[string]bool) *Config {
	c := &Config{Name: "app-elfloader defaults with the libraries of " + image, On: map[string]bool{}}
	if base := t.ConfigOf(); base != nil {
		for k, v := range base.On {
			c.On[k] = v
		}
		c.Name = base.Name + ", with the libraries of " + image
	}
	for _, m := range t.Arch {
		for _, s := range m {
			for _, im := range s.Impls {
				if im.Lib == "" || strings.Contains(im.Lib, "elfloader") {
					continue
				}
				c.On["CONFIG_LIB"+strings.ToUpper(strings.ReplaceAll(im.Lib, "-", "_"))] = libs[libInfoName(im.Lib)]
			}
			for _, r := range s.Rules {
				for _, n := range r.Needs {
					if lib := strings.TrimPrefix(n, "CONFIG_LIB"); lib != n && !strings.ContainsAny(lib, " !()") {
						c.On[n] = libs["lib"+strings.ToLower(lib)]
					}
				}
			}
		}
	}
	return c
}

// libInfoName is a library's name in .uk_libinfo (posix-socket →
// libposix_socket).
func libInfoName(dir string) string { return "lib" + strings.ReplaceAll(dir, "-", "_") }

// Use is what the judge needs to know of a lacking syscall use.
type Use struct {
	// App is the program's base name (for its probe verdicts).
	App  string
	Name string
	// Key is the use's key ("clone (fork)", "socket AF_NETLINK"; the name
	// when empty), for its verification.
	Key string
	// Args is the argument text of one of its calls (for entries keyed on
	// arguments).
	Args string
	// Calls and ShutdownCalls: all calls, and those made after syscov
	// sent its stop signal.
	Calls, ShutdownCalls int
	// FailedThere: the unikernel run ended (crash, stop) right after this
	// call failed. SeenFailing: a unikernel run answered it with an error.
	FailedThere bool
	SeenFailing bool
	// Runtimes the app uses (glibc, musl, python, libuv, node, go); an
	// entry for "app:NAME" applies to the program NAME itself.
	Runtimes map[string]bool
	// Stack are the frames of the first call's stack, innermost first,
	// each "function file" (nil: none was recorded).
	Stack []string
}

// fromSite reports whether a call with stack comes from the code an
// entry names, and whether that is known.
func (f Fallback) fromSite(stack []string) (ok, known bool) {
	if len(f.Sites) == 0 {
		return true, true
	}
	if len(stack) == 0 {
		return true, false
	}
	for _, fn := range stack {
		for _, s := range f.Sites {
			if strings.Contains(fn, s) {
				return true, true
			}
		}
	}
	return false, true
}

// Impact judges a lacking use.
func (j *Judge) Impact(u Use) Judgement {
	switch {
	case u.Calls > 0 && u.ShutdownCalls == u.Calls:
		return Judgement{Impact: Noise, Why: "made only after syscov sent its stop signal", Evidence: EvidenceTrace}
	case u.FailedThere:
		return Judgement{Impact: Blocks, Why: "the unikernel run stopped where it failed", Evidence: EvidenceUnikernel}
	case u.SeenFailing && j.UnikernelWorked:
		return Judgement{Impact: Degrades, Why: "seen in the unikernel run: the app was ready and the workload passed with it failing", Evidence: EvidenceUnikernel}
	}
	key := u.Key
	if key == "" {
		key = u.Name
	}
	v, ok := j.Verified[u.App][key]
	if !ok && key == u.Name {
		// A diff's gap is keyed by name: a single verified use of the
		// syscall ("socket AF_NETLINK") answers for it.
		n := 0
		for k, kv := range j.Verified[u.App] {
			if strings.HasPrefix(k, u.Name+" ") {
				v, n = kv, n+1
			}
		}
		ok = n == 1
	}
	if ok {
		if v.Works {
			return Judgement{Impact: Degrades, Why: v.Text(), Evidence: EvidenceVerified}
		}
		return Judgement{Impact: Blocks, Why: v.Text(), Evidence: EvidenceVerified}
	}
	if v := j.ProbeOf(u.App, u.Name); v != "" {
		switch {
		case v == Required:
			return Judgement{Impact: Blocks, Why: "probing: the app fails without it", Evidence: EvidenceProbe}
		case v.Cheap():
			return Judgement{Impact: Degrades, Why: "probing: the app works with it " + string(v), Evidence: EvidenceProbe}
		}
	}
	for i, f := range j.fallbacks[u.Name] {
		applies := f.Runtime == "*" || u.Runtimes[f.Runtime] || u.App != "" && f.Runtime == "app:"+u.App
		if !applies || f.Args != "" && !strings.Contains(u.Args, f.Args) {
			continue
		}
		fromSite, known := f.fromSite(u.Stack)
		if !fromSite {
			continue
		}
		who := f.Runtime + ": "
		if f.Runtime == "*" {
			who = ""
		}
		why := who + f.Fallback + " (" + f.Source + ")"
		if !known {
			why += "; the call site was not recorded, so that it is " + strings.Join(f.Sites, " or ") + "'s call is assumed"
		}
		return Judgement{Impact: f.Impact, Why: why, Fallback: &j.fallbacks[u.Name][i], Evidence: EvidencePredicted}
	}
	return Judgement{Impact: Blocks, Why: "no known fallback", Evidence: EvidencePredicted}
}

// Runtimes detects, event by event, the libc and language runtimes an
// app uses: from the libraries it opens, the programs it execs and its
// command name; a static glibc program shows itself by registering rseq
// and its robust list at start, which only glibc does.
type Runtimes struct {
	Found  map[string]bool
	events int
}

// NewRuntimes starts an empty detection.
func NewRuntimes() *Runtimes { return &Runtimes{Found: map[string]bool{}} }

// Add looks at one event.
func (r *Runtimes) Add(ev *trace.Event) {
	if ev.Kind != trace.KindSyscall {
		return
	}
	r.events++
	if r.events <= 64 && (ev.Name == "rseq" || ev.Name == "set_robust_list") {
		r.Found["glibc"] = true
	}
	switch c := ev.Comm; {
	case c == "node" || c == "nodejs":
		r.Found["node"], r.Found["libuv"] = true, true
	case strings.HasPrefix(c, "python"):
		r.Found["python"] = true
	}
	if !pathCalls[ev.Name] || ev.Status != trace.StatusOK {
		return
	}
	p, ok := callPath(ev)
	if !ok {
		return
	}
	// The Go runtime reads the huge page size in osinit, before main,
	// static binary or not (runtime/os_linux.go, getHugePageSize).
	if p == "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size" && r.events <= 64 {
		r.Found["go"] = true
	}
	base := path.Base(p)
	switch {
	case strings.HasPrefix(base, "libc.so."):
		r.Found["glibc"] = true
	case strings.HasPrefix(base, "ld-musl-") || strings.HasPrefix(base, "libc.musl"):
		r.Found["musl"] = true
	case strings.HasPrefix(base, "libuv.so"):
		r.Found["libuv"] = true
	case strings.HasPrefix(base, "libnode.so"):
		r.Found["node"], r.Found["libuv"] = true, true
	case strings.HasPrefix(base, "libpython"):
		r.Found["python"] = true
	case ev.Name == "execve" && strings.HasPrefix(base, "python"):
		r.Found["python"] = true
	case ev.Name == "execve" && (base == "node" || base == "nodejs"):
		r.Found["node"], r.Found["libuv"] = true, true
	}
}

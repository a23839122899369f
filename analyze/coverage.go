package analyze

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/syscov/syscov/trace"
)

// UsedSyscall is one syscall (or one kind of use of it) an app makes.
type UsedSyscall struct {
	// Key is the name, or "clone (fork)" for a fork-like use of a syscall
	// that the unikernel supports only for threads.
	Key   string
	Name  string
	Nr    int
	Calls int
	// Level is the support of this use against the table (refined by
	// unikernel traces); Note why.
	Level Level
	Note  string
	Class string
	// First is where the app first makes the call: the input position and,
	// when stacks were recorded, the innermost frame outside libc.
	First      trace.Pos
	FirstFrame *trace.Frame
	// UnikernelSeen is how a unikernel run answered it, when one did.
	UnikernelSeen string
	// Probe is what `syscov probe` found the app needs of it, when known.
	Probe ProbeVerdict
}

// AppCoverage is the coverage of one app's trace.
type AppCoverage struct {
	App    string
	Source string
	Origin string
	Table  string
	Used   []*UsedSyscall // by calls, descending
	// Counts of distinct uses per level.
	Implemented, Stubbed, Partial, Missing int
	Calls                                  int
	CallsSupported                         int // calls whose use is implemented or stubbed
	// Blocking are the missing uses, by calls (the ones to implement).
	// With probe verdicts, only the required ones (and the unprobed) are
	// blocking; Cheap are the missing ones a stub or a fake would do for.
	Blocking []*UsedSyscall
	Cheap    []*UsedSyscall
}

// Weighted is the share of calls the unikernel supports, 0..1.
func (c *AppCoverage) Weighted() float64 {
	if c.Calls == 0 {
		return 1
	}
	return float64(c.CallsSupported) / float64(c.Calls)
}

// Distinct is how many distinct uses the app makes.
func (c *AppCoverage) Distinct() int { return len(c.Used) }

// CoverageBuilder folds one app's events into its coverage.
type CoverageBuilder struct {
	table  *SupportTable
	arch   trace.Arch
	refine *Refinement
	used   map[string]*UsedSyscall
	app    string
	src    string
	origin string
	probe  map[string]ProbeVerdict
}

// SetProbe gives the verdicts of `syscov probe`: missing syscalls that
// work stubbed or faked are cheap, not blocking.
func (b *CoverageBuilder) SetProbe(v map[string]ProbeVerdict) { b.probe = v }

// Refinement is what unikernel runs showed of the image: syscalls that
// answered "not implemented" are missing there, whatever the table says.
type Refinement struct {
	Missing map[string]string // name → what the unikernel said
}

// NewRefinement starts an empty refinement.
func NewRefinement() *Refinement { return &Refinement{Missing: map[string]string{}} }

// Add notes a unikernel event.
func (r *Refinement) Add(ev *trace.Event) {
	if ev.Kind == trace.KindSyscall && ev.Origin == trace.OriginUnikernel && ev.Status == trace.StatusUnsupported && ev.Errno == "ENOSYS" {
		if _, ok := r.Missing[ev.Name]; !ok {
			r.Missing[ev.Name] = "ENOSYS in the unikernel run (" + ev.Pos.String() + ")"
		}
	}
}

// NewCoverageBuilder starts the coverage of one app against table.
func NewCoverageBuilder(app, source string, hdr trace.Header, table *SupportTable, refine *Refinement) *CoverageBuilder {
	arch := hdr.Arch
	if arch == "" {
		arch = trace.ArchX86_64
	}
	return &CoverageBuilder{table: table, arch: arch, refine: refine, used: map[string]*UsedSyscall{}, app: app, src: source, origin: hdr.Origin}
}

// AppName names an app from its trace header or file.
func AppName(hdr trace.Header, source string) string {
	if len(hdr.Command) > 0 && hdr.Origin != trace.OriginUnikernel.String() {
		return filepath.Base(hdr.Command[0])
	}
	if hdr.Origin == trace.OriginUnikernel.String() && len(hdr.Command) > 0 {
		return filepath.Base(hdr.Command[0]) + " (unikernel)"
	}
	base := filepath.Base(source)
	for _, ext := range []string{".trace", ".strace", ".log", ".jsonl"} {
		base = strings.TrimSuffix(base, ext)
	}
	return base
}

// Add counts one event.
func (b *CoverageBuilder) Add(ev *trace.Event) {
	if ev.Kind != trace.KindSyscall {
		return
	}
	key, level, note := b.judge(ev)
	u := b.used[key]
	if u == nil {
		u = &UsedSyscall{Key: key, Name: ev.Name, Nr: ev.Nr, Level: level, Note: note, Class: Class(ev), First: ev.Pos, Probe: b.probe[ev.Name]}
		if f := appFrame(ev.Stack); f != nil {
			fc := *f
			u.FirstFrame = &fc
		}
		b.used[key] = u
	}
	u.Calls++
	if ev.Origin == trace.OriginUnikernel && u.UnikernelSeen == "" {
		switch ev.Status {
		case trace.StatusUnsupported, trace.StatusError, trace.StatusStubbed:
			u.UnikernelSeen = ev.Status.String()
			if ev.Errno != "" {
				u.UnikernelSeen += " " + ev.Errno
			}
		}
	}
}

// judge decides the support of one call: the table's level, made stricter
// for uses the unikernel rejects (a fork-like clone where only threads are
// supported) and by what unikernel runs showed.
func (b *CoverageBuilder) judge(ev *trace.Event) (key string, level Level, note string) {
	key = ev.Name
	s := b.table.Lookup(b.arch, ev.Name)
	level, note = s.Level, s.Note
	if IsForkLike(ev) && (ev.Name == "clone" || ev.Name == "clone3") {
		key = ev.Name + " (fork)"
		if level == Partial || level == Implemented && strings.Contains(strings.ToLower(note), "clone") {
			level, note = Missing, "fork-like clone (no CLONE_VM): "+note
		}
	}
	if b.refine != nil {
		if why, ok := b.refine.Missing[ev.Name]; ok && level != Missing {
			level, note = Missing, why
		}
	}
	if ev.Origin == trace.OriginUnikernel {
		switch ev.Status {
		case trace.StatusUnsupported:
			if ev.Errno == "ENOSYS" || NotSupported(ev.Errno) {
				level, note = Missing, "the unikernel answered "+ev.Errno
			}
		case trace.StatusStubbed:
			if level == Implemented {
				level, note = Stubbed, ev.Text
			}
		}
	}
	return key, level, note
}

// appFrame is the innermost frame outside the C library and the loader.
func appFrame(stack []trace.Frame) *trace.Frame {
	for i := range stack {
		base := filepath.Base(stack[i].Object)
		if !strings.HasPrefix(base, "libc.so") && !strings.HasPrefix(base, "ld-linux") && !strings.HasPrefix(base, "libpthread") {
			return &stack[i]
		}
	}
	return nil
}

// Coverage returns the app's coverage.
func (b *CoverageBuilder) Coverage() *AppCoverage {
	c := &AppCoverage{App: b.app, Source: b.src, Origin: b.origin, Table: b.table.Name()}
	for _, u := range b.used {
		c.Used = append(c.Used, u)
		c.Calls += u.Calls
		switch u.Level {
		case Implemented:
			c.Implemented++
			c.CallsSupported += u.Calls
		case Stubbed:
			c.Stubbed++
			c.CallsSupported += u.Calls
		case Partial:
			c.Partial++
		case Missing:
			c.Missing++
			if u.Probe.Cheap() {
				c.Cheap = append(c.Cheap, u)
			} else {
				c.Blocking = append(c.Blocking, u)
			}
		}
	}
	byCalls := func(list []*UsedSyscall) {
		sort.Slice(list, func(i, j int) bool {
			if list[i].Calls != list[j].Calls {
				return list[i].Calls > list[j].Calls
			}
			return list[i].Key < list[j].Key
		})
	}
	byCalls(c.Used)
	byCalls(c.Blocking)
	byCalls(c.Cheap)
	return c
}

// Blocker is a missing syscall use and the apps it keeps from running.
type Blocker struct {
	Key   string
	Apps  []string
	Calls int
}

// PlanStep is one step of the implementation plan.
type PlanStep struct {
	Implement string
	// NewlyCovered are the apps fully covered once this step is done;
	// Covered counts all fully covered apps after it.
	NewlyCovered []string
	Covered      int
}

// Plan ranks what to implement first across apps.
type Plan struct {
	Apps       int
	CoveredNow int
	Blockers   []Blocker  // by apps blocked, then calls
	Steps      []PlanStep // greedy: each step covers the most apps it can
	// AfterTop is how many apps are fully covered after the first k steps,
	// for k = 5 and 10.
	AfterTop map[int]int
}

// MakePlan builds the ranked plan over several apps' coverage: which
// missing syscalls block how many apps, and the greedy order "implement A,
// then B → N more apps fully covered".
func MakePlan(apps []*AppCoverage) *Plan {
	p := &Plan{Apps: len(apps), AfterTop: map[int]int{}}
	need := make([]map[string]bool, len(apps))
	calls := map[string]int{}
	blocked := map[string][]string{}
	for i, a := range apps {
		need[i] = map[string]bool{}
		for _, u := range a.Blocking {
			need[i][u.Key] = true
			calls[u.Key] += u.Calls
			blocked[u.Key] = append(blocked[u.Key], a.App)
		}
		if len(need[i]) == 0 {
			p.CoveredNow++
		}
	}
	for k, list := range blocked {
		p.Blockers = append(p.Blockers, Blocker{Key: k, Apps: list, Calls: calls[k]})
	}
	sort.Slice(p.Blockers, func(i, j int) bool {
		a, b := p.Blockers[i], p.Blockers[j]
		if len(a.Apps) != len(b.Apps) {
			return len(a.Apps) > len(b.Apps)
		}
		if a.Calls != b.Calls {
			return a.Calls > b.Calls
		}
		return a.Key < b.Key
	})
	covered := p.CoveredNow
	for {
		best, bestDone, bestNeed, bestCalls := "", -1, 0, 0
		for k := range blocked {
			done, needs := 0, 0
			for i := range apps {
				if need[i][k] {
					needs++
					if len(need[i]) == 1 {
						done++
					}
				}
			}
			if needs == 0 {
				continue
			}
			if done > bestDone || done == bestDone && (needs > bestNeed || needs == bestNeed && (calls[k] > bestCalls || calls[k] == bestCalls && k < best)) {
				best, bestDone, bestNeed, bestCalls = k, done, needs, calls[k]
			}
		}
		if best == "" {
			break
		}
		step := PlanStep{Implement: best}
		for i, a := range apps {
			if need[i][best] {
				delete(need[i], best)
				if len(need[i]) == 0 {
					step.NewlyCovered = append(step.NewlyCovered, a.App)
				}
			}
		}
		covered += len(step.NewlyCovered)
		step.Covered = covered
		p.Steps = append(p.Steps, step)
	}
	for _, k := range []int{5, 10} {
		p.AfterTop[k] = p.CoveredNow
		if n := min(k, len(p.Steps)); n > 0 {
			p.AfterTop[k] = p.Steps[n-1].Covered
		}
	}
	return p
}

// SiteString prints where a use is first made.
func (u *UsedSyscall) SiteString() string {
	if u.FirstFrame != nil {
		f := u.FirstFrame
		if f.Func != "" {
			return fmt.Sprintf("%s (%s)", f.Func, filepath.Base(f.Object))
		}
		return fmt.Sprintf("%s+0x%x", filepath.Base(f.Object), f.Addr)
	}
	return fmt.Sprintf("%s:%d", filepath.Base(u.First.File), u.First.Line)
}

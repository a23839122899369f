package analyze

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
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
	// ShutdownCalls are the calls made after syscov sent its stop signal.
	ShutdownCalls int
	// Level is the support of this use against the table (refined by
	// unikernel traces); Note why.
	Level Level
	Note  string
	Class string
	// Impact, for a use that is not supported: what lacking it does to
	// the app, and why (the judge's words).
	Impact    Impact
	ImpactWhy string
	// Evidence is what the impact rests on (a unikernel run, a
	// verification run, probe, or a prediction).
	Evidence Evidence
	// Closure is what closes the gap: "implement", "configure: CONFIG_…"
	// or "" (no image known).
	Closure string
	// First is where the app first makes the call: the input position and,
	// when stacks were recorded, the innermost frame outside libc.
	First      trace.Pos
	FirstFrame *trace.Frame
	// FirstStack are the app's frames (not libc's, not the loader's) of
	// the first call with a stack, innermost first, at most 8.
	FirstStack []trace.Frame
	// UnikernelSeen is how a unikernel run answered it, when one did.
	UnikernelSeen string
	// Probe is what `syscov probe` found the app needs of it, when known.
	Probe ProbeVerdict

	args       string   // of the first call, for argument-keyed fallbacks
	stackFuncs []string // of the first call with a stack, for site-tied ones
	// follows is the key of the lacking socket() whose socket this use
	// works on: in the unikernel it never happens, and its fate is that
	// socket's (a connect to nscd after socket(AF_UNIX) fell back).
	follows string
}

// AppCoverage is the coverage of one app's trace.
type AppCoverage struct {
	App    string
	Source string
	Origin string
	Table  string
	// Config names the configuration the table's levels are for.
	Config string
	// TableWhy says why this table; TableWarning is what the reports
	// must say loudly about it (see SupportTable.Chosen, Warning).
	TableWhy, TableWarning string
	Used                   []*UsedSyscall // by calls, descending
	// Counts of distinct uses per level.
	Implemented, Stubbed, Partial, Missing int
	Calls                                  int
	CallsSupported                         int // calls whose use is implemented or stubbed
	// Blocking are the missing uses the app cannot do without (impact
	// blocks), by calls: the ones to implement. Tolerated are the missing
	// uses whose impact is degrades or noise; Cheap (a subset of
	// Tolerated) those that `syscov probe` showed a stub or a fake does
	// for.
	Blocking  []*UsedSyscall
	Tolerated []*UsedSyscall
	Cheap     []*UsedSyscall
	// Program is the base name of the app's program (what probe verdicts
	// are keyed by).
	Program string
	// Runtimes are the libc and runtimes the app was seen to use.
	Runtimes []string
	// SetAside counts the events of wrapper processes (shells, shims)
	// that were not counted as the app's, by program.
	SetAside []NameCount
}

// Weighted is the share of calls the unikernel supports, 0..1.
func (c *AppCoverage) Weighted() float64 {
	if c.Calls == 0 {
		return 1
	}
	return float64(c.CallsSupported) / float64(c.Calls)
}

// Percent prints a share as a percentage with one decimal, rounded down:
// never "100.0" while something is missing.
func Percent(share float64) string {
	p := math.Floor(share*1000+1e-9) / 10
	return strconv.FormatFloat(p, 'f', 1, 64)
}

// Distinct is how many distinct uses the app makes.
func (c *AppCoverage) Distinct() int { return len(c.Used) }

// CoverageBuilder folds one app's events into its coverage. It judges at
// the end (Coverage), so that what unikernel runs show (Refinement) may
// come from inputs read after this one.
type CoverageBuilder struct {
	judge    *Judge
	arch     trace.Arch
	used     map[string]*UsedSyscall
	app      string
	src      string
	origin   string
	runtimes *Runtimes
	filter   *AppFilter
	shutdown stopClock
	// lackingFDs are the sockets whose socket() the unikernel lacks, by
	// process and fd, with the key of that use: calls on them follow it.
	lackingFDs map[[2]int]string
	seen       bool
	rootPID    int // the process of the first call
}

// Refinement is what unikernel runs showed of the image: syscalls that
// answered "not implemented" are missing there, whatever the table says.
type Refinement struct {
	Missing map[string]string // name → what the unikernel said
	// Seen is how a unikernel run first answered each syscall that did
	// not succeed there ("unsupported EOPNOTSUPP").
	Seen map[string]string
	// Works is where a unikernel run first had each syscall succeed: a
	// syscall the table has disabled (its Kconfig option is off in the
	// configuration assumed for the image) is on in the image after all.
	Works map[string]string
}

// NewRefinement starts an empty refinement.
func NewRefinement() *Refinement {
	return &Refinement{Missing: map[string]string{}, Seen: map[string]string{}, Works: map[string]string{}}
}

// Add notes a unikernel event.
func (r *Refinement) Add(ev *trace.Event) {
	if ev.Kind == trace.KindSyscall && ev.Origin == trace.OriginUnikernel {
		if _, ok := r.Works[ev.Name]; !ok && ev.Status == trace.StatusOK {
			r.Works[ev.Name] = ev.Pos.String()
		}
		switch ev.Status {
		case trace.StatusUnsupported, trace.StatusError, trace.StatusStubbed:
			if _, ok := r.Seen[ev.Name]; !ok {
				r.Seen[ev.Name] = strings.TrimSpace(ev.Status.String() + " " + ev.Errno)
			}
		}
	}
	if ev.Kind == trace.KindSyscall && ev.Origin == trace.OriginUnikernel && ev.Status == trace.StatusUnsupported && ev.Errno == "ENOSYS" {
		if _, ok := r.Missing[ev.Name]; !ok {
			r.Missing[ev.Name] = "ENOSYS in the unikernel run (" + ev.Pos.String() + ")"
		}
	}
}

// NewCoverageBuilder starts the coverage of one app, judged by judge.
// filter (nil: every process) sets wrapper processes aside.
func NewCoverageBuilder(app, source string, hdr trace.Header, judge *Judge, filter *AppFilter) *CoverageBuilder {
	arch := hdr.Arch
	if arch == "" {
		arch = trace.ArchX86_64
	}
	return &CoverageBuilder{judge: judge, arch: arch, used: map[string]*UsedSyscall{}, app: app, src: source, origin: hdr.Origin,
		runtimes: NewRuntimes(), filter: filter}
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
	if trace.IsStopMarker(ev) {
		b.shutdown.mark(ev)
		return
	}
	if ev.Kind != trace.KindSyscall {
		return
	}
	if b.filter != nil {
		b.filter.Admit(ev, b.add)
		return
	}
	b.add(ev)
}

// add counts a syscall of the app.
func (b *CoverageBuilder) add(ev *trace.Event) {
	b.runtimes.Add(ev)
	if !b.seen {
		b.seen, b.rootPID = true, ev.PID
	}
	if (ev.Name == "execve" || ev.Name == "execveat") && ev.PID == b.rootPID && ev.Origin != trace.OriginUnikernel {
		// The command's own process execs to start the app (syscov's
		// exec helper, a wrapper's exec): a unikernel loads the app
		// instead, so it is no use of the app's.
		return
	}
	key, level, note := b.judge.Support(b.arch, ev)
	if ev.Arch != "" && ev.Arch != b.arch {
		// A call of another ABI (int $0x80 from a 64-bit process): not
		// the table's call of that name. The unikernel takes calls of
		// its own ABI only.
		key, level, note = ev.Name+" ("+string(ev.Arch)+" ABI)", Missing, "a call of the "+string(ev.Arch)+" ABI from a "+string(b.arch)+" process; the unikernel answers only "+string(b.arch)+" system calls"
	}
	u := b.used[key]
	if u == nil {
		u = &UsedSyscall{Key: key, Name: ev.Name, Nr: ev.Nr, Level: level, Note: note, Class: Class(ev), First: ev.Pos, args: ev.Args}
		b.used[key] = u
	}
	if u.FirstFrame == nil && len(ev.Stack) > 0 {
		if f := appFrame(ev); f != nil {
			fc := *f
			u.FirstFrame = &fc
		}
		u.FirstStack = appFrames(ev.Stack, 8)
		for _, f := range ev.Stack {
			u.stackFuncs = append(u.stackFuncs, f.Func+" "+f.File)
		}
	}
	u.Calls++
	if b.shutdown.after(ev) {
		u.ShutdownCalls++
	}
	b.followSockets(ev, key, level)
	if ev.Origin == trace.OriginUnikernel {
		b.fromUnikernel(u, ev)
	}
}

// socketCalls work on the socket their first argument names.
var socketCalls = map[string]bool{"connect": true, "bind": true, "listen": true, "accept": true, "accept4": true,
	"sendto": true, "recvfrom": true, "sendmsg": true, "recvmsg": true, "sendmmsg": true, "recvmmsg": true,
	"setsockopt": true, "getsockopt": true, "getsockname": true, "getpeername": true, "shutdown": true}

// followSockets remembers the sockets a lacking socket() made natively,
// and ties the calls on them to that use.
func (b *CoverageBuilder) followSockets(ev *trace.Event, key string, level Level) {
	switch {
	case ev.Name == "socket" && ev.Status == trace.StatusOK && ev.RetVal >= 0 && level.Absent():
		if b.lackingFDs == nil {
			b.lackingFDs = map[[2]int]string{}
		}
		b.lackingFDs[[2]int{ev.PID, int(ev.RetVal)}] = key
	case ev.Name == "close" || socketCalls[ev.Name]:
		fd, err := strconv.Atoi(strings.TrimSpace(trace.Arg(ev.Args, 0)))
		if err != nil {
			return
		}
		k := [2]int{ev.PID, fd}
		sock, ok := b.lackingFDs[k]
		if !ok {
			return
		}
		if ev.Name == "close" {
			delete(b.lackingFDs, k)
		} else if u := b.used[key]; u != nil && u.follows == "" {
			u.follows = sock
		}
	}
}

// fromUnikernel makes a use's level stricter by what the unikernel
// answered it.
func (b *CoverageBuilder) fromUnikernel(u *UsedSyscall, ev *trace.Event) {
	switch ev.Status {
	case trace.StatusUnsupported:
		if ev.Errno == "ENOSYS" || NotSupported(ev.Errno) {
			u.Level, u.Note = Missing, "the unikernel answered "+ev.Errno
		}
	case trace.StatusStubbed:
		if u.Level == Implemented {
			u.Level, u.Note = Stubbed, ev.Text
		}
	}
	if u.UnikernelSeen == "" {
		switch ev.Status {
		case trace.StatusUnsupported, trace.StatusError, trace.StatusStubbed:
			u.UnikernelSeen = ev.Status.String()
			if ev.Errno != "" {
				u.UnikernelSeen += " " + ev.Errno
			}
		}
	}
}

// appFrame is the innermost frame of a call's stack outside the C
// library and the loader. In a static program libc is in the app's own
// object: its internal functions (_Fork, __tls_init_tp) and the wrapper
// of the call itself (fork, memfd_create) are passed over by name when an
// app function follows.
func appFrame(ev *trace.Event) *trace.Frame {
	var first, named *trace.Frame
	for i := range ev.Stack {
		f := &ev.Stack[i]
		base := filepath.Base(f.Object)
		if named == nil && f.Func != "" {
			named = f
		}
		if strings.HasPrefix(base, "libc.so") || strings.HasPrefix(base, "ld-linux") || strings.HasPrefix(base, "libpthread") {
			continue
		}
		if first == nil {
			first = f
		}
		if f.Func != "" && !strings.HasPrefix(f.Func, "_") && !libcWrapper(f.Func, ev.Name) && !goSyscallWrapper(f.Func) {
			return f
		}
	}
	if first == nil {
		// Only libc and the loader (rseq at thread start): their
		// innermost named frame says more than a line of the trace.
		return named
	}
	return first
}

// appFrames are the frames of a stack outside libc and the loader, at
// most n, innermost first.
func appFrames(stack []trace.Frame, n int) []trace.Frame {
	var out []trace.Frame
	for _, f := range stack {
		base := filepath.Base(f.Object)
		if strings.HasPrefix(base, "libc.so") || strings.HasPrefix(base, "ld-linux") || strings.HasPrefix(base, "libpthread") {
			continue
		}
		out = append(out, f)
		if len(out) == n {
			break
		}
	}
	return out
}

// FrameSite names one frame as a call site (see site).
func FrameSite(f trace.Frame) string { return site(&f, trace.Pos{}) }

// goSyscallWrapper: a Go function that only makes the call for its
// caller (the syscall package, x/sys/unix, the runtime's raw syscall).
func goSyscallWrapper(fn string) bool {
	for _, p := range []string{"syscall.", "runtime/internal/syscall", "internal/runtime/syscall", "golang.org/x/sys/unix.", "internal/syscall/unix.", "internal/poll."} {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

// libcWrapper: a libc function that only wraps the call.
func libcWrapper(fn, syscall string) bool {
	switch fn {
	case syscall, "syscall", "fork", "vfork", "posix_spawn", "posix_spawnp", "system", "popen", "pthread_create", "daemon":
		return true
	}
	return false
}

// Coverage judges every use and returns the app's coverage; refine (may
// be nil) is what unikernel runs showed.
func (b *CoverageBuilder) Coverage(refine *Refinement) *AppCoverage {
	if b.filter != nil {
		b.filter.Flush(b.add)
	}
	c := &AppCoverage{App: b.app, Source: b.src, Origin: b.origin, Table: b.judge.Table.Name(), Config: b.judge.Table.Config,
		TableWhy: b.judge.Table.Chosen, TableWarning: b.judge.Table.Warning}
	for rt := range b.runtimes.Found {
		c.Runtimes = append(c.Runtimes, rt)
	}
	sort.Strings(c.Runtimes)
	c.Program = strings.TrimSuffix(c.App, " (unikernel)")
	if b.filter != nil {
		c.SetAside = b.filter.SetAside()
		if app := b.filter.App(); app != "" {
			c.Program = app
			if app != c.App && len(c.SetAside) > 0 {
				c.App = app + " (via " + c.App + ")"
			}
		}
	}
	for _, u := range b.used {
		if refine != nil && u.Level == Disabled && refine.Works[u.Name] != "" && !b.judge.Table.ConfigGiven {
			u.Level, u.Note = Implemented, "answered in the unikernel run ("+refine.Works[u.Name]+"): the image has it on, though the configuration assumed for it has "+strings.Join(b.judge.Table.Lookup(b.arch, u.Name).Fix, ", ")+" off"
		}
		if refine != nil && !u.Level.Absent() {
			if why, ok := refine.Missing[u.Name]; ok {
				u.Level, u.Note = Missing, why
			}
		}
		if refine != nil && u.UnikernelSeen == "" {
			u.UnikernelSeen = refine.Seen[u.Name]
		}
		u.Probe = b.judge.ProbeOf(c.Program, u.Name)
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
		case Missing, Disabled:
			c.Missing++
		}
	}
	// What is lacking is judged; a use on a lacking socket after the
	// socket's own use, whose fate it shares.
	for pass := 0; pass < 2; pass++ {
		for _, u := range c.Used {
			if !u.Level.Absent() || (u.follows != "") != (pass == 1) {
				continue
			}
			j := b.judge.Impact(Use{App: c.Program, Name: u.Name, Key: u.Key, Args: u.args, Calls: u.Calls, ShutdownCalls: u.ShutdownCalls, SeenFailing: u.UnikernelSeen != "", Runtimes: b.runtimes.Found, Stack: u.stackFuncs})
			if sock := b.used[u.follows]; sock != nil && sock.Impact != "" && sock.Impact != Blocks && j.Impact == Blocks && j.Evidence != EvidenceVerified {
				j = Judgement{Impact: sock.Impact, Why: "only on the socket of " + sock.Key + ", which the app does without: " + sock.ImpactWhy, Evidence: sock.Evidence}
			}
			u.Impact, u.ImpactWhy, u.Evidence = j.Impact, j.Why, j.Evidence
			u.Closure = b.judge.Closure(b.arch, u.Key, u.Name, u.args)
			if j.Impact == Blocks {
				c.Blocking = append(c.Blocking, u)
			} else {
				c.Tolerated = append(c.Tolerated, u)
				if u.Probe.Cheap() {
					c.Cheap = append(c.Cheap, u)
				}
			}
		}
	}
	// A stub whose answer broke the app in a verification run blocks as
	// a missing syscall does.
	for _, u := range c.Used {
		if u.Level != Stubbed {
			continue
		}
		if v, ok := b.judge.Verified[c.Program][u.Key]; ok && !v.Works {
			u.Impact, u.ImpactWhy, u.Evidence, u.Closure = Blocks, "the stub's answer breaks the app: "+v.Text(), EvidenceVerified, "implement"
			c.Blocking = append(c.Blocking, u)
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
	byCalls(c.Tolerated)
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
	// Implement is the use to support; Closure how ("configure: enable
	// CONFIG_X" or "implement").
	Implement string
	Closure   string
	// NewlyCovered are the apps fully covered once this step is done;
	// Covered counts all fully covered apps after it.
	NewlyCovered []string
	Covered      int
}

// Plan ranks what to implement first across apps.
type Plan struct {
	Apps       int
	CoveredNow int
	Blockers   []Blocker // by apps blocked, then calls
	// Degrading are the missing uses that only degrade apps (a fallback
	// takes over), by apps, then calls: after the blockers.
	Degrading []Blocker
	Steps     []PlanStep // greedy: each step covers the most apps it can
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
	degrading := map[string]*Blocker{}
	for _, a := range apps {
		for _, u := range a.Tolerated {
			if u.Impact != Degrades {
				continue
			}
			d := degrading[u.Key]
			if d == nil {
				d = &Blocker{Key: u.Key}
				degrading[u.Key] = d
			}
			d.Apps = append(d.Apps, a.App)
			d.Calls += u.Calls
		}
	}
	for _, d := range degrading {
		p.Degrading = append(p.Degrading, *d)
	}
	byApps := func(list []Blocker) {
		sort.Slice(list, func(i, j int) bool {
			a, b := list[i], list[j]
			if len(a.Apps) != len(b.Apps) {
				return len(a.Apps) > len(b.Apps)
			}
			if a.Calls != b.Calls {
				return a.Calls > b.Calls
			}
			return a.Key < b.Key
		})
	}
	byApps(p.Blockers)
	byApps(p.Degrading)
	// Configuring is cheap next to implementing: the configure steps come
	// first, each ranked like the rest.
	closure := map[string]string{}
	for _, a := range apps {
		for _, u := range a.Blocking {
			if closure[u.Key] == "" {
				closure[u.Key] = u.Closure
			}
		}
	}
	configure := func(k string) bool { return strings.HasPrefix(closure[k], "configure") }
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
			if best != "" && configure(k) != configure(best) {
				if configure(k) {
					best, bestDone, bestNeed, bestCalls = k, done, needs, calls[k]
				}
				continue
			}
			if done > bestDone || done == bestDone && (needs > bestNeed || needs == bestNeed && (calls[k] > bestCalls || calls[k] == bestCalls && k < best)) {
				best, bestDone, bestNeed, bestCalls = k, done, needs, calls[k]
			}
		}
		if best == "" {
			break
		}
		step := PlanStep{Implement: best, Closure: closure[best]}
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
func (u *UsedSyscall) SiteString() string { return site(u.FirstFrame, u.First) }

// site names a call site: the app's function, its object and, with
// debug information, file:line; "object+offset (no symbol)" when no
// symbol covers the address; the input line without a stack.
func site(f *trace.Frame, pos trace.Pos) string {
	if f != nil {
		obj := filepath.Base(f.Object)
		switch {
		case f.Func != "" && f.File != "":
			return fmt.Sprintf("%s (%s, %s:%d)", f.Func, obj, filepath.Base(f.File), f.Line)
		case f.Func != "":
			return fmt.Sprintf("%s (%s)", f.Func, obj)
		case f.Object != "":
			return fmt.Sprintf("%s+0x%x (no symbol)", obj, f.Addr)
		}
	}
	return fmt.Sprintf("%s:%d", filepath.Base(pos.File), pos.Line)
}

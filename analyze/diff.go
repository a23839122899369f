package analyze

import (
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/syscov/syscov/trace"
)

// DiffEvent is what the diff keeps of one syscall.
type DiffEvent struct {
	Name, Args, Ret, Errno string
	Status                 trace.Status
	PID, TID               int
	Pos                    trace.Pos
	Frame                  *trace.Frame // innermost app frame, when stacks were recorded
	// extra holds what few events carry (kept apart: every event is
	// copied into the alignment, a million of them).
	extra *diffExtra
}

type diffExtra struct {
	path  string // the absolute path a file lookup names, when known
	rel   string // a relative path to resolve against the native run's files
	class string // the class of a process or thread creation, from its whole stack
}

// Path is the absolute path a file lookup names (working directory
// followed), when known.
func (d *DiffEvent) Path() string {
	if d.extra == nil {
		return ""
	}
	return d.extra.path
}

func (d *DiffEvent) class() string {
	if d.extra == nil {
		return ""
	}
	return d.extra.class
}

func diffEvent(ev *trace.Event) DiffEvent {
	d := DiffEvent{Name: ev.Name, Args: ev.Args, Ret: ev.Ret, Errno: ev.Errno, Status: ev.Status, PID: ev.PID, TID: ev.TID, Pos: ev.Pos}
	if f := appFrame(ev); f != nil {
		fc := *f
		d.Frame = &fc
	}
	if isCreate(ev) {
		d.extra = &diffExtra{class: Class(ev)}
	}
	return d
}

// Site prints where the call was made: its app frame, else its input line.
func (d DiffEvent) Site() string { return site(d.Frame, d.Pos) }

// GapKind sorts what the unikernel did wrong.
type GapKind string

const (
	GapMissing      GapKind = "missing"       // ENOSYS or "not available"
	GapNotSupported GapKind = "not supported" // EOPNOTSUPP, EAFNOSUPPORT, ...
	GapFailed       GapKind = "failed"        // another error where the native call succeeded
)

// Gap is one syscall the unikernel lacks or fails.
type Gap struct {
	Kind  GapKind
	Name  string
	Nr    int
	Class string
	Errno string
	// UnikernelCalls is how often the unikernel run hit it; NativeCalls how
	// often the native run made the call (all processes), NativeSites where
	// (distinct sites, first seen first, at most 5).
	UnikernelCalls int
	NativeCalls    int
	NativeSites    []string
	FirstUnikernel trace.Pos
	// Args is the argument text of the first failing unikernel call.
	Args string
	Note string
	// Impact is the judge's: blocks, degrades or noise, and why;
	// Closure what closes it (configure or implement).
	Impact    Impact
	ImpactWhy string
	Evidence  Evidence
	Closure   string
}

// FileGap is a path the app found natively that the unikernel's root
// filesystem lacks: a gap of the image, not a syscall the unikernel lacks.
type FileGap struct {
	Path string
	// Kernel: a file of /proc, /sys or /dev, which the image's kernel
	// provides or not (no root filesystem can add it); else a file the
	// root filesystem lacks.
	Kernel         bool
	NativeCall     string // the call that found it natively
	Errno          string // what the unikernel answered
	FirstUnikernel trace.Pos
	Calls          int
}

// Divergence is the first place the aligned runs part.
type Divergence struct {
	// NativeAt and UnikernelAt index the first differing event of each
	// side's aligned sequence (len when that side has ended).
	NativeAt, UnikernelAt int
	// Context: events before and after, each side; Mark indexes the first
	// differing event within its context slice (-1 when past the end).
	Native, Unikernel         []DiffEvent
	NativeMark, UnikernelMark int
}

// NameCount is a syscall name and a count.
type NameCount struct {
	Name  string
	Count int
}

// ForkChild is a native child process the unikernel has no counterpart
// of: it has one address space.
type ForkChild struct {
	PID     int    `json:"pid"`
	Calls   int    `json:"calls"`
	ForkPos string `json:"forked_at,omitempty"` // where its parent forked it
}

// Diff is the comparison of a native and a unikernel run.
type Diff struct {
	NativeSource, UnikernelSource string
	Unikraft                      string
	// Table is the support table the gaps were judged by, TableWhy why
	// that one, TableWarning what must be said loudly about it (an image
	// newer than every table built in).
	Table, TableWhy, TableWarning string
	// Lengths of the aligned sequences (after ignoring), and what the
	// alignment found.
	NativeLen, UnikernelLen       int
	Equal, NativeOnly, UniOnly    int
	Ignored                       []NameCount
	First                         *Divergence
	Missing, NotSupported, Failed []Gap
	// FileGaps are lookups that failed in the unikernel on paths the
	// native run found.
	FileGaps []FileGap
	// NeverReached are the native calls after the unikernel's last match
	// (calls the shim cannot print, and writes whose bytes the unikernel
	// wrote in other pieces, are not counted).
	NeverReached      []NameCount
	NeverReachedCalls int
	ForkChildren      []ForkChild
	// Ended is how the unikernel run ended (from its header or its
	// console); EndDetail more.
	Ended, EndDetail string
	// SetAside counts native events of wrapper processes, by program.
	SetAside []NameCount
	// Runtimes the native run was seen to use.
	Runtimes []string
	// Crash is the unikernel run's crash, when it crashed: what it
	// lacked first.
	Crash *CrashReport
	// Timeline is the alignment in TimelineBuckets buckets along the
	// edit script: per bucket, how many equal, native-only and
	// unikernel-only events (for a chart of where the runs part).
	Timeline [][3]int
}

// TimelineBuckets is the resolution of Diff.Timeline.
const TimelineBuckets = 200

// Lacks reports whether the unikernel lacks syscalls the app needs: a
// missing or not-supported syscall whose impact is blocks (or, with
// strict, any impact but noise).
func (d *Diff) Lacks(strict bool) bool {
	for _, list := range [][]Gap{d.Missing, d.NotSupported} {
		for _, v := range list {
			if v.Impact == Blocks || v.Impact == "" || strict && v.Impact == Degrades {
				return true
			}
		}
	}
	return false
}

// DiffBuilder collects the two runs event by event.
//
// AddNative and AddUnikernel touch disjoint state, so the two runs may be
// read at the same time, each from its own goroutine.
type DiffBuilder struct {
	context int
	ignore  map[string]bool
	// Each side numbers syscall families on its own (so the sides can be
	// read concurrently); Diff maps both to one numbering.
	nativeSide, uniSide side

	mainPID   int
	native    chunked
	nativeTok []uint32
	children  map[int]*ForkChild
	forkedAt  map[int]string
	// threadOf maps thread ids to their process: strace text names threads
	// by tid, so the clones that made them tell.
	threadOf   map[int]int
	uni        chunked
	uniTok     []uint32
	uniAll     []DiffEvent    // syscalls with failures, for the gaps
	ignored    map[string]int // native side
	uniIgnored map[string]int
	lastCrit   string
	crash      crashWatch
	uniHeader  trace.Header
	nativeName string
	uniName    string

	judge    *Judge
	filter   *AppFilter
	runtimes *Runtimes
	shutdown stopClock
	// shutdownCalls counts native calls made after the stop signal.
	shutdownCalls map[string]int
	nativeFiles   *FileUses
	relPaths      []*diffExtra // unikernel lookups of relative paths, resolved in Diff
	// Bytes written by the native main process and by the unikernel,
	// per fd, to compare writes by bytes rather than by calls.
	nativeWritten, uniWritten map[string]int64
	lastUni                   DiffEvent // the unikernel's last syscall
	nativeHeader              trace.Header
	uniCwd                    Cwds
}

// UseJudge has the diff judge the impact of what the unikernel lacks, and
// set wrapper processes aside with filter (nil: keep every process).
func (b *DiffBuilder) UseJudge(j *Judge, filter *AppFilter) {
	b.judge, b.filter = j, filter
}

// NewDiffBuilder starts a diff. ignore lists syscalls set aside before
// aligning (nil: DefaultIgnore()); context is the number of events shown
// around the first divergence.
func NewDiffBuilder(context int, ignore []string) *DiffBuilder {
	if ignore == nil {
		ignore = DefaultIgnore()
	}
	b := &DiffBuilder{context: context, ignore: map[string]bool{}, children: map[int]*ForkChild{},
		forkedAt: map[int]string{}, ignored: map[string]int{}, uniIgnored: map[string]int{}, threadOf: map[int]int{},
		nativeSide: newSide(), uniSide: newSide(), runtimes: NewRuntimes(), shutdownCalls: map[string]int{},
		nativeFiles: NewFileUses(), uniCwd: Cwds{}, nativeWritten: map[string]int64{}, uniWritten: map[string]int64{}}
	for _, n := range ignore {
		b.ignore[n] = true
	}
	return b
}

type nameStat struct {
	tok     uint32
	ignored bool
	count   int
	sites   []DiffEvent
}

// side caches, per syscall name, its token and counters (and, natively,
// the first call sites of any process): one map access per event.
type side struct {
	names    map[string]*nameStat
	families []string // token → family
	tokens   map[string]uint32
}

func newSide() side { return side{names: map[string]*nameStat{}, tokens: map[string]uint32{}} }

func (s *side) stat(name string, ignore map[string]bool) *nameStat {
	if st, ok := s.names[name]; ok {
		return st
	}
	f := Family(name)
	t, ok := s.tokens[f]
	if !ok {
		t = uint32(len(s.families))
		s.tokens[f] = t
		s.families = append(s.families, f)
	}
	st := &nameStat{tok: t, ignored: ignore[name] || IsVDSO(name)}
	s.names[name] = st
	return st
}

// SetSources names the two inputs and takes the unikernel header.
func (b *DiffBuilder) SetSources(native, unikernel string, uniHeader trace.Header) {
	b.nativeName, b.uniName, b.uniHeader = native, unikernel, uniHeader
}

// SetNativeHeader takes the native trace's header (the app's name).
func (b *DiffBuilder) SetNativeHeader(h trace.Header) {
	b.nativeHeader = h
}

// AddNative adds an event of the native run.
func (b *DiffBuilder) AddNative(ev *trace.Event) {
	if trace.IsStopMarker(ev) {
		b.shutdown.mark(ev)
		return
	}
	if ev.Kind != trace.KindSyscall {
		return
	}
	if b.filter != nil {
		b.filter.Admit(ev, b.addNative)
		return
	}
	b.addNative(ev)
}

// addNative adds a syscall of the app's native run.
func (b *DiffBuilder) addNative(ev *trace.Event) {
	b.runtimes.Add(ev)
	b.nativeFiles.Add(ev)
	if b.shutdown.after(ev) {
		b.shutdownCalls[ev.Name]++
	}
	if b.mainPID == 0 {
		b.mainPID = ev.PID
	}
	pid := ev.PID
	if p, ok := b.threadOf[pid]; ok {
		pid = p
	}
	if IsThreadCreate(ev) && ev.RetVal > 0 {
		b.threadOf[int(ev.RetVal)] = pid
	}
	st := b.nativeSide.stat(ev.Name, b.ignore)
	st.count++
	if len(st.sites) < 5 {
		st.sites = append(st.sites, diffEvent(ev))
	}
	if IsForkLike(ev) && ev.RetVal > 0 {
		b.forkedAt[int(ev.RetVal)] = diffEvent(ev).Site()
	}
	if pid != b.mainPID {
		c := b.children[pid]
		if c == nil {
			c = &ForkChild{PID: pid, ForkPos: b.forkedAt[pid]}
			b.children[pid] = c
		}
		c.Calls++
		return
	}
	if n := writtenBytes(ev); n > 0 {
		b.nativeWritten[writeFD(ev)] += n
	}
	if st.ignored {
		b.ignored[ev.Name]++
		return
	}
	b.native.add(diffEvent(ev))
	b.nativeTok = append(b.nativeTok, st.tok)
}

// writeCalls are the calls whose result is a count of bytes written.
var writeCalls = map[string]bool{"write": true, "writev": true, "pwrite64": true, "pwritev": true, "pwritev2": true, "send": true, "sendto": true, "sendmsg": true}

// writtenBytes is how many bytes a write-like call wrote.
func writtenBytes(ev *trace.Event) int64 {
	if !writeCalls[ev.Name] || ev.Status != trace.StatusOK {
		return 0
	}
	if ev.RetVal > 0 {
		return ev.RetVal
	}
	n, _ := strconv.ParseInt(strings.Fields(ev.Ret + " ")[0], 0, 64)
	return n
}

// writeFD is the fd a write goes to, as the first argument prints it
// ("1", "fd:1", "0x1").
func writeFD(ev *trace.Event) string {
	a := strings.TrimPrefix(trace.Arg(ev.Args, 0), "fd:")
	if i := strings.IndexByte(a, '<'); i > 0 { // -y: 1</dev/pts/0>
		a = a[:i]
	}
	if n, err := strconv.ParseInt(a, 0, 64); err == nil {
		return strconv.FormatInt(n, 10)
	}
	return a
}

// unprintable are calls the Unikraft shim prints no line for (they do not
// return: the app exits, or execve replaced it): never "not reached".
var unprintable = map[string]bool{"exit": true, "exit_group": true, "execve": true, "execveat": true}

// AddUnikernel adds an event of the unikernel run.
func (b *DiffBuilder) AddUnikernel(ev *trace.Event) {
	if ev.Kind == trace.KindMessage && ev.Level == "crit" {
		b.lastCrit = ev.Text
	}
	b.crash.add(ev)
	if ev.Kind != trace.KindSyscall {
		return
	}
	b.uniCwd.Add(ev)
	de := diffEvent(ev)
	if fileLookups[ev.Name] {
		if p, ok := b.uniCwd.Path(ev); ok {
			de.extra = &diffExtra{path: p}
		} else if rel, ok := relativePath(ev.Args); ok {
			// The shim prints chdir undecoded: the path is the one the
			// native run found under that relative name, looked up in
			// Diff once the native side is whole (the two sides may be
			// read at the same time).
			de.extra = &diffExtra{rel: rel}
			b.relPaths = append(b.relPaths, de.extra)
		}
	}
	b.lastUni = de
	if n := writtenBytes(ev); n > 0 {
		b.uniWritten[writeFD(ev)] += n
	}
	if ev.Status == trace.StatusUnsupported || ev.Status == trace.StatusError || ev.Status == trace.StatusStubbed {
		b.uniAll = append(b.uniAll, de)
	}
	st := b.uniSide.stat(ev.Name, b.ignore)
	if st.ignored {
		b.uniIgnored[ev.Name]++
		return
	}
	b.uni.add(de)
	b.uniTok = append(b.uniTok, st.tok)
}

// Diff aligns the runs and gives the gaps: what the unikernel lacks or fails.
func (b *DiffBuilder) Diff() *Diff {
	if b.filter != nil {
		b.filter.Flush(b.addNative)
	}
	for _, x := range b.relPaths {
		x.path = b.nativeFiles.FoundUnder(x.rel)
	}
	d := &Diff{NativeSource: b.nativeName, UnikernelSource: b.uniName, Unikraft: b.uniHeader.Unikraft,
		NativeLen: b.native.len(), UnikernelLen: b.uni.len(), Ended: b.uniHeader.Ended, EndDetail: b.uniHeader.EndDetail}
	if b.judge != nil {
		d.Table, d.TableWhy, d.TableWarning = b.judge.Table.Name(), b.judge.Table.Chosen, b.judge.Table.Warning
	}
	b.mergeTokens()
	lastNative, failed := b.align(d)
	b.unikernelGaps(d, failed)
	b.nativeSides(d)
	d.FileGaps = b.fileGaps()
	d.NeverReached = b.neverReached(d, lastNative)
	d.Runtimes = sortedKeys(b.runtimes.Found)
	if b.filter != nil {
		d.SetAside = b.filter.SetAside()
	}
	b.judgeGaps(d)
	d.Crash = b.crash.report()
	d.Ignored = sortedCounts(b.ignored)
	for _, c := range b.children {
		d.ForkChildren = append(d.ForkChildren, *c)
	}
	sort.Slice(d.ForkChildren, func(i, j int) bool { return d.ForkChildren[i].PID < d.ForkChildren[j].PID })
	if d.Ended == "" {
		if b.lastCrit != "" {
			d.Ended, d.EndDetail = "crash", b.lastCrit
		} else {
			d.Ended = "not recorded (a console log without a syscov header)"
		}
	}
	return d
}

// mergeTokens gives both sides one numbering: the unikernel's tokens are
// mapped to the native side's.
func (b *DiffBuilder) mergeTokens() {
	remap := make([]uint32, len(b.uniSide.families))
	for t, f := range b.uniSide.families {
		nt, ok := b.nativeSide.tokens[f]
		if !ok {
			nt = uint32(len(b.nativeSide.families))
			b.nativeSide.tokens[f] = nt
			b.nativeSide.families = append(b.nativeSide.families, f)
		}
		remap[t] = nt
	}
	for i, t := range b.uniTok {
		b.uniTok[i] = remap[t]
	}
	for name, n := range b.uniIgnored {
		b.ignored[name] += n
	}
}

// align aligns the two runs and counts what agrees; it returns where the
// native run was last aligned, and the calls that failed in the unikernel
// where the native one succeeded on the same path.
func (b *DiffBuilder) align(d *Diff) (lastNative int, failed map[string]*Gap) {
	ops := Align(b.nativeTok, b.uniTok)
	d.Timeline = timeline(ops)
	failed = map[string]*Gap{}
	for _, op := range ops {
		switch op.Kind {
		case OpEqual:
			d.Equal += op.N
			lastNative = op.A + op.N
			for i := 0; i < op.N; i++ {
				n, u := b.native.at(op.A+i), b.uni.at(op.B+i)
				if n.Status == trace.StatusOK && u.Status == trace.StatusError && !NotSupported(u.Errno) && samePath(n.Args, u.Args) && !b.fileGap(u) {
					key := u.Name + " " + u.Errno
					v := failed[key]
					if v == nil {
						v = &Gap{Kind: GapFailed, Name: u.Name, Errno: u.Errno, FirstUnikernel: u.Pos, Note: "native: " + n.Ret}
						failed[key] = v
					}
					v.UnikernelCalls++
				}
			}
		case OpDelete:
			d.NativeOnly += op.N
		case OpInsert:
			d.UniOnly += op.N
		}
		if op.Kind != OpEqual && d.First == nil {
			d.First = b.divergence(op)
		}
	}
	return lastNative, failed
}

// unikernelGaps lists what the unikernel said it lacks (missing, not
// supported) and what failed there.
func (b *DiffBuilder) unikernelGaps(d *Diff, failed map[string]*Gap) {
	// Missing and not-supported: every unikernel call that said so.
	byKey := map[string]*Gap{}
	for _, u := range b.uniAll {
		var kind GapKind
		switch {
		case u.Status == trace.StatusUnsupported && (u.Errno == "ENOSYS" || u.Errno == ""):
			kind = GapMissing
		case NotSupported(u.Errno):
			kind = GapNotSupported
		default:
			continue
		}
		key := string(kind) + " " + u.Name
		v := byKey[key]
		if v == nil {
			v = &Gap{Kind: kind, Name: u.Name, Errno: u.Errno, FirstUnikernel: u.Pos, Args: u.Args}
			byKey[key] = v
		}
		v.UnikernelCalls++
	}
	for _, v := range byKey {
		if v.Kind == GapMissing {
			d.Missing = append(d.Missing, *v)
		} else {
			d.NotSupported = append(d.NotSupported, *v)
		}
	}
	for _, v := range failed {
		d.Failed = append(d.Failed, *v)
	}
}

// nativeSides gives each gap its native calls, call sites and class,
// most calls first.
func (b *DiffBuilder) nativeSides(d *Diff) {
	tab := trace.Table(b.arch())
	for _, list := range [][]Gap{d.Missing, d.NotSupported, d.Failed} {
		for i := range list {
			v := &list[i]
			v.Nr = tab.Number(v.Name)
			var sites []DiffEvent
			if st, ok := b.nativeSide.names[v.Name]; ok {
				v.NativeCalls, sites = st.count, st.sites
			}
			if v.NativeCalls == 0 {
				// The native run may use another name of the family.
				for name, st := range b.nativeSide.names {
					if Family(name) == Family(v.Name) {
						v.NativeCalls += st.count
						if len(sites) == 0 {
							sites = st.sites
						}
					}
				}
			}
			seen := map[string]bool{}
			for _, s := range sites {
				if site := s.Site(); !seen[site] {
					seen[site] = true
					v.NativeSites = append(v.NativeSites, site)
				}
			}
			v.Class = b.classOf(v.Name)
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].NativeCalls != list[j].NativeCalls {
				return list[i].NativeCalls > list[j].NativeCalls
			}
			return list[i].Name < list[j].Name
		})
	}
}

// neverReached counts the native calls after the last aligned one that
// the unikernel never made (its writes counted by what was written).
func (b *DiffBuilder) neverReached(d *Diff, lastNative int) []NameCount {
	// The native tail the unikernel never reached.
	counts := map[string]int{}
	for i := lastNative; i < b.native.len(); i++ {
		n := b.native.at(i)
		if unprintable[n.Name] || writeCalls[n.Name] && b.uniWritten[writeFD(&trace.Event{Args: n.Args})] >= b.nativeWritten[writeFD(&trace.Event{Args: n.Args})] {
			continue
		}
		counts[n.Name]++
		d.NeverReachedCalls++
	}
	return sortedCounts(counts)
}

// classOf finds the class of a syscall's first unikernel use. A clone is
// named by the native uses of the same kind (their stacks say what the
// fork is for); the shim prints clone3 (and clone, in some releases)
// without decoding its flags: those take the native run's commonest use.
func (b *DiffBuilder) classOf(name string) string {
	for _, u := range b.uniAll {
		if u.Name != name {
			continue
		}
		ev := trace.Event{Kind: trace.KindSyscall, Name: u.Name, Args: u.Args}
		if name != "clone" && name != "clone3" {
			return Class(&ev)
		}
		decoded := strings.Contains(u.Args, "CLONE_") || strings.Contains(u.Args, "SIGCHLD")
		counts := map[string]int{}
		best := ""
		for _, n := range b.nativeSites(name) {
			ne := trace.Event{Kind: trace.KindSyscall, Name: n.Name, Args: n.Args}
			if decoded && IsForkLike(&ne) != IsForkLike(&ev) {
				continue
			}
			c := n.class()
			counts[c]++
			if best == "" || counts[c] > counts[best] {
				best = c
			}
		}
		if best != "" {
			return best
		}
		return Class(&ev)
	}
	return Family(name)
}

func (b *DiffBuilder) divergence(op Op) *Divergence {
	dv := &Divergence{NativeAt: op.A, UnikernelAt: op.B}
	cut := func(list *chunked, at int) ([]DiffEvent, int) {
		lo := max(0, at-b.context)
		hi := min(list.len(), at+b.context+1)
		mark := at - lo
		if at >= list.len() {
			mark = -1
		}
		var out []DiffEvent
		for i := lo; i < hi; i++ {
			out = append(out, *list.at(i))
		}
		return out, mark
	}
	dv.Native, dv.NativeMark = cut(&b.native, op.A)
	dv.Unikernel, dv.UnikernelMark = cut(&b.uni, op.B)
	return dv
}

func sortedCounts(m map[string]int) []NameCount {
	out := make([]NameCount, 0, len(m))
	for k, v := range m {
		out = append(out, NameCount{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// samePath reports whether two calls name the same path (their first
// quoted string), allowing for either being cut ("…"...); calls without
// one match.
func samePath(a, b string) bool {
	pa, okA := firstQuoted(a)
	pb, okB := firstQuoted(b)
	if !okA || !okB {
		return true
	}
	n := min(len(pa), len(pb))
	return pa[:n] == pb[:n]
}

// firstQuoted is the first quoted argument of a call's text, its escapes
// decoded as strace writes them (\" \\ \n \t \r \v \f \e, \NNN octal,
// \xHH): a path with a quote, a newline or an ESC is that path, not cut
// or dropped. An argument without its closing quote is taken to the end.
func firstQuoted(s string) (string, bool) {
	v, _, ok := quotedAt(s)
	return v, ok
}

// quotedAt decodes the first quoted string of s; rest is what follows its
// closing quote ("" when it has none).
func quotedAt(s string) (val, rest string, ok bool) {
	i := strings.IndexByte(s, '"')
	if i < 0 {
		return "", "", false
	}
	s = s[i+1:]
	if j := strings.IndexAny(s, `"\`); j >= 0 && s[j] == '"' {
		return s[:j], s[j+1:], true // no escape: the common case, no copy
	}
	var b strings.Builder
	for k := 0; k < len(s); k++ {
		c := s[k]
		switch {
		case c == '"':
			return b.String(), s[k+1:], true
		case c != '\\' || k+1 == len(s):
			b.WriteByte(c)
			continue
		}
		k++
		switch e := s[k]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'v':
			b.WriteByte('\v')
		case 'f':
			b.WriteByte('\f')
		case 'e':
			b.WriteByte(0x1b)
		case 'x':
			n, m := 0, 0
			for m < 2 && k+1 < len(s) && isHex(s[k+1]) {
				n = n*16 + hexVal(s[k+1])
				k++
				m++
			}
			if m == 0 {
				b.WriteByte('x')
			} else {
				b.WriteByte(byte(n))
			}
		case '0', '1', '2', '3', '4', '5', '6', '7':
			n := int(e - '0')
			for m := 1; m < 3 && k+1 < len(s) && s[k+1] >= '0' && s[k+1] <= '7'; m++ {
				n = n*8 + int(s[k+1]-'0')
				k++
			}
			b.WriteByte(byte(n))
		default:
			b.WriteByte(e) // \" \\ and the like
		}
	}
	return b.String(), "", true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func hexVal(c byte) int {
	switch {
	case c >= 'a':
		return int(c-'a') + 10
	case c >= 'A':
		return int(c-'A') + 10
	}
	return int(c - '0')
}

// chunked stores events in fixed-size chunks: appending never copies what
// is stored (a million events would otherwise be copied again and again).
type chunked struct {
	chunks [][]DiffEvent
	n      int
}

const chunkSize = 1 << 14

func (c *chunked) add(e DiffEvent) {
	if c.n%chunkSize == 0 {
		c.chunks = append(c.chunks, make([]DiffEvent, 0, chunkSize))
	}
	last := len(c.chunks) - 1
	c.chunks[last] = append(c.chunks[last], e)
	c.n++
}

func (c *chunked) len() int { return c.n }

func (c *chunked) at(i int) *DiffEvent { return &c.chunks[i/chunkSize][i%chunkSize] }

func (b *DiffBuilder) nativeSites(name string) []DiffEvent {
	if st, ok := b.nativeSide.names[name]; ok {
		return st.sites
	}
	return nil
}

// timeline spreads the edit script over TimelineBuckets buckets by
// position in the script (equal runs count once, edits on their side).
func timeline(ops []Op) [][3]int {
	total := 0
	for _, op := range ops {
		total += op.N
	}
	out := make([][3]int, TimelineBuckets)
	if total == 0 {
		return out
	}
	pos := 0
	for _, op := range ops {
		for i := 0; i < op.N; {
			bucket := pos * TimelineBuckets / total
			end := (bucket + 1) * total / TimelineBuckets // first position of the next bucket
			if (end*TimelineBuckets)/total == bucket {
				end++
			}
			n := min(op.N-i, max(1, end-pos))
			out[bucket][op.Kind] += n
			i += n
			pos += n
		}
	}
	return out
}

// fileLookups are calls whose ENOENT says a path is absent.
var fileLookups = map[string]bool{"open": true, "openat": true, "openat2": true, "stat": true, "lstat": true, "newfstatat": true,
	"statx": true, "access": true, "faccessat": true, "faccessat2": true, "readlink": true, "readlinkat": true}

// fileGap reports whether a failing unikernel call is a lookup of a path
// the native run found.
func (b *DiffBuilder) fileGap(u *DiffEvent) bool {
	if !fileLookups[u.Name] || u.Errno != "ENOENT" && u.Errno != "ENOTDIR" {
		return false
	}
	if u.Path() == "" {
		return false
	}
	use := b.nativeFiles.Use(u.Path())
	return use != nil && use.Found
}

// fileGaps lists, once per path, the unikernel lookups that failed on
// paths the native run found.
func (b *DiffBuilder) fileGaps() []FileGap {
	by := map[string]*FileGap{}
	var order []string
	for i := range b.uniAll {
		u := &b.uniAll[i]
		if !b.fileGap(u) {
			continue
		}
		p := u.Path()
		g := by[p]
		if g == nil {
			g = &FileGap{Path: p, Kernel: kernelFile(p), NativeCall: b.nativeFiles.Use(p).Call, Errno: u.Errno, FirstUnikernel: u.Pos}
			by[p] = g
			order = append(order, p)
		}
		g.Calls++
	}
	out := make([]FileGap, 0, len(order))
	for _, p := range order {
		out = append(out, *by[p])
	}
	return out
}

// kernelFile: a path of the kernel's own file systems.
func kernelFile(p string) bool {
	for _, pre := range []string{"/proc/", "/sys/", "/dev/"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// judgeGaps has the judge give each missing and not-supported
// syscall its impact; without a judge every one blocks.
func (b *DiffBuilder) judgeGaps(d *Diff) {
	for _, list := range [][]Gap{d.Missing, d.NotSupported} {
		for i := range list {
			v := &list[i]
			if b.judge == nil {
				v.Impact, v.ImpactWhy = Blocks, "no judge"
				continue
			}
			// Entries keyed on arguments match the failing call or any
			// native use of the syscall (the shim prints some calls
			// undecoded).
			args := v.Args
			for _, site := range b.nativeSites(v.Name) {
				args += " | " + site.Args
			}
			// The run stopped right after this call failed: a crash, a
			// fatal error, a panic (not an idle console or the workload's
			// end, after which the app may just have been done).
			failedThere := b.lastUni.Name == v.Name && b.lastUni.Status != trace.StatusOK && stoppedByFailure(d.Ended)
			app := path.Base(strings.TrimSuffix(AppName(b.nativeHeader, b.nativeName), " (unikernel)"))
			if b.filter != nil && b.filter.App() != "" {
				app = b.filter.App()
			}
			key := v.Name
			if IsForkLike(&trace.Event{Kind: trace.KindSyscall, Name: v.Name, Args: v.Args}) && (v.Name == "clone" || v.Name == "clone3") {
				key += " (fork)"
			}
			j := b.judge.Impact(Use{App: app, Name: v.Name, Key: key, Args: args, Calls: v.NativeCalls, ShutdownCalls: b.shutdownCalls[v.Name], FailedThere: failedThere, SeenFailing: v.UnikernelCalls > 0, Runtimes: b.runtimes.Found})
			v.Impact, v.ImpactWhy, v.Evidence = j.Impact, j.Why, j.Evidence
			v.Closure = b.judge.Closure(b.arch(), key, v.Name, args)
		}
	}
}

// arch is the architecture of the runs compared: the native trace's
// header says it (x86_64 when it does not).
func (b *DiffBuilder) arch() trace.Arch {
	if b.nativeHeader.Arch != "" {
		return b.nativeHeader.Arch
	}
	return trace.ArchX86_64
}

// stoppedByFailure: an end that means the guest could not go on.
func stoppedByFailure(ended string) bool {
	switch ended {
	case "guest stopped after a fatal error", "guest panicked (pvpanic)", "crash", "qemu failed":
		return true
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

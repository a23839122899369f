package analyze

import (
	"fmt"
	"path/filepath"
	"sort"
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
}

func diffEvent(ev *trace.Event) DiffEvent {
	d := DiffEvent{Name: ev.Name, Args: ev.Args, Ret: ev.Ret, Errno: ev.Errno, Status: ev.Status, PID: ev.PID, TID: ev.TID, Pos: ev.Pos}
	if f := appFrame(ev.Stack); f != nil {
		fc := *f
		d.Frame = &fc
	}
	return d
}

// Site prints where the call was made: its app frame, else its input line.
func (d DiffEvent) Site() string {
	if d.Frame != nil && d.Frame.Func != "" {
		return fmt.Sprintf("%s (%s)", d.Frame.Func, filepath.Base(d.Frame.Object))
	}
	return fmt.Sprintf("%s:%d", filepath.Base(d.Pos.File), d.Pos.Line)
}

// VerdictKind sorts what the unikernel did wrong.
type VerdictKind string

const (
	VerdictMissing      VerdictKind = "missing"       // ENOSYS or "not available"
	VerdictNotSupported VerdictKind = "not supported" // EOPNOTSUPP, EAFNOSUPPORT, ...
	VerdictFailed       VerdictKind = "failed"        // another error where the native call succeeded
)

// Verdict is one syscall the unikernel lacks or fails.
type Verdict struct {
	Kind  VerdictKind
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
	Note           string
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
	// Lengths of the aligned sequences (after ignoring), and what the
	// alignment found.
	NativeLen, UnikernelLen       int
	Equal, NativeOnly, UniOnly    int
	Ignored                       []NameCount
	First                         *Divergence
	Missing, NotSupported, Failed []Verdict
	// NeverReached are the native calls after the unikernel's last match.
	NeverReached      []NameCount
	NeverReachedCalls int
	ForkChildren      []ForkChild
	// Ended is how the unikernel run ended (from its header or its
	// console); EndDetail more.
	Ended, EndDetail string
	// Timeline is the alignment in TimelineBuckets buckets along the
	// edit script: per bucket, how many equal, native-only and
	// unikernel-only events (for a chart of where the runs part).
	Timeline [][3]int
}

// TimelineBuckets is the resolution of Diff.Timeline.
const TimelineBuckets = 200

// Lacks reports whether the unikernel lacks syscalls the app needs.
func (d *Diff) Lacks() bool { return len(d.Missing) > 0 || len(d.NotSupported) > 0 }

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
	uniAll     []DiffEvent    // syscalls with failures, for verdicts
	ignored    map[string]int // native side
	uniIgnored map[string]int
	lastCrit   string
	uniHeader  trace.Header
	nativeName string
	uniName    string
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
		nativeSide: newSide(), uniSide: newSide()}
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

// AddNative adds an event of the native run.
func (b *DiffBuilder) AddNative(ev *trace.Event) {
	if ev.Kind != trace.KindSyscall {
		return
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
	if st.ignored {
		b.ignored[ev.Name]++
		return
	}
	b.native.add(diffEvent(ev))
	b.nativeTok = append(b.nativeTok, st.tok)
}

// AddUnikernel adds an event of the unikernel run.
func (b *DiffBuilder) AddUnikernel(ev *trace.Event) {
	if ev.Kind == trace.KindMessage && ev.Level == "crit" {
		b.lastCrit = ev.Text
	}
	if ev.Kind != trace.KindSyscall {
		return
	}
	de := diffEvent(ev)
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

// Diff aligns the runs and gives the verdicts.
func (b *DiffBuilder) Diff() *Diff {
	d := &Diff{NativeSource: b.nativeName, UnikernelSource: b.uniName, Unikraft: b.uniHeader.Unikraft,
		NativeLen: b.native.len(), UnikernelLen: b.uni.len(), Ended: b.uniHeader.Ended, EndDetail: b.uniHeader.EndDetail}
	// One numbering for both sides: the unikernel's tokens are mapped to
	// the native side's.
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
	ops := Align(b.nativeTok, b.uniTok)
	d.Timeline = timeline(ops)
	lastNative := 0
	failed := map[string]*Verdict{}
	for _, op := range ops {
		switch op.Kind {
		case OpEqual:
			d.Equal += op.N
			lastNative = op.A + op.N
			for i := 0; i < op.N; i++ {
				n, u := b.native.at(op.A+i), b.uni.at(op.B+i)
				if n.Status == trace.StatusOK && u.Status == trace.StatusError && !NotSupported(u.Errno) && samePath(n.Args, u.Args) {
					key := u.Name + " " + u.Errno
					v := failed[key]
					if v == nil {
						v = &Verdict{Kind: VerdictFailed, Name: u.Name, Errno: u.Errno, FirstUnikernel: u.Pos, Note: "native: " + n.Ret}
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
	// Missing and not-supported: every unikernel call that said so.
	byKey := map[string]*Verdict{}
	for _, u := range b.uniAll {
		var kind VerdictKind
		switch {
		case u.Status == trace.StatusUnsupported && (u.Errno == "ENOSYS" || u.Errno == ""):
			kind = VerdictMissing
		case NotSupported(u.Errno):
			kind = VerdictNotSupported
		default:
			continue
		}
		key := string(kind) + " " + u.Name
		v := byKey[key]
		if v == nil {
			v = &Verdict{Kind: kind, Name: u.Name, Errno: u.Errno, FirstUnikernel: u.Pos}
			byKey[key] = v
		}
		v.UnikernelCalls++
	}
	for _, v := range byKey {
		if v.Kind == VerdictMissing {
			d.Missing = append(d.Missing, *v)
		} else {
			d.NotSupported = append(d.NotSupported, *v)
		}
	}
	for _, v := range failed {
		d.Failed = append(d.Failed, *v)
	}
	tab := trace.Table(trace.ArchX86_64)
	for _, list := range [][]Verdict{d.Missing, d.NotSupported, d.Failed} {
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
	// The native tail the unikernel never reached.
	counts := map[string]int{}
	for i := lastNative; i < b.native.len(); i++ {
		counts[b.native.at(i).Name]++
		d.NeverReachedCalls++
	}
	d.NeverReached = sortedCounts(counts)
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

// classOf finds the class of a syscall's first unikernel use.
func (b *DiffBuilder) classOf(name string) string {
	for _, u := range b.uniAll {
		if u.Name == name {
			ev := trace.Event{Kind: trace.KindSyscall, Name: u.Name, Args: u.Args}
			if name == "clone" || name == "clone3" {
				// The unikernel prints clone flags its own way: look at
				// the native fork, if any.
				for _, n := range b.nativeSites(name) {
					ne := trace.Event{Kind: trace.KindSyscall, Name: n.Name, Args: n.Args}
					if IsForkLike(&ne) {
						return Class(&ne)
					}
				}
			}
			return Class(&ev)
		}
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

func firstQuoted(s string) (string, bool) {
	i := strings.IndexByte(s, '"')
	if i < 0 {
		return "", false
	}
	j := strings.IndexByte(s[i+1:], '"')
	if j < 0 {
		return s[i+1:], true
	}
	return s[i+1 : i+1+j], true
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

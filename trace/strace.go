package trace

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// straceReader reads the text strace prints, in every variant syscov knows:
// -f with a "PID  " prefix (-o FILE) or a "[pid N] " prefix (stderr), -Y
// command names ("PID<comm>"), -t/-tt/-ttt/-r timestamps, -n syscall numbers,
// -T durations, -y/-yy decorations, -X, -k stack frames, unfinished/resumed
// pairs, signals, exits and the -C summary table at the end.
type straceReader struct {
	textReader
	straceTail
	tab *SyscallTable
	pid int // pid of lines without one (-ff files, no -f)

	held    *Event // a completed syscall or signal that -k frames may still follow
	heldBuf Event  // storage of held
	// afterHeld are exits of held's process: strace -k prints the stack of
	// a process's last syscall after its "+++ exited" line.
	afterHeld []Event
	// noReturn holds a call that printed "= ?" (exit, exit_group, a call
	// cut short by them) until its process's "+++" line, after which strace
	// -k prints that call's stack.
	noReturn map[int]Event
	pending  map[int]*pendingCall // unfinished syscalls by pid
	// pendingSeq orders unfinished calls by start, to flush them in input
	// order at the end.
	pendingSeq int

	relTime int64 // -r: running sum of deltas
	inTable bool  // inside a -C/-c summary table

	// The logical line being parsed: its text (the input line, or input
	// lines joined) and the input line it starts on.
	cur   []byte
	curAt int
	// open is set by finishCall when the argument list of cur does not
	// close: the line may go on on the next input line (stderr output:
	// the program's own output or a note of strace cut it). openArgs is
	// where the arguments start in cur, openStart the depth they start
	// with, openDepth the depth at the end.
	open                           bool
	openArgs, openStart, openDepth int
	// partial is an open line waiting for the rest: it started on input
	// line partialAt, spans partialN lines and ends at depth partialDepth.
	partial                           []byte
	partialAt, partialN, partialDepth int
	joinBuf                           []byte

	names    map[string]nameInfo
	arena    stringArena
	sawExecv bool
	// abi holds the processes that strace said run in another mode than
	// the trace's ("[ Process PID=N runs in 32 bit mode. ]").
	abi map[int]Arch
}

// tail of the input: see emitTail.
type straceTail struct {
	tailNoReturn []Event
	tailPending  []*pendingCall
}

type pendingCall struct {
	ev    Event
	depth int // brackets left open by the unfinished part
	seq   int
	// moved: an execve of another thread that now waits under the pid
	// it took over (see parseExit).
	moved bool
}

func newStraceReader(lr *lineReader, pid int, opts Options) *straceReader {
	r := &straceReader{
		textReader: textReader{lr: lr, opts: opts,
			hdr: Header{Origin: opts.Origin.String(), Arch: opts.Arch, Tool: "strace", Source: lr.name}},
		tab:      Table(opts.Arch),
		pid:      pid,
		pending:  map[int]*pendingCall{},
		noReturn: map[int]Event{},
		names:    map[string]nameInfo{},
	}
	r.parse = r.feed
	r.finish = func() {
		if r.partialAt > 0 {
			r.warnLine(r.partialAt, "unterminated argument list (the input ends)", r.partial)
			r.clearPartial()
		}
		r.flushHeld()
		r.flushNoReturn()
		r.flushPending()
	}
	return r
}

// feed handles one input line. A line whose argument list does not close
// is kept and joined with the lines that follow until it closes: on stderr
// the traced program's own output ("write(2, \"a\nb\", 3a" then "b) = 3")
// and strace's notes ("clone3({...}strace: Process 7 attached", "nanosleep(
// strace: umoven: short read (8 < 16) @0x7f…") cut strace's lines.
func (r *straceReader) feed(line []byte) {
	if r.partialAt > 0 {
		if noteIndex(line, 0) == 0 {
			// A note of strace on a line of its own, while the line it
			// cut waits for its rest.
			r.note(line, r.lr.lineNo)
			return
		}
		_, depth, state := scanArgs(line, r.partialDepth)
		if state != argsOpen {
			r.joinBuf = append(append(r.joinBuf[:0], r.partial...), line...)
			at := r.partialAt
			r.clearPartial()
			r.parseLogical(r.joinBuf, at)
			return
		}
		if !looksLikeRecord(line) {
			// Output of the program that ended with a newline: the
			// line goes on.
			if i := noteIndex(line, 0); i >= 0 {
				r.note(line[i:], r.lr.lineNo)
				line = line[:i]
				_, depth, _ = scanArgs(line, r.partialDepth)
			}
			r.partial = append(r.partial, line...)
			r.partialDepth = depth
			r.partialN++
			if r.partialN > maxJoined || len(r.partial) > maxLine {
				r.warnLine(r.partialAt, fmt.Sprintf("unterminated argument list (not closed in %d lines)", r.partialN), r.partial)
				r.clearPartial()
			}
			return
		}
		// A record of its own: the line before it was cut for good.
		r.warnLine(r.partialAt, "unterminated argument list (the next line starts a new record)", r.partial)
		r.clearPartial()
	}
	r.parseLogical(line, r.lr.lineNo)
}

// maxJoined is how many input lines one logical line may span.
const maxJoined = 256

func (r *straceReader) clearPartial() {
	r.partial, r.partialAt, r.partialN, r.partialDepth = r.partial[:0], 0, 0, 0
}

// parseLogical parses one logical line that starts on input line at, and
// keeps it for its rest when its argument list stays open.
func (r *straceReader) parseLogical(line []byte, at int) {
	r.cur, r.curAt, r.open = line, at, false
	r.parseLine(line)
	if !r.open {
		return
	}
	r.open = false
	end, depth := len(line), r.openDepth
	if i := noteIndex(line, r.openArgs); i >= 0 {
		r.note(line[i:], at)
		end = i
		_, depth, _ = scanArgs(line[r.openArgs:end], r.openStart)
	}
	r.partial = append(r.partial[:0], line[:end]...)
	r.partialAt, r.partialN, r.partialDepth = at, 1, depth
}

// note emits a note of strace ("strace: Process 7 attached").
func (r *straceReader) note(s []byte, at int) {
	r.flushHeld()
	if i := bytes.Index(s, []byte("strace: ")); i >= 0 {
		s = s[i+8:]
	}
	ev := Event{Kind: KindMessage, Origin: r.opts.Origin, Nr: -1, Time: NoTime, Duration: -1, Pos: Pos{r.lr.name, at},
		Level: "info", Library: "strace", Text: string(s)}
	r.emit(ev)
}

// noteIndex finds "strace: " in s from index from on, outside quoted
// strings: where a note of strace cut a line. -1 when there is none.
func noteIndex(s []byte, from int) int {
	at := bytes.Index(s[from:], []byte("strace: "))
	if at < 0 {
		return -1
	}
	at += from
	at = notePath(s, from, at)
	for i := from; i < at; i++ {
		if s[i] == '"' {
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
			if i >= at {
				// The candidate is inside this string: look further.
				if i+1 >= len(s) {
					return -1
				}
				return noteIndex(s, i+1)
			}
		}
	}
	return at
}

// notePath moves at, the index of "strace: " in s, back to the start of
// the path strace was run by: its notes begin with the name it was
// invoked as ("/usr/bin/strace: Process 7 attached"). A path starts at
// the first '/' of a run of path segments, or at "./" or "../".
func notePath(s []byte, from, at int) int {
	start := at
	for start > from && s[start-1] == '/' {
		slash := start - 1
		m := slash
		for m > from && s[m-1] != '/' && isPathByte(s[m-1]) {
			m--
		}
		seg := s[m:slash]
		switch {
		case m > from && s[m-1] == '/':
			start = m // "/usr/bin/": a segment more
		case len(seg) > 0 && (string(seg) == "." || string(seg) == ".."):
			return m
		default:
			// The path starts at this '/': what stands before it
			// ("flags=SIGCHLD/usr/bin/strace: ") is the cut line's.
			return slash
		}
	}
	return start
}

func isPathByte(c byte) bool {
	return isNameByte(c) && c != '?' || c == '.' || c == '-' || c == '+' || c == '~'
}

// looksLikeRecord reports whether an input line starts a record of strace
// of its own: an optional pid and timestamp, then a call, a resumed call,
// a signal, an exit or a note.
func looksLikeRecord(s []byte) bool {
	s = trimLeftSpace(s)
	if bytes.HasPrefix(s, []byte("[pid ")) {
		return true
	}
	for n := 0; n < 2 && len(s) > 0 && isDigit(s[0]); n++ {
		// A pid ("1234", "1234<comm>") or a timestamp ("18:41:35.92",
		// "1764188764.123"), not a value ("0x7f21…,").
		sp := bytes.IndexByte(s, ' ')
		if sp < 0 {
			return false
		}
		tok := s[:sp]
		if lt := bytes.IndexByte(tok, '<'); lt > 0 && tok[len(tok)-1] == '>' {
			tok = tok[:lt]
		}
		for _, c := range tok {
			if !isDigit(c) && c != '.' && c != ':' {
				return false
			}
		}
		s = trimLeftSpace(s[sp:])
	}
	if len(s) > 0 && (s[0] == '/' || s[0] == '.') && noteIndex(s, 0) == 0 {
		return true
	}
	for _, p := range [][]byte{[]byte("<... "), []byte("+++ "), []byte("--- "), []byte("strace: "), []byte("[ Process PID=")} {
		if bytes.HasPrefix(s, p) {
			return true
		}
	}
	i := 0
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	return i > 0 && i < len(s) && s[i] == '('
}

// warn reports the current logical line as malformed, quoting its start.
func (r *straceReader) warn(line int, msg string) { r.warnText(line, msg, r.cur) }

// warnLine warns about a logical line other than the current one.
func (r *straceReader) warnLine(line int, msg string, text []byte) { r.warnText(line, msg, text) }

func (r *straceReader) flushHeld() {
	if r.held != nil {
		r.emit(*r.held)
		r.held = nil
	}
	for _, ev := range r.afterHeld {
		r.emit(ev)
	}
	r.afterHeld = r.afterHeld[:0]
}

func (r *straceReader) hold(ev Event) {
	r.flushHeld()
	r.heldBuf = ev
	r.held = &r.heldBuf
}

// flushNoReturn and flushPending hand out, at the end of the input, the
// calls that never returned and those left unfinished, each in input
// order: sorted once, then emitted in batches as the reader is scanned.
func (r *straceReader) flushNoReturn() {
	evs := make([]Event, 0, len(r.noReturn))
	for _, ev := range r.noReturn {
		evs = append(evs, ev)
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].Pos.Line < evs[j].Pos.Line })
	clear(r.noReturn)
	r.tailNoReturn = evs
}

func (r *straceReader) flushPending() {
	pcs := make([]*pendingCall, 0, len(r.pending))
	for _, pc := range r.pending {
		pcs = append(pcs, pc)
	}
	sort.Slice(pcs, func(i, j int) bool { return pcs[i].seq < pcs[j].seq })
	clear(r.pending)
	r.tailPending = pcs
	r.more = r.emitTail
}

// emitTail emits the next batch of what the end of input left.
func (r *straceReader) emitTail() bool {
	const batch = 1024
	n := 0
	for len(r.tailNoReturn) > 0 && n < batch {
		r.emit(r.tailNoReturn[0])
		r.tailNoReturn[0] = Event{}
		r.tailNoReturn = r.tailNoReturn[1:]
		n++
	}
	for len(r.tailPending) > 0 && n < batch {
		pc := r.tailPending[0]
		r.tailPending[0] = nil
		r.tailPending = r.tailPending[1:]
		pc.ev.Status = StatusUnfinished
		r.emit(pc.ev)
		n++
	}
	return n > 0
}

func (r *straceReader) flushPendingOf(pid int) {
	if pc, ok := r.pending[pid]; ok {
		delete(r.pending, pid)
		pc.ev.Status = StatusUnfinished
		r.emit(pc.ev)
	}
}

// nameInfo is an interned name and, for syscall names, the number. i386
// is set for a name only the i386 ABI of an x86_64 process has
// ("getgid32", "_llseek"): strace -o writes no "[ Process PID=N runs in 32
// bit mode. ]" note, the name alone tells.
type nameInfo struct {
	s    string
	nr   int32 // small: the reader looks a name up per line
	i386 bool
}

// numberedName reads the number of a call strace has no name for:
// "syscall_0x1c3" is 451.
func numberedName(b []byte) (int, bool) {
	hex, ok := bytes.CutPrefix(b, []byte("syscall_0x"))
	if !ok || len(hex) == 0 || len(hex) > 8 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(hex), 16, 32)
	return int(n), err == nil
}

// lookup interns b and returns its syscall number in the reader's table.
func (r *straceReader) lookup(b []byte) nameInfo {
	if ni, ok := r.names[string(b)]; ok {
		return ni
	}
	ni := nameInfo{s: string(b), nr: int32(r.tab.Number(string(b)))}
	if n, ok := numberedName(b); ok && ni.nr < 0 {
		ni.nr = int32(n)
	}
	if ni.nr < 0 && r.tab.Arch == ArchX86_64 {
		if nr := Table(ArchI386).Number(ni.s); nr >= 0 {
			ni.nr, ni.i386 = int32(nr), true
		}
	}
	if len(r.names) < 4096 {
		r.names[ni.s] = ni
	}
	return ni
}

func (r *straceReader) intern(b []byte) string { return r.lookup(b).s }

// parseLine parses one logical line.
func (r *straceReader) parseLine(line []byte) {
	lineNo := r.curAt
	if len(line) == 0 {
		return
	}
	// -k stack frame: " > /lib/libc.so.6(func+0x1f) [0x1234]".
	if line[0] == ' ' && bytes.HasPrefix(line, []byte(" > ")) {
		r.parseFrame(line[3:], lineNo)
		return
	}
	if r.inTable || (line[0] == '%' || line[0] == '-' || line[0] == 'S') && isSummaryLine(line) {
		r.inTable = true
		return
	}
	s := line
	ev := Event{Kind: KindSyscall, Origin: r.opts.Origin, Nr: -1, Time: NoTime, Duration: -1, Pos: Pos{r.lr.name, lineNo}}
	pid := r.pid

	// Prefix: "[pid N] ", "N ", "N<comm> ", then a timestamp, then "[NR] ".
	s = trimLeftSpace(s)
	if len(s) > 0 && s[0] == '[' && bytes.HasPrefix(s, []byte("[pid ")) {
		s = trimLeftSpace(s[5:])
		n, rest, ok := parseUint(s)
		if !ok {
			r.warn(lineNo, "malformed [pid N] prefix")
			return
		}
		pid, s = int(n), rest
		if len(s) > 0 && s[0] == '<' {
			comm, rest, ok := cutBracket(s, '<', '>')
			if ok {
				ev.Comm, s = r.intern(comm), rest
			}
		}
		if len(s) == 0 || s[0] != ']' {
			r.warn(lineNo, "malformed [pid N] prefix")
			return
		}
		s = trimLeftSpace(s[1:])
	}
	if len(s) > 0 && isDigit(s[0]) {
		n, rest, _ := parseUint(s)
		switch {
		case len(rest) > 0 && (rest[0] == '.' || rest[0] == ':'):
			// A timestamp without a pid prefix.
		case len(rest) > 0 && rest[0] == '<':
			comm, rest2, ok := cutBracket(rest, '<', '>')
			if !ok {
				r.warn(lineNo, "malformed PID<comm> prefix")
				return
			}
			pid, ev.Comm, s = int(n), r.intern(comm), trimLeftSpace(rest2)
		case len(rest) > 0 && rest[0] == ' ':
			pid, s = int(n), trimLeftSpace(rest)
		default:
			r.warn(lineNo, "expected a pid, timestamp or syscall")
			return
		}
	}
	if len(s) > 0 && isDigit(s[0]) {
		t, rest, ok := r.parseTime(s)
		if !ok {
			r.warn(lineNo, "malformed timestamp")
			return
		}
		ev.Time, s = t, trimLeftSpace(rest)
	}
	if len(s) > 1 && s[0] == '[' && s[1] == ' ' && bytes.HasPrefix(s, []byte("[ Process PID=")) {
		ev.PID, ev.TID = pid, pid
		r.parsePersonality(ev, s)
		return
	}
	if len(s) > 1 && s[0] == '[' && (s[1] == ' ' || isDigit(s[1])) {
		end := bytes.IndexByte(s, ']')
		if end < 0 {
			r.warn(lineNo, "malformed [NR] prefix")
			return
		}
		n, err := strconv.Atoi(string(bytes.TrimSpace(s[1:end])))
		if err != nil {
			r.warn(lineNo, "malformed [NR] prefix")
			return
		}
		ev.Nr, s = n, trimLeftSpace(s[end+1:])
	}
	ev.PID, ev.TID = pid, pid

	switch {
	case len(s) == 0:
		r.warn(lineNo, "a prefix without a syscall")
	case (s[0] == '/' || s[0] == '.') && noteIndex(s, 0) == 0:
		// "/usr/bin/strace: Process 7 attached"
		r.note(s, lineNo)
	case isNameByte(s[0]) && s[0] != 's':
		r.parseCall(ev, s)
	case bytes.HasPrefix(s, []byte("--- ")):
		r.parseSignal(ev, s)
	case bytes.HasPrefix(s, []byte("+++ ")):
		r.parseExit(ev, s)
	case bytes.HasPrefix(s, []byte("<... ")):
		r.parseResumed(ev, s)
	case bytes.HasPrefix(s, []byte("strace: ")):
		r.flushHeld()
		ev.Kind, ev.Nr, ev.Level, ev.Library, ev.Text = KindMessage, -1, "info", "strace", string(s[8:])
		r.emit(ev)
	default:
		r.parseCall(ev, s)
	}
}

// parsePersonality reads "[ Process PID=N runs in 32 bit mode. ]": the
// calls of N that follow are of another ABI (int $0x80 from a 64-bit
// process), until "runs in 64 bit mode".
func (r *straceReader) parsePersonality(ev Event, s []byte) {
	body, ok := bytes.CutSuffix(s, []byte(" mode. ]"))
	rest, ok2 := bytes.CutPrefix(body, []byte("[ Process PID="))
	_, mode, ok3 := parseUint(rest)
	mode, ok4 := bytes.CutPrefix(mode, []byte(" runs in "))
	if !ok || !ok2 || !ok3 || !ok4 {
		r.warn(ev.Pos.Line, "malformed [ Process PID=N runs in ... mode. ] line")
		return
	}
	var abi Arch
	switch string(mode) {
	case "64 bit":
	case "32 bit":
		abi = ArchI386
	case "x32":
		abi = ArchX32
	default:
		r.warn(ev.Pos.Line, "unknown mode "+strconv.Quote(string(mode))+" of a process")
		return
	}
	// Keyed as the calls are: by the pid of the line's prefix (none on
	// stderr with one process traced), which strace prints for the same
	// process.
	pid := ev.PID
	if abi == "" || abi == r.opts.Arch {
		delete(r.abi, pid)
	} else {
		if r.abi == nil {
			r.abi = map[int]Arch{}
		}
		r.abi[pid] = abi
	}
	r.flushHeld()
	ev.Kind, ev.Nr, ev.Level, ev.Library, ev.Text = KindMessage, -1, "info", "strace", string(s[2:len(s)-2])
	r.emit(ev)
}

// isSummaryLine recognises the table strace -c/-C prints.
func isSummaryLine(line []byte) bool {
	return bytes.HasPrefix(line, []byte("% time ")) || bytes.HasPrefix(line, []byte("------ ")) ||
		bytes.HasPrefix(line, []byte("System call usage summary"))
}

func (r *straceReader) parseTime(s []byte) (int64, []byte, bool) {
	n, rest, ok := parseUint(s)
	if !ok {
		return 0, s, false
	}
	if len(rest) > 0 && rest[0] == ':' { // -t / -tt: HH:MM:SS[.frac]
		m, rest2, ok1 := parseUint(rest[1:])
		if !ok1 || len(rest2) == 0 || rest2[0] != ':' {
			return 0, s, false
		}
		sec, rest3, ok2 := parseUint(rest2[1:])
		if !ok2 {
			return 0, s, false
		}
		t := int64(n)*3600e9 + int64(m)*60e9 + int64(sec)*1e9
		frac, rest4 := parseFrac(rest3)
		return t + frac, rest4, true
	}
	frac, rest2 := parseFrac(rest)
	t := int64(n)*1e9 + frac
	if n < 1e8 { // -r: a delta to the previous line
		r.relTime += t
		return r.relTime, rest2, true
	}
	return t, rest2, true
}

// parseFrac reads ".123456" into nanoseconds.
func parseFrac(s []byte) (int64, []byte) {
	if len(s) == 0 || s[0] != '.' {
		return 0, s
	}
	var ns int64
	digits := 0
	i := 1
	for ; i < len(s) && isDigit(s[i]); i++ {
		if digits < 9 {
			ns = ns*10 + int64(s[i]-'0')
			digits++
		}
	}
	for ; digits < 9; digits++ {
		ns *= 10
	}
	return ns, s[i:]
}

func (r *straceReader) parseFrame(s []byte, lineNo int) {
	if r.held == nil {
		r.warn(lineNo, "stack frame without a preceding syscall")
		return
	}
	r.held.Stack = append(r.held.Stack, parseFrame(s))
}

// parseFrame reads "/path/obj(func+0x7b) [0x1234]", "/path/obj() [0x1234]",
// "/path/obj(+0x1234) [0x1234]" and "unexpected_backtracing_error [0x1234]".
func parseFrame(s []byte) Frame {
	var f Frame
	if i := bytes.LastIndex(s, []byte(" [0x")); i >= 0 && bytes.HasSuffix(s, []byte("]")) {
		f.Addr, _ = strconv.ParseUint(string(s[i+4:len(s)-1]), 16, 64)
		s = s[:i]
	}
	open := bytes.IndexByte(s, '(')
	if open < 0 || !bytes.HasSuffix(s, []byte(")")) {
		f.Object = string(s)
		return f
	}
	f.Object = string(s[:open])
	sym := s[open+1 : len(s)-1]
	if plus := bytes.LastIndexByte(sym, '+'); plus >= 0 {
		off := sym[plus+1:]
		off = bytes.TrimPrefix(off, []byte("0x"))
		f.Offset, _ = strconv.ParseUint(string(off), 16, 64)
		sym = sym[:plus]
	}
	f.Func = Demangle(string(sym))
	return f
}

func (r *straceReader) parseSignal(ev Event, s []byte) {
	r.flushHeld()
	body := bytes.TrimPrefix(s, []byte("--- "))
	body = bytes.TrimSuffix(body, []byte(" ---"))
	ev.Kind, ev.Nr = KindSignal, -1
	// "SIGCHLD {si_signo=...}" or "stopped by SIGSTOP"
	if bytes.HasPrefix(body, []byte("stopped by ")) {
		ev.Signal, ev.Text = r.intern(body[11:]), string(body)
	} else {
		name := body
		if sp := bytes.IndexByte(body, ' '); sp >= 0 {
			name = body[:sp]
			ev.Text = string(bytes.TrimSpace(body[sp+1:]))
		}
		ev.Signal = r.intern(name)
	}
	r.hold(ev)
}

func (r *straceReader) parseExit(ev Event, s []byte) {
	if r.held == nil || r.held.PID != ev.PID || len(r.afterHeld) > 0 {
		r.flushHeld()
	}
	body := bytes.TrimSuffix(bytes.TrimPrefix(s, []byte("+++ ")), []byte(" +++"))
	ev.Kind, ev.Nr = KindExit, -1
	ev.Text = string(body)
	switch {
	case bytes.HasPrefix(body, []byte("exited with ")):
		n, err := strconv.Atoi(string(body[12:]))
		if err != nil {
			r.warn(ev.Pos.Line, "malformed exit status")
			return
		}
		ev.ExitCode = n
	case bytes.HasPrefix(body, []byte("killed by ")):
		sig := body[10:]
		if bytes.HasSuffix(sig, []byte(" (core dumped)")) {
			sig, ev.CoreDumped = sig[:len(sig)-14], true
		}
		ev.Signal = r.intern(sig)
		ev.ExitCode = 128 + signalNumber(ev.Signal)
	case bytes.HasPrefix(body, []byte("superseded by execve")):
		// A thread other than the leader ran execve; the leader's pid
		// continues with the new program: the execve of that thread
		// ("superseded by execve in pid T") resumes under this pid.
		if pc, ok := r.pending[ev.PID]; !ok || !pc.moved {
			r.flushPendingOf(ev.PID)
		}
		if t, _, ok := parseUint(bytes.TrimPrefix(body, []byte("superseded by execve in pid "))); ok && int(t) != ev.PID {
			if pc, ok := r.pending[int(t)]; ok && (pc.ev.Name == "execve" || pc.ev.Name == "execveat") {
				delete(r.pending, int(t))
				if old, ok := r.pending[ev.PID]; ok {
					old.ev.Status = StatusUnfinished
					r.emit(old.ev)
				}
				pc.moved = true
				pc.ev.PID = ev.PID // the thread T is now process ev.PID
				r.pending[ev.PID] = pc
			}
		}
	default:
		r.warn(ev.Pos.Line, "unknown +++ line")
		return
	}
	last, hasLast := r.noReturn[ev.PID]
	if pc, ok := r.pending[ev.PID]; ok && !pc.moved {
		// The call the process was in when it died. strace -k prints
		// the stack of an exec or exit it took on entry after the "+++"
		// line: hold the call for it.
		delete(r.pending, ev.PID)
		pc.ev.Status = StatusUnfinished
		if hasLast {
			r.emit(pc.ev)
		} else {
			r.hold(pc.ev)
		}
	}
	if hasLast {
		delete(r.noReturn, ev.PID)
		r.hold(last)
	}
	if r.held != nil && r.held.PID == ev.PID {
		r.afterHeld = append(r.afterHeld, ev)
		return
	}
	r.emit(ev)
}

// parseCall reads "name(args) = ret", "name(args <unfinished ...>" and
// "name(args <detached ...>".
func (r *straceReader) parseCall(ev Event, s []byte) {
	open := 0
	for open < len(s) && isNameByte(s[open]) {
		open++
	}
	if open == 0 || open >= len(s) || s[open] != '(' {
		if bytes.IndexByte(s, '(') < 0 {
			// No call, signal, exit or note: most often the traced
			// program's own output, on strace's stderr.
			r.warn(ev.Pos.Line, "not a line of strace: no call, signal, exit or note (the program's own output?)")
			return
		}
		r.warn(ev.Pos.Line, "expected a syscall name and '('")
		return
	}
	ni := r.lookup(s[:open])
	ev.Name = ni.s
	switch {
	case len(r.abi) > 0 && r.abi[ev.PID] != "":
		// A call of another ABI: its number is in that ABI's table,
		// when syscov has one (-n gives it too).
		ev.Arch = r.abi[ev.PID]
		if n, ok := numberedName(s[:open]); ok && ev.Nr < 0 {
			ev.Nr = n
		} else if ev.Nr < 0 && ev.Arch == ArchI386 {
			ev.Nr = Table(ArchI386).Number(ev.Name)
		}
	case ni.i386:
		ev.Arch = ArchI386
		if ev.Nr < 0 {
			ev.Nr = int(ni.nr)
		}
	case ev.Nr < 0:
		ev.Nr = int(ni.nr)
	}
	if ev.Name == "execve" || ev.Name == "execveat" {
		r.sawExecv = true
	}
	r.finishCall(ev, s[open+1:], 1, nil)
}

// finishCall scans args from s with depth brackets open, then the result.
// prefix is argument text carried over from an unfinished line.
func (r *straceReader) finishCall(ev Event, s []byte, startDepth int, prefix []byte) {
	end, depth, state := scanArgs(s, startDepth)
	switch state {
	case argsClosed:
		ev.Args = r.joinArgs(prefix, s[:end])
		if !r.parseResult(&ev, s[end+1:]) {
			return
		}
		if ev.Status == StatusUnfinished || ev.Status == StatusUnknown {
			// Calls that never returned, and those whose result strace
			// could not read as the process died: strace -k prints
			// the stack of an exec or exit after the "+++" line.
			if old, ok := r.noReturn[ev.PID]; ok {
				r.emit(old)
			}
			r.noReturn[ev.PID] = ev
			return
		}
		r.hold(ev)
	case argsPidChanged:
		// "execve(...) <pid changed to N ...>": a thread other than the
		// leader ran execve and took over pid N; the call resumes as
		// "N <... execve resumed>", in the same input (-f) or in N's
		// file (-ff).
		n, _, _ := parseUint(s[end+len("<pid changed to "):])
		r.flushPendingOf(ev.PID)
		pc := &pendingCall{ev: ev, depth: depth, seq: r.pendingSeq, moved: true}
		r.pendingSeq++
		pc.ev.Args = r.joinArgs(prefix, bytes.TrimRight(s[:end], " "))
		to := int(n)
		if to == 0 || r.pid != 0 && r.pid == ev.PID {
			to = ev.PID // -ff: N's lines are in another file
		}
		pc.ev.PID = to
		if old, ok := r.pending[to]; ok && old != pc {
			delete(r.pending, to)
			old.ev.Status = StatusUnfinished
			r.emit(old.ev)
		}
		r.pending[to] = pc
	case argsUnfinished, argsDetached:
		args := bytes.TrimRight(s[:end], " ")
		if state == argsDetached {
			r.flushHeld()
			ev.Args = r.joinArgs(prefix, args)
			ev.Status = StatusUnfinished
			r.emit(ev)
			return
		}
		r.flushPendingOf(ev.PID)
		pc := &pendingCall{ev: ev, depth: depth, seq: r.pendingSeq}
		r.pendingSeq++
		pc.ev.Args = r.joinArgs(prefix, args)
		r.pending[ev.PID] = pc
	default:
		// The rest may follow on the next lines: see feed.
		r.open, r.openArgs, r.openStart, r.openDepth = true, len(r.cur)-len(s), startDepth, depth
	}
}

// parseResumed reads "<... name resumed>rest) = ret".
func (r *straceReader) parseResumed(ev Event, s []byte) {
	s = s[5:]
	sp := bytes.Index(s, []byte(" resumed>"))
	if sp <= 0 {
		r.warn(ev.Pos.Line, "malformed <... resumed> line")
		return
	}
	name := s[:sp]
	rest := s[sp+9:]
	pc, ok := r.pending[ev.PID]
	if !ok && r.pid == 0 && ev.PID != 0 {
		// strace on stderr prints no "[pid N]" while it traces one
		// process: a call started unprefixed and resumed as [pid N] tells
		// N, which later unprefixed lines belong to as well.
		if pc0, ok0 := r.pending[0]; ok0 && pc0.ev.Name == string(name) {
			delete(r.pending, 0)
			pc0.ev.PID, pc0.ev.TID = ev.PID, ev.PID
			r.pending[ev.PID] = pc0
			r.pid = ev.PID
			pc, ok = pc0, true
		}
	}
	if ok && pc.ev.Name == string(name) {
		delete(r.pending, ev.PID)
		start := pc.ev
		// The call keeps its start; the resumed line adds the result and
		// may add the duration (-T) and the time it ended.
		r.finishResumed(start, ev, rest, pc.depth)
		if r.open {
			// The resumed line goes on on the next lines: it will
			// be parsed again whole.
			r.pending[ev.PID] = pc
		}
		return
	}
	if ok {
		r.flushPendingOf(ev.PID)
	}
	// The start was not seen (attached late, or lost): keep what there is.
	ni := r.lookup(name)
	ev.Name = ni.s
	if ev.Nr < 0 {
		ev.Nr = int(ni.nr)
	}
	r.finishCall(ev, rest, 1, nil)
}

func (r *straceReader) finishResumed(start, resumed Event, rest []byte, depth int) {
	if start.Time == NoTime {
		start.Time = resumed.Time
	}
	prefix := []byte(start.Args)
	r.finishCall(start, rest, depth, prefix)
}

func (r *straceReader) joinArgs(prefix, s []byte) string {
	if len(prefix) == 0 {
		return r.arena.str(s)
	}
	p := bytes.TrimRight(prefix, " ")
	if len(s) > 0 && s[0] != ' ' && len(p) > 0 && p[len(p)-1] == ',' {
		return string(p) + " " + string(s)
	}
	return string(p) + string(s)
}

type argsState int

const (
	argsOpen argsState = iota
	argsClosed
	argsUnfinished
	argsDetached
	argsPidChanged
)

// scanArgs finds the ')' that closes the argument list, skipping quoted
// strings (with escapes) and nested (), [] and {}. It returns the index of
// that ')', the depth left open, and how the list ended.
func scanArgs(s []byte, depth int) (int, int, argsState) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !argSpecial[c] {
			continue
		}
		switch c {
		case '"':
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
		case '\'':
			// A character literal: '(' ')' '"' '\n' '\x7f'.
			if i+2 < len(s) && s[i+2] == '\'' && s[i+1] != '\\' {
				i += 2
			} else if i+1 < len(s) && s[i+1] == '\\' {
				if end := bytes.IndexByte(s[i+2:min(len(s), i+8)], '\''); end >= 0 {
					i += 2 + end
				}
			}
		case '/':
			// A comment of -X verbose or of a decoder: "/* K(KT_LATIN,
			// '(') */" may hold any bracket or quote.
			if i+1 < len(s) && s[i+1] == '*' {
				if end := commentEnd(s[i:]); end > 0 {
					i += end - 1
				}
			}
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth == 0 && c == ')' {
				return i, 0, argsClosed
			}
			if depth < 1 {
				depth = 1
			}
		case '<':
			rest := s[i:]
			if i+1 < len(s) && s[i+1] == '<' {
				// A shift in a flag value: "1<<CAP_CHOWN",
				// "FUTEX_OP_SET<<28", never a -y decoration.
				i++
				continue
			}
			if i > 0 && (isDigit(s[i-1]) || s[i-1] >= 'A' && s[i-1] <= 'Z') && i+1 < len(s) && s[i+1] != ' ' {
				// -y/-yy decoration "3</etc/passwd>", "AT_FDCWD</tmp>":
				// skip it whole, its path may hold brackets.
				if end := bytes.IndexByte(rest, '>'); end > 0 {
					i += end
					continue
				}
			}
			if bytes.HasPrefix(rest, []byte("<unfinished ...>")) {
				return i, depth, argsUnfinished
			}
			if bytes.HasPrefix(rest, []byte("<detached ...>")) {
				return i, depth, argsDetached
			}
			if bytes.HasPrefix(rest, []byte("<pid changed to ")) && bytes.HasSuffix(rest, []byte(" ...>")) {
				return i, depth, argsPidChanged
			}
		}
	}
	return len(s), depth, argsOpen
}

// commentEnd returns the length of the comment s starts with, "/* … */",
// whose comments may nest ("/* QCMD(0xbadc0d /* Q_??? */, 0xed) */"); 0
// when it does not end.
func commentEnd(s []byte) int {
	depth := 0
	for i := 0; i+1 < len(s); i++ {
		switch {
		case s[i] == '/' && s[i+1] == '*':
			depth++
			i++
		case s[i] == '*' && s[i+1] == '/':
			depth--
			i++
			if depth == 0 {
				return i + 1
			}
		}
	}
	return 0
}

// argSpecial marks the bytes scanArgs stops at.
var argSpecial = func() (t [256]bool) {
	for _, c := range []byte("\"()[]{}<'/") {
		t[c] = true
	}
	return
}()

// parseResult reads what follows the closing ')': " = ret[ (text)][ (INJECTED)][ <dur>]".
func (r *straceReader) parseResult(ev *Event, s []byte) bool {
	s = trimLeftSpace(s)
	if len(s) < 1 || s[0] != '=' {
		r.warn(ev.Pos.Line, "expected '=' and a result after the arguments")
		return false
	}
	s = trimSpace(s[1:])
	// -T: " <0.000012>" at the end.
	if n := len(s); n > 2 && s[n-1] == '>' {
		if lt := bytes.LastIndex(s, []byte(" <")); lt >= 0 && isDuration(s[lt+2:n-1]) {
			ev.Duration = parseDuration(s[lt+2 : n-1])
			s = trimSpace(s[:lt])
		} else if lt := bytes.LastIndexByte(s, '<'); lt == 0 && isDuration(s[1:n-1]) {
			ev.Duration = parseDuration(s[1 : n-1])
			s = nil
		} else if lt := bytes.LastIndexByte(s, '<'); lt >= 0 && n-lt > 2 && s[lt+1] == '-' && isDuration(s[lt+2:n-1]) {
			// A negative -T time: the call is kept, its time unknown.
			r.warn(ev.Pos.Line, "negative duration "+string(s[lt:])+": taken as unknown")
			s = trimSpace(s[:lt])
		}
	}
	if bytes.HasSuffix(s, []byte(" (INJECTED)")) {
		ev.Injected = true
		s = s[:len(s)-11]
	}
	ev.Ret = r.arena.str(s)
	if len(s) == 0 {
		r.warn(ev.Pos.Line, "empty result")
		return false
	}
	if s[0] == '?' {
		// "= ?": the call never returned (exit, execve in another
		// thread); "= ? ERESTARTSYS (...)": interrupted, to be restarted.
		ev.Status = StatusUnfinished
		rest := trimLeftSpace(s[1:])
		switch {
		case len(rest) > 0 && rest[0] == 'E':
			ev.Errno = r.intern(errnoToken(rest))
			ev.Status = StatusError
		case bytes.Equal(rest, []byte("<unavailable>")):
			// "= ? <unavailable>": the call returned, but strace could
			// not read its result (the process was being killed).
			// strace -c counts it.
			ev.Status = StatusUnknown
		}
		return true
	}
	v, rest, ok := parseInt(s)
	if !ok {
		r.warn(ev.Pos.Line, "malformed result "+strconv.Quote(string(s)))
		return false
	}
	ev.RetVal = v
	ev.Status = StatusOK
	rest = trimLeftSpace(rest)
	if len(rest) > 0 && rest[0] == 'E' && (v < 0 || isErrnoText(rest)) {
		// "-1 ENOENT (...)", and the results strace reads as 32-bit
		// errors: "= 4294967258 ENOSYS (Function not implemented)"
		// (modify_ldt returns an unsigned int).
		ev.Errno = r.intern(errnoToken(rest))
		ev.Status = StatusError
		if ev.Errno == "ENOSYS" {
			ev.Status = StatusUnsupported
		}
	} else if v == -1 && bytes.HasPrefix(rest, []byte("(errno ")) { // -e raw / unknown errno
		// "-1 (errno 2)", and errors no libc knows: "-1 (errno
		// 18446744073709551554)" (a stale value of a killed thread)
		// keeps its text as its name.
		n, after, ok := parseUint(rest[7:])
		if name := ErrnoName(int(n)); ok && n < 4096 && name != "" {
			ev.Errno = name
		} else {
			digits := rest[7 : len(rest)-len(after)]
			if !ok {
				digits = errnoDigits(rest[7:])
			}
			ev.Errno = r.intern(append([]byte("errno "), digits...))
		}
		ev.Status = StatusError
	}
	return true
}

// errnoDigits is the run of digits s starts with.
func errnoDigits(s []byte) []byte {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i]
}

// isErrnoText reports whether s is "ENAME (text)": an errno strace printed
// after the value.
func isErrnoText(s []byte) bool {
	tok := errnoToken(s)
	return len(tok) > 1 && (len(tok) == len(s) || bytes.HasPrefix(s[len(tok):], []byte(" (")))
}

func errnoToken(s []byte) []byte {
	i := 0
	for i < len(s) && (s[i] == '_' || isDigit(s[i]) || (s[i] >= 'A' && s[i] <= 'Z')) {
		i++
	}
	return s[:i]
}

func isDuration(s []byte) bool {
	dot := false
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		switch {
		case c == '.' && !dot:
			dot = true
		case !isDigit(c):
			return false
		}
	}
	return dot
}

func parseDuration(s []byte) time.Duration {
	sec, rest, _ := parseUint(s)
	frac, _ := parseFrac(rest)
	return time.Duration(int64(sec)*1e9 + frac)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || isDigit(c) || c == '_' || c >= 'A' && c <= 'Z' || c == '?'
}

func trimLeftSpace(s []byte) []byte {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

func trimSpace(s []byte) []byte {
	s = trimLeftSpace(s)
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// parseUint reads decimal digits.
func parseUint(s []byte) (uint64, []byte, bool) {
	var n uint64
	i := 0
	for ; i < len(s) && isDigit(s[i]); i++ {
		if n > (1<<63)/10 {
			return 0, s, false
		}
		n = n*10 + uint64(s[i]-'0')
	}
	return n, s[i:], i > 0
}

// parseInt reads a decimal (optionally negative) or 0x hex number.
func parseInt(s []byte) (int64, []byte, bool) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		var n uint64
		i := 2
		for ; i < len(s) && i < 18; i++ {
			c := s[i]
			switch {
			case isDigit(c):
				n = n<<4 | uint64(c-'0')
			case c >= 'a' && c <= 'f':
				n = n<<4 | uint64(c-'a'+10)
			case c >= 'A' && c <= 'F':
				n = n<<4 | uint64(c-'A'+10)
			default:
				goto done
			}
		}
	done:
		if i == 2 {
			return 0, s, false
		}
		v := int64(n)
		if neg {
			v = -v
		}
		return v, s[i:], true
	}
	n, rest, ok := parseUint(s)
	if !ok {
		return 0, s, false
	}
	v := int64(n)
	if neg {
		v = -v
	}
	return v, rest, true
}

// cutBracket splits "<inner>rest" into inner and rest.
func cutBracket(s []byte, open, close byte) ([]byte, []byte, bool) {
	if len(s) == 0 || s[0] != open {
		return nil, s, false
	}
	end := bytes.IndexByte(s, close)
	if end < 0 {
		return nil, s, false
	}
	return s[1:end], s[end+1:], true
}

var signalNumbers = map[string]int{
	"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6, "SIGBUS": 7,
	"SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12, "SIGPIPE": 13,
	"SIGALRM": 14, "SIGTERM": 15, "SIGSTKFLT": 16, "SIGCHLD": 17, "SIGCONT": 18, "SIGSTOP": 19,
	"SIGTSTP": 20, "SIGTTIN": 21, "SIGTTOU": 22, "SIGURG": 23, "SIGXCPU": 24, "SIGXFSZ": 25,
	"SIGVTALRM": 26, "SIGPROF": 27, "SIGWINCH": 28, "SIGIO": 29, "SIGPWR": 30, "SIGSYS": 31,
}

// signalNumber returns the Linux number of a signal name (0 when unknown).
func signalNumber(name string) int { return signalNumbers[name] }

// SignalNumber returns the Linux x86_64/aarch64 number of a signal name, 0
// when unknown.
func SignalNumber(name string) int { return signalNumber(name) }

// SignalName returns the name of a Linux signal number, "" when unknown.
func SignalName(n int) string {
	for name, v := range signalNumbers {
		if v == n {
			return name
		}
	}
	return ""
}

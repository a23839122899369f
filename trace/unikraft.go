package trace

import (
	"bytes"
	"strconv"
	"strings"
)

// unikraftReader reads the serial console of a Unikraft unikernel: the
// syscall shim's strace-like lines (lib/syscall_shim/uk_prsyscall.c), the
// kernel log (lib/ukdebug), the boot banner, firmware noise and app
// output. The facts it relies on are collected in shared/unikraft-console.md
// (from the sources of releases 0.10–0.17 and staging of late 2024).
//
// Every syscall becomes a KindSyscall event of the synthetic process
// UnikernelPID; kernel log lines become KindMessage events; anything else
// is KindOutput, app output that is never taken for a syscall.
type unikraftReader struct {
	textReader
	tab   *SyscallTable
	arena stringArena

	// requests are the shim's "Binary system call request" lines not yet
	// matched by a strace-like line: they carry the number.
	requests []ukRequest
	// notes are "not available" and stub messages waiting for the call
	// they speak of.
	notes []ukNote
	// bannerAt is the line of a "Powered by"/"Welcome to" banner head: the
	// version line follows within a few lines.
	bannerAt int
}

type ukRequest struct {
	name string
	nr   int
	args string
	pos  Pos
}

type ukNote struct {
	name   string
	status Status // StatusUnsupported or StatusStubbed
	text   string
}

// FormatUnikraft is a Unikraft serial console log.
const FormatUnikraft Format = "unikraft"

func newUnikraftReader(lr *lineReader, opts Options) *unikraftReader {
	if opts.Origin == 0 || opts.Origin == OriginNative {
		opts.Origin = OriginUnikernel
	}
	r := &unikraftReader{
		textReader: textReader{lr: lr, opts: opts,
			hdr: Header{Origin: OriginUnikernel.String(), Arch: opts.Arch, Tool: "unikraft console", Source: lr.name}},
		tab: Table(opts.Arch),
	}
	r.parse = r.parseLine
	r.finish = func() {
		r.flushRequests(nil)
		r.flushNotes()
	}
	return r
}

func (r *unikraftReader) warn(msg string) { r.warnAt(r.lr.lineNo, msg) }

func (r *unikraftReader) base(kind Kind) Event {
	return Event{Kind: kind, Origin: r.opts.Origin, PID: UnikernelPID, TID: UnikernelPID, Time: NoTime, Nr: -1, Duration: -1, Pos: Pos{r.lr.name, r.lr.lineNo}}
}

// stripANSI removes terminal escape sequences (colours, the firmware's
// clear-screen, a title set by OSC, a charset chosen by ESC ( B) and other
// control characters but tab, whole (ECMA-48): nothing of a sequence is
// left glued to the text after it.
func stripANSI(s []byte) []byte {
	if bytes.IndexByte(s, 0x1b) < 0 && !hasControl(s) {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 0x1b && i+1 < len(s):
			switch n := s[i+1]; {
			case n == '[': // CSI: parameters, then a final byte
				j := i + 2
				for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
					j++
				}
				i = j
			case n == ']' || n == 'P' || n == 'X' || n == '^' || n == '_':
				// OSC, DCS, SOS, PM, APC: a string up to BEL or ESC \
				j := i + 2
				for j < len(s) && s[j] != 0x07 && !(s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\') {
					j++
				}
				if j < len(s) && s[j] == 0x1b {
					j++
				}
				i = j
			default:
				// Intermediate bytes (ESC ( B, ESC # 8), then one final
				// byte (ESC c, ESC =, ESC 7).
				j := i + 1
				for j < len(s) && s[j] >= 0x20 && s[j] <= 0x2f {
					j++
				}
				i = j
			}
		case c < 0x20 && c != '\t':
		default:
			out = append(out, c)
		}
	}
	return out
}

func hasControl(s []byte) bool {
	for _, c := range s {
		if c < 0x20 && c != '\t' {
			return true
		}
	}
	return false
}

var ukLevels = []struct {
	prefix string
	level  string
}{{"dbg:", "dbg"}, {"Info:", "info"}, {"Warn:", "warn"}, {"ERR:", "err"}, {"CRIT:", "crit"}}

func (r *unikraftReader) parseLine(raw []byte) {
	// A bare carriage return (an app's progress line, a console that
	// sends CR alone) starts a new line as a terminal shows it: each part
	// is read, none glued to the next.
	if i := bytes.IndexByte(raw, '\r'); i >= 0 && i < len(bytes.TrimRight(raw, "\r")) {
		for _, part := range bytes.Split(raw, []byte{'\r'}) {
			r.parseLine(part)
		}
		return
	}
	s := stripANSI(raw)
	if len(bytes.TrimSpace(s)) == 0 {
		return
	}
	// Firmware first: qemu -nographic prints SeaBIOS/iPXE, and the guest's
	// first output is glued to "Booting from ROM..".
	if i := bytes.Index(s, []byte("Booting from ROM..")); i >= 0 {
		ev := r.base(KindMessage)
		ev.Level, ev.Library, ev.Text = "info", "firmware", "Booting from ROM.."
		r.emit(ev)
		s = s[i+len("Booting from ROM.."):]
		if len(bytes.TrimSpace(s)) == 0 {
			return
		}
	}
	if bytes.HasPrefix(s, []byte("SeaBIOS ")) || bytes.HasPrefix(s, []byte("iPXE ")) || bytes.HasPrefix(s, []byte("Booting from ")) ||
		bytes.HasPrefix(s, []byte("Press Ctrl-B to configure iPXE")) {
		ev := r.base(KindMessage)
		ev.Level, ev.Library, ev.Text = "info", "firmware", string(bytes.TrimSpace(s))
		r.emit(ev)
		return
	}
	if r.parseKernelLine(s) {
		return
	}
	if r.parseBanner(s) {
		return
	}
	// lib-lwip's interface status lines are the kernel's, not the app's.
	if t := bytes.TrimSpace(s); lwipStatusLine(t) {
		ev := r.base(KindMessage)
		ev.Level, ev.Library, ev.Text = "info", "lwip", string(t)
		r.emit(ev)
		return
	}
	// A line of a host's strace -f ("1234  name(...) = ...", "[pid 1234]
	// name(...)") does not belong in a console: the input mixes formats.
	if hostStraceLine(s) {
		r.warn("a line of host strace output inside a Unikraft console (two inputs in one file?): kept as output, not taken as a unikernel syscall")
		ev := r.base(KindOutput)
		ev.Text = string(s)
		r.emit(ev)
		return
	}
	// A strace-like line, possibly glued to app output before it.
	if at, ok := r.findCall(s); ok {
		if at > 0 {
			ev := r.base(KindOutput)
			ev.Text = string(s[:at])
			r.emit(ev)
		}
		r.parseCall(s[at:])
		return
	}
	ev := r.base(KindOutput)
	ev.Text = string(s)
	r.emit(ev)
}

// parseBanner records the version the boot banner prints: "Powered by
// Unikraft Calypso (0.17.0~62132e5)" (minimal banner), or the codename and
// version right-aligned under the ASCII art of the others.
func (r *unikraftReader) parseBanner(s []byte) bool {
	t := bytes.TrimSpace(s)
	if v, ok := bytes.CutPrefix(t, []byte("Powered by Unikraft ")); ok {
		r.setVersion(string(bytes.TrimSpace(v)))
		ev := r.base(KindMessage)
		ev.Level, ev.Library, ev.Text = "info", "ukboot", string(t)
		r.emit(ev)
		return true
	}
	if bytes.Equal(t, []byte("Powered by")) || bytes.HasPrefix(t, []byte("Welcome to  _")) {
		r.bannerAt = r.lr.lineNo
		return false
	}
	if r.bannerAt > 0 && r.lr.lineNo-r.bannerAt <= 8 && isVersionLine(t) {
		r.bannerAt = 0
		name, ver, _ := bytes.Cut(t, []byte(" "))
		r.setVersion(string(name) + " (" + string(ver) + ")")
		ev := r.base(KindMessage)
		ev.Level, ev.Library, ev.Text = "info", "ukboot", string(t)
		r.emit(ev)
		return true
	}
	return false
}

func (r *unikraftReader) setVersion(v string) {
	if r.hdr.Unikraft == "" {
		r.hdr.Unikraft = v
	}
}

// isVersionLine matches "Calypso 0.17.0~62132e5".
func isVersionLine(t []byte) bool {
	name, ver, ok := bytes.Cut(t, []byte(" "))
	if !ok || len(name) == 0 || name[0] < 'A' || name[0] > 'Z' || len(ver) == 0 || !isDigit(ver[0]) {
		return false
	}
	return bytes.Count(ver, []byte(".")) >= 2 && bytes.IndexByte(ver, ' ') < 0
}

// parseKernelLine reads a lib/ukdebug line:
// [timestamp ]LEVEL [<thread> ][{r:…,f:…} ][[libname] ][<file @ line> ]message
// and the layout of releases ≤ 0.4: LEVEL [lib] file.c @ 85   : message.
func (r *unikraftReader) parseKernelLine(s []byte) bool {
	t := s
	if len(t) > 0 && t[0] == '[' {
		end := bytes.IndexByte(t, ']')
		if end < 0 || !isTimestamp(bytes.TrimSpace(t[1:end])) {
			return false
		}
		t = trimLeftSpace(t[end+1:])
	}
	level := ""
	for _, l := range ukLevels {
		if bytes.HasPrefix(t, []byte(l.prefix)) {
			level, t = l.level, trimLeftSpace(t[len(l.prefix):])
			break
		}
	}
	if level == "" {
		return false
	}
	ev := r.base(KindMessage)
	ev.Level = level
	// libukprint (lib/ukprint/print.c, print_thread and print_caller):
	// "<name> ", "<0x…> " or "<<n/a>> " when the thread is printed, then
	// "{r:0x…,f:0x…} " when the caller is; the source position
	// "<file @ line> " has " @ " in it.
	if thread, rest, ok := cutThread(t); ok {
		ev.Thread, t = thread, rest
	}
	if bytes.HasPrefix(t, []byte("{r:")) {
		if end := bytes.IndexByte(t, '}'); end > 0 {
			ev.Caller = string(t[1:end])
			t = trimLeftSpace(t[end+1:])
		}
	}
	if len(t) > 0 && t[0] == '[' {
		if end := bytes.IndexByte(t, ']'); end > 0 {
			ev.Library = string(t[1:end])
			t = trimLeftSpace(t[end+1:])
		}
	}
	if len(t) > 0 && t[0] == '<' {
		if end := bytes.IndexByte(t, '>'); end > 0 {
			if file, line, ok := bytes.Cut(t[1:end], []byte(" @ ")); ok {
				ev.SrcFile = string(bytes.TrimSpace(file))
				ev.SrcLine, _ = strconv.Atoi(string(bytes.TrimSpace(line)))
				t = t[end+1:]
				if len(t) > 0 && t[0] == ' ' {
					t = t[1:]
				}
			}
		}
	} else if at := bytes.Index(t, []byte(" @ ")); at > 0 && bytes.IndexByte(t[:at], ' ') < 0 {
		// ≤ 0.4: "file.c @ 85   : message"
		rest := t[at+3:]
		if colon := bytes.Index(rest, []byte(": ")); colon > 0 {
			if n, err := strconv.Atoi(string(bytes.TrimSpace(rest[:colon]))); err == nil {
				ev.SrcFile, ev.SrcLine = string(t[:at]), n
				t = rest[colon+2:]
			}
		}
	}
	// After 0.17 the shim's strace-like lines go through the Info: log
	// path when ukconsole is not used.
	if ev.Library == "libsyscall_shim" {
		if at, ok := r.findCall(t); ok && at == 0 {
			r.parseCall(t)
			return true
		}
	}
	ev.Text = string(bytes.TrimRight(t, " "))
	r.kernelMessage(&ev)
	r.emit(ev)
	return true
}

// cutThread reads libukprint's thread field at the start of t.
func cutThread(t []byte) (string, []byte, bool) {
	if bytes.HasPrefix(t, []byte("<<n/a>> ")) {
		return "n/a", trimLeftSpace(t[len("<<n/a>> "):]), true
	}
	if len(t) == 0 || t[0] != '<' {
		return "", t, false
	}
	end := bytes.Index(t, []byte("> "))
	if end < 0 && bytes.HasSuffix(t, []byte(">")) {
		end = len(t) - 1
	}
	if end <= 1 || bytes.Contains(t[1:end], []byte(" @ ")) {
		return "", t, false // <file @ line>
	}
	return string(t[1:end]), trimLeftSpace(t[end+1:]), true
}

// lwipStatusLine is lib-lwip's interface status print (init.c,
// _netif_status_print, CONFIG_LWIP_NETIF_STATUS_PRINT): "%c%c%u: Added",
// "…: Removed", "…: Link is up|down", "…: Interface is up|down", "…: Set
// IPv4 address A mask M gw G", "…: Set IPv6 address N: A (state S)". It
// has no level: printf, not the kernel log. The name's two characters are
// NUL before the interface is named (the NULs are gone by here).
func lwipStatusLine(s []byte) bool {
	i := 0
	for i < len(s) && i < 2 && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j == i || !bytes.HasPrefix(s[j:], []byte(": ")) {
		return false
	}
	rest := string(s[j+2:])
	switch rest {
	case "Added", "Removed", "Link is up", "Link is down", "Interface is up", "Interface is down":
		return true
	}
	if f := strings.Fields(rest); len(f) == 8 && strings.HasPrefix(rest, "Set IPv4 address ") && f[4] == "mask" && f[6] == "gw" {
		return true
	}
	return strings.HasPrefix(rest, "Set IPv6 address ") && strings.HasSuffix(rest, ")") && strings.Contains(rest, " (state ")
}

func isTimestamp(t []byte) bool {
	dot := bytes.IndexByte(t, '.')
	if dot <= 0 {
		return false
	}
	for i, c := range t {
		if i != dot && !isDigit(c) {
			return false
		}
	}
	return true
}

// kernelMessage notes what a kernel message says about syscalls.
func (r *unikraftReader) kernelMessage(ev *Event) {
	text := ev.Text
	switch {
	case strings.HasPrefix(text, "Binary system call request \""):
		// Binary system call request "NAME" (NR) at ip:0x… (arg0=0x…, arg1=0x…, ...)
		name, rest, ok := cutQuoted(text[len("Binary system call request "):])
		if !ok {
			return
		}
		req := ukRequest{name: name, nr: -1, pos: ev.Pos}
		if open := strings.IndexByte(rest, '('); open >= 0 {
			if end := strings.IndexByte(rest[open:], ')'); end > 0 {
				req.nr, _ = strconv.Atoi(rest[open+1 : open+end])
			}
		}
		if i := strings.Index(rest, "(arg0="); i >= 0 {
			req.args = strings.TrimSuffix(rest[i+1:], ")")
		}
		if req.name == "(null)" || req.name == "" {
			req.name = ""
		}
		r.flushRequests(&req.name)
		r.requests = append(r.requests, req)
	case strings.HasPrefix(text, "syscall \"") && strings.HasSuffix(text, "\" is not available"):
		name, _, _ := cutQuoted(text[len("syscall "):])
		r.addNote(name, StatusUnsupported, text)
	case strings.HasPrefix(text, "System call \"") && strings.Contains(text, "is not available"):
		name, _, _ := cutQuoted(text[len("System call "):])
		r.addNote(name, StatusUnsupported, text)
	case strings.HasSuffix(text, "() stubbed"):
		r.addNote(lastWord(strings.TrimSuffix(text, "() stubbed")), StatusStubbed, text)
	case strings.HasPrefix(text, "STUB: "):
		name := text[6:]
		if i := strings.IndexAny(name, "( "); i >= 0 {
			name = name[:i]
		}
		r.addNote(name, StatusStubbed, text)
	case strings.Contains(text, "Unsupported clone flags"):
		r.addNote("clone", StatusUnsupported, text)
	case strings.HasPrefix(text, "Unsupported recv flags"):
		r.addNote("recvfrom", StatusStubbed, text)
	case strings.HasPrefix(text, "unsupported fcntl cmd"):
		r.addNote("fcntl", StatusUnsupported, text)
	case strings.HasPrefix(text, "arch_prctl option") && strings.HasSuffix(text, "not implemented"):
		r.addNote("arch_prctl", StatusUnsupported, text)
	case strings.HasPrefix(text, "Unikraft crash - "), strings.HasPrefix(text, "Unikraft Crash - "): // 0.20's crash screen: "Crash"
		r.setVersion(text[len("Unikraft crash - "):])
	}
}

func cutQuoted(s string) (string, string, bool) {
	if !strings.HasPrefix(s, "\"") {
		return "", s, false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", s, false
	}
	return s[1 : 1+end], s[2+end:], true
}

func lastWord(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexAny(s, " :"); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func (r *unikraftReader) addNote(name string, st Status, text string) {
	if name == "(null)" {
		name = ""
	}
	if len(r.notes) > 64 {
		r.notes = r.notes[1:]
	}
	r.notes = append(r.notes, ukNote{name: name, status: st, text: text})
}

// takeNote removes and returns the oldest note about name.
func (r *unikraftReader) takeNote(name string) (ukNote, bool) {
	for i, n := range r.notes {
		if n.name == name {
			r.notes = append(r.notes[:i], r.notes[i+1:]...)
			return n, true
		}
	}
	return ukNote{}, false
}

// flushRequests emits, as calls without a known result, the requests that
// no strace-like line matched; with a name, only earlier requests of that
// name (a new request of the same name means the old one printed nothing).
func (r *unikraftReader) flushRequests(name *string) {
	keep := r.requests[:0]
	for _, req := range r.requests {
		if name != nil && req.name != *name {
			keep = append(keep, req)
			continue
		}
		ev := r.base(KindSyscall)
		ev.Pos = req.pos
		ev.Name, ev.Nr, ev.Args = r.callName(req.name, req.nr), req.nr, req.args
		ev.Status = StatusUnknown
		if n, ok := r.takeNote(req.name); ok {
			r.applyNote(&ev, n)
		}
		r.emit(ev)
	}
	r.requests = keep
}

// flushNotes turns "not available" notes no line matched into calls.
func (r *unikraftReader) flushNotes() {
	for _, n := range r.notes {
		if n.status != StatusUnsupported || strings.Contains(n.text, "flags") || strings.Contains(n.text, "cmd") || strings.Contains(n.text, "option") {
			continue
		}
		ev := r.base(KindSyscall)
		ev.Name = r.callName(n.name, -1)
		ev.Nr = r.tab.Number(ev.Name)
		r.applyNote(&ev, n)
		r.emit(ev)
	}
	r.notes = r.notes[:0]
}

func (r *unikraftReader) applyNote(ev *Event, n ukNote) {
	switch n.status {
	case StatusUnsupported:
		ev.Status = StatusUnsupported
		if ev.Errno == "" {
			ev.Errno = "ENOSYS"
		}
	case StatusStubbed:
		if ev.Status == StatusOK || ev.Status == StatusUnknown {
			ev.Status = StatusStubbed
		}
	}
	if ev.Text == "" {
		ev.Text = n.text
	}
}

func (r *unikraftReader) callName(name string, nr int) string {
	if name != "" {
		return name
	}
	if nr >= 0 {
		if n, ok := r.tab.Name(nr); ok {
			return n
		}
		return "syscall_" + strconv.Itoa(nr)
	}
	return "syscall_unknown"
}

// findCall finds where a strace-like line starts in s: at 0, or after app
// output glued before it ("…Agent::Agent()writev(0x2, …) = 0x6c"). The call
// must name a Linux syscall (or none: "(0x1, …)" for an unknown number),
// and end in " = RESULT" or, cut at the shim's buffer size, in "...".
func (r *unikraftReader) findCall(s []byte) (int, bool) {
	if !bytes.HasSuffix(s, []byte("...")) && bytes.LastIndex(s, []byte(") = ")) < 0 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '(' {
			continue
		}
		// The name before this '(': the longest known syscall name that
		// ends here.
		j := i
		for j > 0 && isLowerNameByte(s[j-1]) {
			j--
		}
		start := -1
		for k := j; k <= i; k++ {
			if k == i {
				if i == 0 {
					start = 0
				}
				break
			}
			if r.tab.Number(string(s[k:i])) >= 0 {
				start = k
				break
			}
		}
		if start < 0 {
			continue
		}
		if r.looksLikeCall(s[i:]) {
			return start, true
		}
	}
	return 0, false
}

func isLowerNameByte(c byte) bool { return c >= 'a' && c <= 'z' || isDigit(c) || c == '_' }

// looksLikeCall checks that s, starting at '(', is an argument list and a
// result, or a cut line.
func (r *unikraftReader) looksLikeCall(s []byte) bool {
	end, _, state := scanArgs(s[1:], 1)
	if state != argsClosed {
		return bytes.HasSuffix(s, []byte("..."))
	}
	rest := s[1+end+1:]
	if bytes.HasPrefix(rest, []byte(" = ")) {
		_, _, ok := parseUKResultPrefix(rest[3:])
		return ok
	}
	return len(rest) == 0 && bytes.HasSuffix(s, []byte("...")) || bytes.Equal(rest, []byte("..."))
}

func (r *unikraftReader) parseCall(s []byte) {
	open := bytes.IndexByte(s, '(')
	ev := r.base(KindSyscall)
	name := string(s[:open])
	var req *ukRequest
	for i := len(r.requests) - 1; i >= 0; i-- {
		if r.requests[i].name == name {
			req = &r.requests[i]
			break
		}
	}
	if req != nil {
		ev.Pos, ev.Nr = req.pos, req.nr
		idx := req
		r.requests = removeRequest(r.requests, idx)
	}
	r.flushRequests(nil) // requests this line does not answer printed nothing
	ev.Name = r.callName(name, ev.Nr)
	if ev.Nr < 0 {
		ev.Nr = r.tab.Number(ev.Name)
	}
	var trailing []byte
	end, _, state := scanArgs(s[open+1:], 1)
	if state != argsClosed {
		// Cut at the shim's buffer size: the result is unknown.
		ev.Args = r.arena.str(bytes.TrimSuffix(s[open+1:], []byte("...")))
		ev.Status = StatusUnknown
	} else {
		ev.Args = r.arena.str(s[open+1 : open+1+end])
		rest := s[open+1+end+1:]
		if res, ok := bytes.CutPrefix(rest, []byte(" = ")); ok {
			out, n, ok := parseUKResultPrefix(res)
			if !ok {
				r.warn("malformed result " + strconv.Quote(string(res)))
				return
			}
			// App output glued after a whole result is the app's, the
			// call is kept.
			trailing = res[n:]
			res = res[:n]
			ev.Ret, ev.RetVal, ev.Errno, ev.Status = string(res), out.val, out.errno, out.status
		} else {
			ev.Status = StatusUnknown
		}
	}
	if n, ok := r.takeNote(name); ok {
		r.applyNote(&ev, n)
	}
	r.emit(ev)
	if len(bytes.TrimSpace(trailing)) > 0 {
		out := r.base(KindOutput)
		out.Text = string(trailing)
		r.emit(out)
	}
}

// parseUKResultPrefix reads the longest start of s that is a whole
// result (parseUKResult), up to a word's end or, for a result glued to
// text ("fd:3hello"), any byte of its first 64; n is its length.
func parseUKResultPrefix(s []byte) (out ukResult, n int, ok bool) {
	if out, ok := parseUKResult(s); ok {
		return out, len(s), true
	}
	// Results are short (the longest strerror text is under 60 bytes):
	// a long line costs no more than 256 tries.
	for n = min(len(s)-1, 256); n > 0; n-- {
		if n > 64 && s[n] != ' ' {
			continue
		}
		if out, ok := parseUKResult(s[:n]); ok {
			for n > 0 && s[n-1] == ' ' {
				n--
			}
			return out, n, true
		}
	}
	return ukResult{}, 0, false
}

func removeRequest(list []ukRequest, p *ukRequest) []ukRequest {
	for i := range list {
		if &list[i] == p {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

type ukResult struct {
	val    int64
	errno  string
	status Status
}

// parseUKResult reads what the shim prints after " = ": "OK", "fd:3",
// "va:0x…", "pid:0", "NULL", "0x…", decimals, 0.12's hex without "0x", and
// errors "<strerror text> (-N)" in any libc's words.
func parseUKResult(s []byte) (ukResult, bool) {
	s = bytes.TrimSpace(s)
	if len(s) == 0 {
		return ukResult{}, false
	}
	if bytes.HasSuffix(s, []byte(")")) {
		if open := bytes.LastIndex(s, []byte("(-")); open >= 0 {
			n, err := strconv.Atoi(string(s[open+2 : len(s)-1]))
			if err == nil && n > 0 {
				name := ErrnoName(n)
				if name == "" {
					name = "E" + strconv.Itoa(n)
				}
				st := StatusError
				if name == "ENOSYS" {
					st = StatusUnsupported
				}
				return ukResult{val: int64(-n), errno: name, status: st}, true
			}
		}
	}
	if bytes.Equal(s, []byte("OK")) || bytes.Equal(s, []byte("NULL")) {
		return ukResult{status: StatusOK}, true
	}
	if c := bytes.IndexByte(s, ':'); c > 0 && bytes.IndexByte(s[:c], ' ') < 0 {
		s = s[c+1:] // "fd:3", "va:0x…", "pid:0", "dirfd:…"
	}
	if v, rest, ok := parseInt(s); ok && len(rest) == 0 {
		return ukResult{val: v, status: StatusOK}, true
	}
	// 0.12 printed hex without 0x: "6424083e".
	if v, err := strconv.ParseUint(string(s), 16, 64); err == nil && len(s) <= 16 {
		return ukResult{val: int64(v), status: StatusOK}, true
	}
	return ukResult{}, false
}

// hostStraceLine: "PID  name(" or "[pid PID] name(", as strace -f prints.
func hostStraceLine(s []byte) bool {
	if bytes.HasPrefix(s, []byte("[pid ")) {
		return true
	}
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 || i+2 >= len(s) || s[i] != ' ' {
		return false
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	j := i
	for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || isDigit(s[j]) || s[j] == '_') {
		j++
	}
	return j > i && j < len(s) && s[j] == '('
}

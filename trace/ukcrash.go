package trace

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Crash is what a Unikraft guest printed when it crashed: the trap, the
// faulting address of a page fault, the registers, the assertion. It is
// read from the kernel messages of a console (CrashScanner), so a
// console log and a syscov trace file give the same Crash.
//
// The formats, from the sources of unikraft/unikraft:
//
//   - 0.17 and 0.18 (plat/common/x86/traps.c, plat/common/x86/trace.c):
//     "Unhandled Trap 6 (invalid opcode), error code=0x0", then
//     "RIP: 000000100010e5c4 CS: 0008", "RSP: … SS: … EFLAGS: …",
//     "RAX: … RBX: … RCX: …" … and "Crashing"; a page fault is said by
//     libukvmem: "Cannot handle write page fault at 0xdead000 (ec: 0x2):
//     Bad address (14).", and the frame walk prints
//     "base is 0x… caller is 0x…".
//   - older releases: "Unhandled page fault vaddr=0x…, error code=0x…".
//   - the crash screen (lib/ukdebug/crash.c, the default from 0.20 on,
//     "Unikraft Crash - Kiviuq (0.20.0~…)"; older forks write "crash"):
//     "RIP: 0008:000000…", "RSP: 0010:… EFLAGS: … ORIG_RAX: …",
//     "RAX: … RBX: … RCX:…" (no space after the third colon),
//     `Thread "name"@0x…`, "Stack:", "Call Trace:" and " [0x…]" frames.
//   - assertions (lib/ukdebug/include/uk/assert.h): "Assertion failure: X".
type Crash struct {
	// Kind is what happened: "invalid opcode", "page fault", "general
	// protection", "divide error" … (the trap's name as Unikraft prints
	// it), "assertion", "out of memory", or "crash" (UK_CRASH with a
	// message of its own).
	Kind string `json:"kind"`
	// Trap is the x86 exception vector (6 invalid opcode, 13 general
	// protection, 14 page fault), -1 when none was printed.
	Trap int `json:"trap"`
	// ErrorCode is the exception's error code, when printed.
	ErrorCode *Hex `json:"error_code,omitempty"`
	// Addr is the faulting address of a page fault.
	Addr *Hex `json:"addr,omitempty"`
	// Access says what the faulting access was (from the error code).
	Access string `json:"access,omitempty"`
	// Message is the line that said it, as printed.
	Message string `json:"message"`
	// Assertion is the failed condition of an assertion.
	Assertion string `json:"assertion,omitempty"`
	// RIP and RSP are the registers at the fault, when printed.
	RIP *Hex `json:"rip,omitempty"`
	RSP *Hex `json:"rsp,omitempty"`
	// Regs are every register printed, in order.
	Regs []Reg `json:"regs,omitempty"`
	// Callers are the return addresses of the frame walk, innermost first.
	Callers []Hex `json:"callers,omitempty"`
	// Thread is the crashing thread's name (crash screen).
	Thread string `json:"thread,omitempty"`
	// Version is the release the crash screen names.
	Version string `json:"version,omitempty"`
	// Nested is a second fault while the first was being dumped (0.17's
	// frame walk faults on a frame pointer it cannot follow): said, not
	// taken for the crash.
	Nested string `json:"nested,omitempty"`
	// Pos is the console line of Message; At the same as "file:line".
	Pos Pos    `json:"-"`
	At  string `json:"at"`
}

// Hex is an address or register value, written in JSON as a "0x…"
// string: a JSON number loses the low bits of a 64-bit address in most
// readers (doubles).
type Hex uint64

// MarshalJSON writes "0x…".
func (h Hex) MarshalJSON() ([]byte, error) {
	return []byte(`"0x` + strconv.FormatUint(uint64(h), 16) + `"`), nil
}

// UnmarshalJSON reads "0x…".
func (h *Hex) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("want a \"0x…\" string, got %s", b)
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		return err
	}
	*h = Hex(v)
	return nil
}

// Reg is one register of a crash dump.
type Reg struct {
	Name  string `json:"name"`
	Value Hex    `json:"value"`
}

// Reg returns the value of the register named name.
func (c *Crash) Reg(name string) (uint64, bool) {
	for _, r := range c.Regs {
		if r.Name == name {
			return uint64(r.Value), true
		}
	}
	return 0, false
}

// String is the crash in one line: "invalid opcode (trap 6) at RIP 0x…".
func (c *Crash) String() string {
	var b strings.Builder
	b.WriteString(c.Kind)
	if c.Trap >= 0 {
		fmt.Fprintf(&b, " (trap %d)", c.Trap)
	}
	if c.Addr != nil {
		fmt.Fprintf(&b, ": %s at 0x%x", firstNonEmptyString(c.Access, "access"), *c.Addr)
	}
	if c.Assertion != "" {
		fmt.Fprintf(&b, ": %s", c.Assertion)
	}
	if c.RIP != nil {
		fmt.Fprintf(&b, ", RIP 0x%x", *c.RIP)
	}
	if c.Kind == "crash" || c.Kind == "out of memory" {
		fmt.Fprintf(&b, ": %s", c.Message)
	}
	return b.String()
}

func firstNonEmptyString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// CrashScanner reads a crash out of a run's kernel messages: give it
// every event (Add ignores what is not a kernel message), then ask Crash.
// The first crash wins; a fault while it is dumped is its Nested.
type CrashScanner struct {
	c *Crash
	// pending is the first CRIT message before any crash line (UK_CRASH's
	// own message, printed before "Crashing" would be, is the crash).
	pending    string
	pendingPos Pos
	// oom is an ERR message of a failed allocation before the crash.
	oom    string
	oomPos Pos
	nested bool
	stack  bool // between "Call Trace:" and the next non-frame line
}

var (
	ukTrapRE  = regexp.MustCompile(`Unhandled Trap (\d+) \(([^)]*)\), error code=(0x[0-9a-fA-F]+)`)
	ukPFOldRE = regexp.MustCompile(`Unhandled page fault vaddr=(0x[0-9a-fA-F]+|0), error code=(0x[0-9a-fA-F]+|0)`)
	ukPFRE    = regexp.MustCompile(`Cannot handle (\w+) page fault at (0x[0-9a-fA-F]+|0) \(ec: (0x[0-9a-fA-F]+|0)\)`)
	ukRegRE   = regexp.MustCompile(`\b([A-Z][A-Z0-9_]{1,7}):\s*(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{4,16})\b`)
	ukCallRE  = regexp.MustCompile(`caller is (0x[0-9a-fA-F]+)`)
	ukFrameRE = regexp.MustCompile(`^\s*\[(0x[0-9a-fA-F]+)\]`)
	ukThrRE   = regexp.MustCompile(`^Thread "([^"]*)"@`)
)

// Add reads one event.
func (s *CrashScanner) Add(ev *Event) {
	if ev.Kind != KindMessage || ev.Level != "crit" && ev.Level != "err" {
		return
	}
	text := ev.Text
	if ev.Level == "err" {
		// An allocation that failed is no crash by itself (the caller may
		// cope): it names the crash that follows.
		if s.c == nil && s.oom == "" && isOOMText(text) {
			s.oom, s.oomPos = text, ev.Pos
		}
		return
	}
	// A fault line, possibly glued after the frame walk's cut line.
	if m := ukTrapRE.FindStringSubmatch(text); m != nil {
		n, _ := strconv.Atoi(m[1])
		if s.faultWhileDumping(text) {
			return
		}
		name := m[2]
		if name == "" {
			name = "trap " + m[1]
		}
		c := s.begin(name, n, text[strings.Index(text, "Unhandled Trap"):], ev.Pos)
		c.ErrorCode = hexPtr(m[3])
		if n == 14 && c.ErrorCode != nil {
			c.Kind = "page fault"
		}
		return
	}
	if m := ukPFRE.FindStringSubmatch(text); m != nil {
		if s.faultWhileDumping(text) {
			return
		}
		c := s.begin("page fault", 14, text, ev.Pos)
		c.Addr, c.ErrorCode = hexPtr(m[2]), hexPtr(m[3])
		c.Access = pageFaultAccess(*c.ErrorCode, m[1])
		return
	}
	if m := ukPFOldRE.FindStringSubmatch(text); m != nil {
		if s.faultWhileDumping(text) {
			return
		}
		c := s.begin("page fault", 14, text, ev.Pos)
		c.Addr, c.ErrorCode = hexPtr(m[1]), hexPtr(m[2])
		c.Access = pageFaultAccess(*c.ErrorCode, "")
		return
	}
	if a, ok := strings.CutPrefix(text, "Assertion failure: "); ok {
		if s.c == nil {
			c := s.begin("assertion", -1, text, ev.Pos)
			c.Assertion = a
		}
		return
	}
	for _, p := range []string{"Unikraft crash - ", "Unikraft Crash - "} {
		if v, ok := strings.CutPrefix(text, p); ok {
			if s.c == nil {
				s.beginGeneric(text, ev.Pos)
			}
			if s.c.Version == "" {
				s.c.Version = v
			}
			return
		}
	}
	if strings.TrimSpace(text) == "Crashing" {
		if s.c == nil {
			s.beginGeneric(text, ev.Pos)
		}
		return
	}
	if m := ukThrRE.FindStringSubmatch(text); m != nil && s.c != nil && !s.nested {
		s.c.Thread = m[1]
		return
	}
	if text == "Call Trace:" {
		s.stack = true
		return
	}
	frame := text
	if strings.HasPrefix(ev.Library, "0x") && text == "" {
		frame = "[" + ev.Library + "]" // the console reader took " [0x…]" for a library name
	}
	if m := ukFrameRE.FindStringSubmatch(frame); m != nil && s.stack {
		if s.c != nil && !s.nested && s.c.RIP != nil {
			if v := hexPtr(m[1]); v != nil && *v != *s.c.RIP {
				s.c.Callers = append(s.c.Callers, *v)
			}
		}
		return
	}
	s.stack = false
	if m := ukCallRE.FindStringSubmatch(text); m != nil {
		if s.c != nil && !s.nested {
			s.c.Callers = append(s.c.Callers, *hexPtr(m[1]))
		}
		return
	}
	if regs := ukRegRE.FindAllStringSubmatch(text, -1); len(regs) > 0 && strings.HasPrefix(strings.TrimSpace(text), regs[0][1]+":") {
		if s.c == nil || s.nested || s.regsDone(regs[0][1]) {
			return
		}
		for _, m := range regs {
			v, err := strconv.ParseUint(m[3], 16, 64)
			if err != nil {
				continue
			}
			if m[2] != "" { // "RIP: 0008:…" names CS (or SS) first
				seg, _ := strconv.ParseUint(m[2], 16, 64)
				segName := "CS"
				if m[1] == "RSP" {
					segName = "SS"
				}
				s.c.Regs = append(s.c.Regs, Reg{segName, Hex(seg)})
			}
			s.c.Regs = append(s.c.Regs, Reg{m[1], Hex(v)})
			h := Hex(v)
			switch m[1] {
			case "RIP":
				s.c.RIP = &h
			case "RSP":
				s.c.RSP = &h
			}
		}
		return
	}
	if s.c == nil && s.pending == "" && isOOMText(text) {
		s.begin("out of memory", -1, text, ev.Pos)
		return
	}
	if s.c == nil && s.pending == "" && ev.Library != "libsyscall_shim" {
		s.pending, s.pendingPos = text, ev.Pos
	}
}

// beginGeneric starts a crash that no trap line named: UK_CRASH's own
// message (the first CRIT line before it), or a failed allocation.
func (s *CrashScanner) beginGeneric(text string, pos Pos) {
	switch {
	case s.oom != "":
		s.begin("out of memory", -1, s.oom, s.oomPos)
	case s.pending != "":
		s.begin("crash", -1, s.pending, s.pendingPos)
	default:
		s.begin("crash", -1, text, pos)
	}
}

// regsDone: a register already read starts a second dump (a nested
// fault's, or the crash screen after the trap's own): the first wins.
func (s *CrashScanner) regsDone(name string) bool {
	_, ok := s.c.Reg(name)
	return ok
}

// faultWhileDumping notes a fault after the first crash's registers: a
// fault in the dump itself.
func (s *CrashScanner) faultWhileDumping(text string) bool {
	if s.c == nil {
		return false
	}
	if s.c.RIP == nil && s.c.Kind == "crash" {
		return false // the crash screen's header came first
	}
	if s.c.Nested == "" {
		for _, w := range []string{"Unhandled", "Cannot handle"} {
			if i := strings.Index(text, w); i > 0 {
				text = text[i:]
			}
		}
		s.c.Nested = text
	}
	s.nested = true
	return true
}

func (s *CrashScanner) begin(kind string, trap int, msg string, pos Pos) *Crash {
	if s.c != nil {
		// The crash screen's header or an earlier message came first:
		// the fault names the kind.
		if s.c.Kind == "crash" || s.c.Kind == "out of memory" {
			s.c.Kind, s.c.Trap, s.c.Message, s.c.Pos, s.c.At = kind, trap, msg, pos, pos.String()
		}
		return s.c
	}
	s.c = &Crash{Kind: kind, Trap: trap, Message: msg, Pos: pos, At: pos.String()}
	return s.c
}

// Crash is the crash read, or nil.
func (s *CrashScanner) Crash() *Crash { return s.c }

func isOOMText(t string) bool {
	l := strings.ToLower(t)
	return strings.Contains(l, "out of memory") || strings.HasPrefix(l, "failed to allocate") || strings.Contains(l, "cannot allocate memory")
}

func hexPtr(s string) *Hex {
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		return nil
	}
	h := Hex(v)
	return &h
}

// pageFaultAccess reads the x86 page-fault error code: bit 0 the page was
// present (a protection violation) or not, bit 1 a write, bit 2 user mode,
// bit 4 an instruction fetch. word is what libukvmem printed ("write").
func pageFaultAccess(ec Hex, word string) string {
	access := "read"
	switch {
	case ec&0x10 != 0:
		access = "instruction fetch"
	case ec&0x2 != 0:
		access = "write"
	case word == "exec":
		access = "instruction fetch"
	}
	if ec&1 == 0 {
		access += " of an unmapped address"
	} else {
		access += " violating the page's protection"
	}
	return access
}

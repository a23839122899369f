package analyze

import (
	"fmt"
	"strings"

	"github.com/syscov/syscov/trace"
)

// CrashReport is a crash of the unikernel run, explained: what the guest
// printed (trace.Crash), where the RIP was (object, function, source
// line), the instruction there, the CPU feature it needs when it was an
// invalid opcode, and the syscalls just before. The reading of files
// (ELF, DWARF, the guest CPU) is the job's: this is the value the reports
// show.
type CrashReport struct {
	trace.Crash
	// Where is the code the RIP points at, when it could be placed.
	Where *CodePlace `json:"where,omitempty"`
	// Instruction at the RIP, decoded (AT&T syntax), and its bytes.
	Instruction string `json:"instruction,omitempty"`
	Bytes       string `json:"bytes,omitempty"`
	// Feature is the CPU feature the faulting instruction needs (an
	// invalid opcode).
	Feature *FeatureGap `json:"feature,omitempty"`
	// LastSyscalls are the unikernel's last syscalls before the crash,
	// oldest first, as the shim printed them.
	LastSyscalls []string `json:"last_syscalls,omitempty"`
	// Notes say what could not be told, and why.
	Notes []string `json:"notes,omitempty"`
}

// CodePlace is an address placed in the code of one object.
type CodePlace struct {
	// Role is "app", "ELF interpreter", "library" or "kernel".
	Role   string `json:"role"`
	Object string `json:"object"`
	// Base is where the object was loaded in the guest; Offset the
	// address relative to it.
	Base   trace.Hex `json:"base"`
	Offset trace.Hex `json:"offset"`
	Func   string    `json:"func,omitempty"`
	// FuncOffset is the offset into Func.
	FuncOffset trace.Hex `json:"func_offset"`
	File       string    `json:"file,omitempty"`
	Line       int       `json:"line,omitempty"`
	// How says how the base was found ("RELRO mprotect at 0x…").
	How string `json:"how,omitempty"`
}

// String is "main+0x14 (avx.c:7) in app /usr/bin/x".
func (p *CodePlace) String() string {
	var b strings.Builder
	if p.Func != "" {
		fmt.Fprintf(&b, "%s+0x%x", p.Func, p.FuncOffset)
	} else {
		fmt.Fprintf(&b, "0x%x", p.Offset)
	}
	if p.File != "" {
		fmt.Fprintf(&b, " (%s:%d)", p.File, p.Line)
	}
	fmt.Fprintf(&b, " in the %s %s", p.Role, p.Object)
	return b.String()
}

// FeatureGap is a CPU feature the app's code needs that the unikernel run
// lacked: set against the guest CPU of that run and the host's, with what
// closes it.
type FeatureGap struct {
	// Feature is the feature the instruction needs first ("AVX-512F");
	// Also the others its encoding needs ("AVX-512VL").
	Feature string   `json:"feature"`
	Also    []string `json:"also,omitempty"`
	// State is the XSAVE state the OS must enable ("AVX", "AVX-512").
	State string `json:"state,omitempty"`
	// GuestCPU is the run's qemu -cpu value and Accel its accelerator;
	// GuestHas whether that CPU model has the feature (nil: unknown).
	GuestCPU string `json:"guest_cpu"`
	Accel    string `json:"accel,omitempty"`
	GuestHas *bool  `json:"guest_has,omitempty"`
	// DefaultHas is the CPU model a run gets without --cpu ("max" under
	// TCG, "host" under KVM) when that model has the feature.
	DefaultHas string `json:"default_has,omitempty"`
	// HostHas says whether this host's CPU has it (/proc/cpuinfo).
	HostHas *bool `json:"host_has,omitempty"`
	// Unikraft says what Unikraft does with the feature's state.
	Unikraft string `json:"unikraft"`
	// Closures are the ways to close it, the nearest first.
	Closures []string `json:"closures"`
}

// Summary is the gap in one line: "AVX-512F (vpbroadcastd …): the guest
// CPU max (TCG) lacks it; Unikraft enables no AVX-512 state".
func (g *FeatureGap) Summary() string {
	s := g.Feature
	if len(g.Also) > 0 {
		s += " (+" + strings.Join(g.Also, ", ") + ")"
	}
	var why []string
	switch {
	case g.GuestHas != nil && !*g.GuestHas:
		why = append(why, fmt.Sprintf("the guest CPU %s (%s) lacks it", g.GuestCPU, strings.ToUpper(g.Accel)))
	case g.GuestHas != nil && *g.GuestHas:
		why = append(why, fmt.Sprintf("the guest CPU %s (%s) has it", g.GuestCPU, strings.ToUpper(g.Accel)))
	}
	if g.Unikraft != "" {
		why = append(why, g.Unikraft)
	}
	if len(why) > 0 {
		s += ": " + strings.Join(why, "; ")
	}
	return s
}

// Headline is the crash in the words a verdict leads with.
func (c *CrashReport) Headline() string {
	var b strings.Builder
	b.WriteString("the unikernel crashed: " + c.Kind)
	if c.Feature != nil {
		b.WriteString(" (" + c.Feature.Feature + ")")
	}
	if c.Addr != nil {
		fmt.Fprintf(&b, ", %s at 0x%x", firstNonEmpty(c.Access, "access"), *c.Addr)
	}
	if c.Assertion != "" {
		b.WriteString(": " + c.Assertion)
	}
	if c.Kind == "crash" || c.Kind == "out of memory" {
		b.WriteString(": " + c.Message)
	}
	if c.Where != nil {
		b.WriteString(" at " + c.Where.String())
	} else if c.RIP != nil {
		fmt.Fprintf(&b, " at RIP 0x%x", *c.RIP)
	}
	return b.String()
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// crashWatch follows the unikernel side for a crash and the syscalls
// before it.
type crashWatch struct {
	scan trace.CrashScanner
	last []string // ring of the last syscalls
	// before are the last syscalls when the crash began.
	before []string
	seen   bool
}

const lastSyscallsKept = 8

func (w *crashWatch) add(ev *trace.Event) {
	switch ev.Kind {
	case trace.KindSyscall:
		if w.seen {
			return
		}
		line := ev.Name + "(" + ev.Args + ")"
		if ev.Ret != "" {
			line += " = " + ev.Ret
		}
		if len(w.last) == lastSyscallsKept {
			copy(w.last, w.last[1:])
			w.last = w.last[:lastSyscallsKept-1]
		}
		w.last = append(w.last, line)
	case trace.KindMessage:
		w.scan.Add(ev)
		if !w.seen && w.scan.Crash() != nil {
			w.seen = true
			w.before = append([]string(nil), w.last...)
		}
	}
}

func (w *crashWatch) report() *CrashReport {
	c := w.scan.Crash()
	if c == nil {
		return nil
	}
	return &CrashReport{Crash: *c, LastSyscalls: w.before}
}

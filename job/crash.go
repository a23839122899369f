package job

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/report"
	"github.com/syscov/syscov/trace"
	"github.com/syscov/syscov/trace/elfcode"
	"github.com/syscov/syscov/trace/unikernel"
)

// ExplainCrash explains d.Crash, the unikernel run's crash: it places the
// RIP in the app, its ELF interpreter, a library or the kernel (the load
// bases found from what the run shows: the RELRO mprotect of the app and
// of ld.so, the mmap of each library ld.so opened), names the function
// and source line, decodes the instruction, and for an invalid opcode
// names the CPU feature it needs against the run's guest CPU and this
// host's. uniPath is the unikernel trace (read again for its syscalls),
// h its header.
func ExplainCrash(d *analyze.Diff, uniPath string, h trace.Header) {
	ctx := context.Background()
	c := d.Crash
	if c == nil {
		return
	}
	enomemNote(c)
	if c.RIP == nil {
		if c.Kind != "assertion" && c.Kind != "crash" && c.Kind != "out of memory" {
			c.Notes = append(c.Notes, "the console printed no RIP: the code cannot be placed")
		}
		return
	}
	rip := uint64(*c.RIP)
	objs, notes := guestObjects(uniPath, h)
	c.Notes = append(c.Notes, notes...)
	defer func() {
		for _, o := range objs {
			o.obj.Close()
		}
	}()
	var at *loaded
	for _, o := range objs {
		if o.known && rip >= o.base && o.obj.Contains(rip-o.base) {
			at = o
			break
		}
	}
	if at == nil {
		at = kernelObject(h, rip, c)
		if at != nil {
			defer at.obj.Close()
		}
	}
	if at == nil {
		c.Notes = append(c.Notes, fmt.Sprintf("RIP 0x%x is in no object whose load address the run shows", rip))
		return
	}
	off := rip - at.base
	p := &analyze.CodePlace{Role: at.role, Object: at.obj.Path, Base: trace.Hex(at.base), Offset: trace.Hex(off), How: at.how}
	if name, fo, ok := at.obj.Symbol(off); ok {
		p.Func, p.FuncOffset = name, trace.Hex(fo)
	} else if at.role == "kernel" {
		c.Notes = append(c.Notes, "the kernel image is stripped: a "+filepath.Base(at.obj.Path)+".dbg from its build next to it would name the function")
	}
	p.File, p.Line, _ = at.obj.Line(off)
	c.Where = p
	if code, err := at.obj.Code(off, 15); err == nil {
		if in, err := elfcode.Decode(code, rip); err == nil {
			c.Instruction, c.Bytes = in.Text, in.Hex()
			if c.Trap == 6 {
				c.Feature = featureGap(ctx, in, h)
			}
		} else {
			c.Notes = append(c.Notes, err.Error())
		}
	} else if at.role != "kernel" {
		c.Notes = append(c.Notes, err.Error())
	}
	if c.Trap == 6 && c.Feature == nil && c.Instruction != "" {
		c.Notes = append(c.Notes, "the instruction "+c.Instruction+" needs no CPU feature beyond x86-64's baseline that syscov knows: the invalid opcode has another cause (ud2, a corrupted jump)")
	}
}

// loaded is an ELF object and where the guest loaded it.
type loaded struct {
	obj   *elfcode.Object
	role  string
	base  uint64
	known bool
	how   string
}

// guestObjects opens the app, its interpreter and the libraries the run
// opened (their guest paths are their host paths: syscov packs them so),
// and finds their load bases from the run's syscalls.
func guestObjects(uniPath string, h trace.Header) ([]*loaded, []string) {
	var notes []string
	var objs []*loaded
	if len(h.Command) == 0 {
		return nil, []string{"the unikernel trace names no program"}
	}
	app, err := elfcode.Open(h.Command[0])
	if err != nil {
		return nil, []string{"the app cannot be read on this host: " + err.Error()}
	}
	objs = append(objs, &loaded{obj: app, role: "app"})
	if app.Interp != "" {
		if o, err := elfcode.Open(app.Interp); err == nil {
			objs = append(objs, &loaded{obj: o, role: "ELF interpreter"})
		}
	}
	// The syscalls: which fd is which library, the mmaps at offset 0,
	// the RELRO mprotects.
	type mp struct{ addr, length uint64 }
	var mprotects []mp
	fds := map[string]string{}
	libBase := map[string]uint64{}
	var libOrder []string
	r, err := trace.Open(uniPath, trace.Options{Origin: trace.OriginUnikernel})
	if err != nil {
		return objs, []string{err.Error()}
	}
	for r.Scan() {
		ev := r.Event()
		if ev.Kind != trace.KindSyscall || ev.Status != trace.StatusOK {
			continue
		}
		switch ev.Name {
		case "openat", "open":
			path := quotedArg(ev.Args)
			if path != "" && ev.RetVal >= 0 {
				fds[strconv.FormatInt(ev.RetVal, 10)] = path
			}
		case "mmap":
			args := splitArgs(ev.Args)
			if len(args) < 6 || trimNum(args[5]) != 0 {
				continue
			}
			fd := strings.TrimPrefix(strings.TrimSpace(args[4]), "fd:")
			if path, ok := fds[fd]; ok {
				if _, seen := libBase[path]; !seen {
					libBase[path] = uint64(ev.RetVal)
					libOrder = append(libOrder, path)
				}
				delete(fds, fd) // later maps of that fd are its other segments
			}
		case "mprotect":
			args := splitArgs(ev.Args)
			if len(args) >= 3 && strings.Contains(args[2], "PROT_READ") && !strings.Contains(args[2], "WRITE") && !strings.Contains(args[2], "EXEC") {
				mprotects = append(mprotects, mp{trimNum(args[0]), trimNum(args[1])})
			}
		}
	}
	r.Close()
	claimed := map[uint64]bool{}
	for _, path := range libOrder {
		if path == app.Interp || path == h.Command[0] {
			continue
		}
		o, err := elfcode.Open(path)
		if err != nil {
			notes = append(notes, "library "+path+" cannot be read on this host: "+err.Error())
			continue
		}
		l := &loaded{obj: o, role: "library", base: libBase[path], known: true, how: fmt.Sprintf("its first mmap by ld.so, at 0x%x", libBase[path])}
		if start, _, ok := o.RelroPages(); ok {
			claimed[l.base+start] = true
		}
		objs = append(objs, l)
	}
	// The app first, then ld.so: glibc write-protects the program's RELRO
	// before its own, and a static-pie's start-up code its only one.
	for _, l := range objs[:min(2, len(objs))] {
		if l.known {
			continue
		}
		if !l.obj.IsPIE() {
			l.known, l.how = true, "not position-independent: loaded at its link addresses"
			continue
		}
		start, length, ok := l.obj.RelroPages()
		if !ok {
			notes = append(notes, l.role+" "+l.obj.Path+" has no RELRO segment: its load base is not shown by the run")
			continue
		}
		for _, m := range mprotects {
			if claimed[m.addr] || m.length != length || m.addr < start || (m.addr-start)%4096 != 0 {
				continue
			}
			l.base, l.known, l.how = m.addr-start, true, fmt.Sprintf("its RELRO mprotect(0x%x, %d, PROT_READ)", m.addr, m.length)
			claimed[m.addr] = true
			break
		}
		if !l.known {
			notes = append(notes, fmt.Sprintf("no mprotect of the %s's RELRO (%d bytes) in the run: its load base is unknown", l.role, length))
		}
	}
	return objs, notes
}

// kernelObject places rip in the Unikraft image when one of its segments
// holds it: with symbols from IMAGE.dbg (the unstripped kernel of the
// build) when it is next to the image.
func kernelObject(h trace.Header, rip uint64, c *analyze.CrashReport) *loaded {
	image := vmmArg(h.VMM, "-kernel")
	if image == "" {
		return nil
	}
	for _, path := range []string{image + ".dbg", image} {
		o, err := elfcode.Open(path)
		if err != nil {
			continue
		}
		if o.Contains(rip) {
			return &loaded{obj: o, role: "kernel", known: true, how: "the image's link addresses"}
		}
		o.Close()
	}
	return nil
}

func vmmArg(vmm []string, flag string) string {
	for i, a := range vmm {
		if a == flag && i+1 < len(vmm) {
			return vmm[i+1]
		}
	}
	return ""
}

// featureGap names what the invalid opcode's instruction needs, against
// the run's guest CPU and this host's, and what closes it.
func featureGap(ctx context.Context, in elfcode.Insn, h trace.Header) *analyze.FeatureGap {
	if len(in.Features) == 0 {
		return nil
	}
	f := in.Features[0]
	g := &analyze.FeatureGap{Feature: f.Name, State: f.State, GuestCPU: vmmArg(h.VMM, "-cpu"), Accel: h.Accel}
	for _, x := range in.Features[1:] {
		g.Also = append(g.Also, x.Name)
	}
	qemu := "qemu-system-x86_64"
	if len(h.VMM) > 0 {
		qemu = h.VMM[0]
	}
	if g.GuestCPU == "" {
		g.GuestCPU = unikernel.CPUModel("", h.Accel)
	}
	if feats, err := unikernel.GuestCPUFeatures(ctx, qemu, h.Accel, g.GuestCPU); err == nil {
		has := feats[f.QEMU]
		g.GuestHas = &has
	}
	if flags, err := unikernel.HostCPUFlags(); err == nil {
		has := flags[f.CPUInfo]
		g.HostHas = &has
	}
	if g.GuestHas != nil && !*g.GuestHas {
		// The model a run gets without --cpu, when it has the feature.
		def := unikernel.CPUModel("", h.Accel)
		if feats, err := unikernel.GuestCPUFeatures(ctx, qemu, h.Accel, def); err == nil && feats[f.QEMU] {
			g.DefaultHas = def
		}
	}
	g.Unikraft, g.Closures = closures(f, g)
	if f.State == "AVX" {
		if v, ok := releaseOf(h.Unikraft); ok && lessVersion(v, [3]int{0, 16, 3}) {
			g.Unikraft = fmt.Sprintf("Unikraft %d.%d.%d enables no AVX state (0.16.3 added it): the instruction faults whatever the CPU", v[0], v[1], v[2])
			g.Closures = append([]string{"a Unikraft release of 0.16.3 or later, which enables the AVX state when the CPU has AVX"}, g.Closures...)
		}
	}
	return g
}

// releaseOf reads the release of a banner's version: "Calypso
// (0.17.0~eaf6fda1-custom)" is 0.17.0.
func releaseOf(banner string) ([3]int, bool) {
	var v [3]int
	open := strings.IndexByte(banner, '(')
	if open < 0 {
		return v, false
	}
	s := banner[open+1:]
	if i := strings.IndexAny(s, "~)"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return v, false
	}
	for i := 0; i < 3 && i < len(parts); i++ {
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

func lessVersion(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// UnikraftXSAVE says what Unikraft does with each XSAVE state (read from
// arch/x86 of releases 0.16.3–0.18 and staging: XCR0 gets the x87, SSE
// and AVX bits, and PKRU; no release defines the AVX-512 ones).
var UnikraftXSAVE = map[string]string{
	"AVX-512": "Unikraft enables no AVX-512 state in any release (arch/x86 sets only the x87, SSE, AVX and PKRU bits of XCR0), so every EVEX instruction faults whatever the CPU",
	"AVX":     "Unikraft (0.16.3 and later) enables the AVX state when the guest CPU has AVX",
	"":        "the instruction needs no state from the kernel: a guest CPU that has it is enough",
}

func closures(f elfcode.Feature, g *analyze.FeatureGap) (string, []string) {
	uk := UnikraftXSAVE[f.State]
	flag := strings.ToLower(f.Name)
	var out []string
	host := ""
	if g.HostHas != nil {
		if *g.HostHas {
			host = " (this host's CPU has " + f.CPUInfo + ")"
		} else {
			host = " (this host's CPU lacks " + f.CPUInfo + ")"
		}
	}
	switch f.State {
	case "AVX-512":
		out = append(out, "rebuild the app without AVX-512 (gcc/clang -mno-avx512f, or a -march without it; for libraries that choose code by CPUID, make sure the choice also checks XCR0)",
			"implement: Unikraft support for the AVX-512 state (XCR0 opmask, ZMM_Hi256 and Hi16_ZMM bits, and a larger XSAVE area)",
			"a guest CPU with "+f.CPUInfo+" alone does not close it"+host)
	default:
		if g.GuestHas == nil || !*g.GuestHas {
			if g.DefaultHas != "" {
				out = append(out, fmt.Sprintf("a guest CPU that has %s: --cpu %s (qemu's %s model has it under %s; it is the default without --cpu)%s", f.Name, g.DefaultHas, g.DefaultHas, strings.ToUpper(firstNonEmpty(g.Accel, "tcg")), host))
			} else {
				out = append(out, fmt.Sprintf("a guest CPU that has %s: --cpu MODEL,%s=on where qemu can give it under %s%s", f.Name, f.QEMU, strings.ToUpper(firstNonEmpty(g.Accel, "tcg")), host))
			}
		}
		out = append(out, "rebuild the app without "+f.Name+" (-mno-"+strings.ReplaceAll(flag, ".", "")+")")
	}
	return uk, out
}

// quotedArg is the first "…" argument of a shim line.
func quotedArg(args string) string {
	i := strings.IndexByte(args, '"')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(args[i+1:], '"')
	if j < 0 {
		return ""
	}
	return args[i+1 : i+1+j]
}

func splitArgs(args string) []string {
	parts := strings.Split(args, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// trimNum reads "va:0x…", "0x…", "16384", "NULL".
func trimNum(s string) uint64 {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[i+1:]
	}
	if s == "NULL" {
		return 0
	}
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return ^uint64(0)
	}
	return v
}

// enomemNote: a crash right after a failed allocation is likely the
// guest's memory running out.
func enomemNote(c *analyze.CrashReport) {
	for _, s := range c.LastSyscalls {
		if strings.HasSuffix(s, "(-12)") {
			c.Notes = append(c.Notes, "a syscall just before the crash failed with ENOMEM ("+s+"): the guest may need more memory (--memory)")
			return
		}
	}
}

// explainTraceCrash explains, on stderr, the crash of a unikernel run that
// trace --unikernel recorded into path (no native run to diff with).
func explainTraceCrash(o Output, res *unikernel.Result, path string) {
	if res.Ended != unikernel.EndCrash && res.Ended != unikernel.EndPanic {
		return
	}
	r, err := trace.Open(path, trace.Options{Origin: trace.OriginUnikernel})
	if err != nil {
		return
	}
	b := analyze.NewDiffBuilder(0, nil)
	for r.Scan() {
		b.AddUnikernel(r.Event())
	}
	h := r.Header()
	r.Close()
	d := b.Diff()
	if d.Crash == nil {
		return
	}
	ExplainCrash(d, path, h)
	fmt.Fprintf(o.Stderr, "syscov: %s\n", d.Crash.Headline())
	report.CrashText(o.Stderr, d)
}

package ptrace

import (
	"bufio"
	"bytes"
	"debug/dwarf"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	hexenc "encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/syscov/syscov/trace"
)

// maxFrames bounds a recorded stack.
const maxFrames = 32

// stack unwinds the user-space stack of tid at a syscall stop and
// symbolises it. It follows each object's .eh_frame call frame information,
// which x86_64 code carries whether or not it keeps frame pointers, and
// falls back to the frame pointer where an address has none (JIT code, a
// stripped .eh_frame). The walk ends at the first address outside an
// executable mapping.
func (t *Tracer) stack(tid int, ip, sp uint64) []trace.Frame {
	maps := t.symbols.maps(tid)
	var r regs
	if getRegs(tid, &r) != nil {
		return []trace.Frame{t.symbols.frame(maps, ip)}
	}
	var u [nDwRegs]uint64
	u[dwRSP], u[dwRBP], u[dwRA] = sp, r.fp(), ip
	cs := r.calleeSaved()
	u[dwRBX], u[dwR12], u[dwR12+1], u[dwR12+2], u[dwR15] = cs[0], cs[1], cs[2], cs[3], cs[4]
	frames := make([]trace.Frame, 0, 16)
	var word [8]byte
	read := func(addr uint64) (uint64, bool) {
		if readTracee(tid, addr, word[:]) != nil {
			return 0, false
		}
		return binary.LittleEndian.Uint64(word[:]), true
	}
	for len(frames) < maxFrames {
		pc := u[dwRA]
		if !maps.executable(pc) {
			break
		}
		frames = append(frames, t.symbols.frame(maps, pc))
		lookup := pc
		if len(frames) > 1 {
			lookup-- // a return address: the call is the instruction before
		}
		mp := maps.find(lookup)
		var f *fde
		if mp != nil && mp.path != "" && !strings.HasPrefix(mp.path, "[") {
			e := t.symbols.elf(mp.path)
			if e.eh != nil {
				f = e.eh.find(e.vaddr(lookup - mp.start + mp.offset))
			}
		}
		var next [nDwRegs]uint64
		next = u
		if f == nil {
			// No call frame information: trust the frame pointer.
			fp := u[dwRBP]
			if fp < u[dwRSP] || fp-u[dwRSP] > 64<<20 {
				break
			}
			ra, ok1 := read(fp + 8)
			saved, ok2 := read(fp)
			if !ok1 || !ok2 {
				break
			}
			next[dwRA], next[dwRBP], next[dwRSP] = ra, saved, fp+16
		} else {
			vaddr := t.symbols.elf(mp.path).vaddr(lookup - mp.start + mp.offset)
			rules, ok := f.rulesAt(vaddr)
			if !ok || rules.cfaExp || rules.cfaReg >= nDwRegs {
				break
			}
			cfa := u[rules.cfaReg] + uint64(rules.cfaOff)
			for reg := 0; reg < nDwRegs; reg++ {
				ru := rules.regs[reg]
				switch ru.kind {
				case 1:
					v, ok := read(cfa + uint64(ru.off))
					if !ok {
						return frames
					}
					next[reg] = v
				case 4:
					next[reg] = cfa + uint64(ru.off)
				case 3:
					if ru.reg < nDwRegs {
						next[reg] = u[ru.reg]
					}
				case 2:
					if reg == dwRA {
						return frames // the outermost frame
					}
				}
			}
			next[dwRSP] = cfa
		}
		if next[dwRA] == 0 || next[dwRSP] < u[dwRSP] || (next[dwRSP] == u[dwRSP] && next[dwRA] == u[dwRA]) {
			break
		}
		u = next
	}
	return frames
}

// symbolizer maps addresses to objects and symbols, caching /proc/PID/maps
// per process and symbol tables per file.
type symbolizer struct {
	byPid map[int]*procMaps
	files map[string]*elfSyms
	// aliases name a file as the app exec'd it: /proc/PID/maps shows the
	// link's target (redis-server runs as /usr/bin/redis-check-rdb).
	aliases map[string]string
}

func newSymbolizer() *symbolizer {
	return &symbolizer{byPid: map[int]*procMaps{}, files: map[string]*elfSyms{}, aliases: map[string]string{}}
}

// execed notes the path a process exec'd (the first quoted argument of
// its execve), so that frames in that program carry that name.
func (s *symbolizer) execed(pid int, args string) {
	i := strings.IndexByte(args, '"')
	if i < 0 {
		return
	}
	j := strings.IndexByte(args[i+1:], '"')
	if j < 0 {
		return
	}
	path := args[i+1 : i+1+j]
	if !filepath.IsAbs(path) {
		return
	}
	if real, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); err == nil && real != path {
		s.aliases[real] = path
	}
}

type mapping struct {
	start, end, offset uint64
	exec               bool
	path               string
}

type procMaps struct {
	pid  int
	list []mapping
}

func (s *symbolizer) maps(tid int) *procMaps {
	pid := trace.ThreadGroup(tid)
	if m, ok := s.byPid[pid]; ok {
		return m
	}
	m := &procMaps{pid: pid}
	m.load()
	s.byPid[pid] = m
	return m
}

// forget drops the cached maps of a process (after execve).
func (s *symbolizer) forget(pid int) { delete(s.byPid, pid) }

func (m *procMaps) load() {
	m.list = m.list[:0]
	f, err := os.Open("/proc/" + strconv.Itoa(m.pid) + "/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		var mp mapping
		mp.start, _ = strconv.ParseUint(lo, 16, 64)
		mp.end, _ = strconv.ParseUint(hi, 16, 64)
		mp.offset, _ = strconv.ParseUint(fields[2], 16, 64)
		mp.exec = strings.Contains(fields[1], "x")
		if len(fields) >= 6 {
			mp.path = fields[5]
		}
		m.list = append(m.list, mp)
	}
}

func (m *procMaps) find(addr uint64) *mapping {
	for i := range m.list {
		if addr >= m.list[i].start && addr < m.list[i].end {
			return &m.list[i]
		}
	}
	return nil
}

func (m *procMaps) executable(addr uint64) bool {
	mp := m.find(addr)
	if mp == nil {
		// Mapped since the maps were read (dlopen): read them again.
		m.load()
		mp = m.find(addr)
	}
	return mp != nil && mp.exec
}

func (s *symbolizer) frame(m *procMaps, pc uint64) trace.Frame {
	mp := m.find(pc)
	if mp == nil || mp.path == "" || strings.HasPrefix(mp.path, "[") {
		f := trace.Frame{Addr: pc}
		if mp != nil {
			f.Object = mp.path
		}
		return f
	}
	fileOff := pc - mp.start + mp.offset
	syms := s.elf(mp.path)
	vaddr := syms.vaddr(fileOff)
	f := trace.Frame{Object: mp.path, Addr: vaddr}
	if a, ok := s.aliases[mp.path]; ok {
		f.Object = a
	}
	if name, off, ok := syms.lookup(vaddr); ok {
		f.Func, f.Offset = trace.Demangle(name), off
		f.File, f.Line = syms.line(vaddr - 1) // a return address: the call is before it
	} else if fn := syms.goFunc(vaddr); fn != nil {
		f.Func, f.Offset = fn.Name, vaddr-fn.Entry
	}
	if f.File == "" && syms.gotab != nil {
		f.File, f.Line, _ = syms.gotab.PCToLine(vaddr - 1)
	}
	return f
}

type elfSym struct {
	addr, size uint64
	name       string
}

type elfSyms struct {
	loads []elf.ProgHeader
	syms  []elfSym
	eh    *ehFrame // nil when the object has no .eh_frame
	// dwarfPath is the file with the object's DWARF (itself or its debug
	// file), read on the first line look-up; lines caches look-ups.
	dwarfPath string
	dw        *dwarf.Data
	dwTried   bool
	lines     map[uint64]srcLine
	// gotab is a Go program's own table of functions and lines
	// (.gopclntab): Debian's Go binaries are stripped of .symtab and
	// DWARF but keep it, as every Go binary does.
	gotab *gosym.Table
}

// goFunc is the Go function holding vaddr, from .gopclntab.
func (e *elfSyms) goFunc(vaddr uint64) *gosym.Func {
	if e.gotab == nil {
		return nil
	}
	return e.gotab.PCToFunc(vaddr)
}

// loadGoTable reads a Go binary's .gopclntab (nil for other objects).
func loadGoTable(f *elf.File) *gosym.Table {
	pcln, text := f.Section(".gopclntab"), f.Section(".text")
	if pcln == nil || text == nil {
		return nil
	}
	data, err := pcln.Data()
	if err != nil {
		return nil
	}
	// Go 1.18+ tables say where the Go code starts (runtime.text): after
	// the C code of an externally linked (cgo) binary, not at .text's
	// start; debug/gosym takes it from its caller.
	start := text.Addr
	if len(data) >= 32 && data[7] == 8 {
		switch binary.LittleEndian.Uint32(data) {
		case 0xfffffff0, 0xfffffff1:
			if ts := binary.LittleEndian.Uint64(data[24:]); ts != 0 {
				start = ts
			}
		}
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, start))
	if err != nil {
		return nil
	}
	return tab
}

type srcLine struct {
	file string
	line int
}

// line finds the source file and line of vaddr in the DWARF line tables.
func (e *elfSyms) line(vaddr uint64) (string, int) {
	if e.dwarfPath == "" {
		return "", 0
	}
	if l, ok := e.lines[vaddr]; ok {
		return l.file, l.line
	}
	if !e.dwTried {
		e.dwTried = true
		if f, err := elf.Open(e.dwarfPath); err == nil {
			e.dw, _ = f.DWARF()
			f.Close()
		}
		e.lines = map[uint64]srcLine{}
	}
	var l srcLine
	if e.dw != nil {
		if cu, err := e.dw.Reader().SeekPC(vaddr); err == nil {
			if lr, err := e.dw.LineReader(cu); err == nil && lr != nil {
				var le dwarf.LineEntry
				if lr.SeekPC(vaddr, &le) == nil && le.File != nil {
					l = srcLine{le.File.Name, le.Line}
				}
			}
		}
	}
	e.lines[vaddr] = l
	return l.file, l.line
}

func (s *symbolizer) elf(path string) *elfSyms {
	if e, ok := s.files[path]; ok {
		return e
	}
	e := &elfSyms{}
	s.files[path] = e
	f, err := elf.Open(path)
	if err != nil {
		return e
	}
	defer f.Close()
	e.eh, _ = loadEHFrame(f)
	e.gotab = loadGoTable(f)
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			e.loads = append(e.loads, p.ProgHeader)
		}
	}
	seen := map[uint64]int{} // address → index in e.syms
	add := func(list []elf.Symbol) {
		for _, sym := range list {
			if elf.ST_TYPE(sym.Info) != elf.STT_FUNC || sym.Value == 0 {
				continue
			}
			if i, ok := seen[sym.Value]; ok {
				// Several names for one function: the public one, not
				// glibc's internal aliases (__libc_start_main_alias_2).
				if old := e.syms[i].name; strings.Contains(old, "_alias") || elf.ST_BIND(sym.Info) == elf.STB_GLOBAL && strings.HasPrefix(old, "__") && !strings.HasPrefix(sym.Name, "__") {
					e.syms[i].name = sym.Name
				}
				continue
			}
			seen[sym.Value] = len(e.syms)
			e.syms = append(e.syms, elfSym{sym.Value, sym.Size, sym.Name})
		}
	}
	if f.Section(".debug_line") != nil || f.Section(".zdebug_line") != nil {
		e.dwarfPath = path
	}
	if list, err := f.Symbols(); err == nil {
		add(list)
	} else if dbg, dbgPath := openDebugFile(f, path); dbg != nil {
		// A stripped object: its symbols may be in a separate debug file.
		if list, err := dbg.Symbols(); err == nil {
			add(list)
		}
		if dbg.Section(".debug_line") != nil || dbg.Section(".zdebug_line") != nil {
			e.dwarfPath = dbgPath
		}
		dbg.Close()
	}
	if list, err := f.DynamicSymbols(); err == nil {
		add(list)
	}
	sort.Slice(e.syms, func(i, j int) bool { return e.syms[i].addr < e.syms[j].addr })
	return e
}

// vaddr turns a file offset into the object's virtual address.
func (e *elfSyms) vaddr(off uint64) uint64 {
	for _, p := range e.loads {
		if off >= p.Off && off < p.Off+p.Filesz {
			return off - p.Off + p.Vaddr
		}
	}
	return off
}

// lookup finds the function containing vaddr. A symbol whose size is
// known must contain it; one of unknown size is taken within 4 KiB only.
// Otherwise the frame stays object+offset: in a stripped object the
// nearest exported symbol below is another function (strace -k prints
// such names: ngx_dlerror+0x…, malloc_usable_size+405546).
func (e *elfSyms) lookup(vaddr uint64) (string, uint64, bool) {
	i := sort.Search(len(e.syms), func(i int) bool { return e.syms[i].addr > vaddr }) - 1
	if i < 0 {
		return "", 0, false
	}
	sym, off := e.syms[i], vaddr-e.syms[i].addr
	if sym.size > 0 && off >= sym.size || sym.size == 0 && off >= 4096 {
		return "", 0, false
	}
	return sym.name, off, true
}

// openDebugFile finds the separate debug file of a stripped object, as
// gdb does: by build id under /usr/lib/debug/.build-id/, then by its
// .gnu_debuglink name beside it, in .debug/ beside it, and under
// /usr/lib/debug/ (Debian's -dbgsym packages install there).
func openDebugFile(f *elf.File, path string) (*elf.File, string) {
	var candidates []string
	if s := f.Section(".note.gnu.build-id"); s != nil {
		if b, err := s.Data(); err == nil && len(b) >= 16 {
			namesz := binary.LittleEndian.Uint32(b[0:])
			descsz := binary.LittleEndian.Uint32(b[4:])
			start := 12 + (int(namesz)+3)&^3
			if start+int(descsz) <= len(b) && descsz >= 2 {
				id := hexenc.EncodeToString(b[start : start+int(descsz)])
				candidates = append(candidates, filepath.Join("/usr/lib/debug/.build-id", id[:2], id[2:]+".debug"))
			}
		}
	}
	if s := f.Section(".gnu_debuglink"); s != nil {
		if b, err := s.Data(); err == nil {
			if n := bytes.IndexByte(b, 0); n > 0 {
				name := string(b[:n])
				dir := filepath.Dir(path)
				candidates = append(candidates, filepath.Join(dir, name), filepath.Join(dir, ".debug", name), filepath.Join("/usr/lib/debug", dir, name))
			}
		}
	}
	for _, c := range candidates {
		if c == path {
			continue
		}
		if d, err := elf.Open(c); err == nil {
			return d, c
		}
	}
	return nil, ""
}

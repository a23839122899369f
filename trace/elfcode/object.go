package elfcode

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// Object is one ELF file of an app (the program, its ELF interpreter, a
// library, a kernel image), opened for reading its code.
type Object struct {
	Path string
	f    *elf.File
	file *os.File
	// Type is elf.ET_DYN for position-independent objects.
	Type elf.Type
	// Interp is the program's ELF interpreter, when it has one.
	Interp string
	// Loads are its PT_LOAD segments; Relro its PT_GNU_RELRO, when any.
	Loads []elf.ProgHeader
	Relro *elf.ProgHeader
	syms  []sym
	dw    *dwarf.Data
	// dwErr is why there are no source lines.
	dwErr error
}

type sym struct {
	name       string
	addr, size uint64
}

// Open opens an ELF file.
func Open(path string) (*Object, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	f, err := elf.NewFile(file)
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	o := &Object{Path: path, f: f, file: file, Type: f.Type}
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_LOAD:
			o.Loads = append(o.Loads, p.ProgHeader)
		case elf.PT_GNU_RELRO:
			h := p.ProgHeader
			o.Relro = &h
		case elf.PT_INTERP:
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err == nil {
				o.Interp = string(trimNUL(b))
			}
		}
	}
	for _, get := range []func() ([]elf.Symbol, error){f.Symbols, f.DynamicSymbols} {
		ss, _ := get()
		for _, s := range ss {
			if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value != 0 && s.Name != "" {
				o.syms = append(o.syms, sym{s.Name, s.Value, s.Size})
			}
		}
	}
	sort.SliceStable(o.syms, func(i, j int) bool { return o.syms[i].addr < o.syms[j].addr })
	o.dw, o.dwErr = f.DWARF()
	return o, nil
}

func trimNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// Close closes the file.
func (o *Object) Close() error { return o.file.Close() }

// HasSymbols reports whether the object names any function.
func (o *Object) HasSymbols() bool { return len(o.syms) > 0 }

// HasLines reports whether the object has DWARF line information.
func (o *Object) HasLines() bool { return o.dw != nil }

// Size is the span of its loaded segments from address 0 (for a
// position-independent object, the bytes it takes from its load base).
func (o *Object) Size() uint64 {
	var end uint64
	for _, p := range o.Loads {
		end = max(end, p.Vaddr+p.Memsz)
	}
	return end
}

// Contains reports whether vaddr (relative to the object's base) lies in
// one of its loaded segments.
func (o *Object) Contains(vaddr uint64) bool {
	for _, p := range o.Loads {
		if vaddr >= p.Vaddr && vaddr < p.Vaddr+p.Memsz {
			return true
		}
	}
	return false
}

// RelroPages is the page range its RELRO mprotect covers: ld.so (or the
// static-pie start-up code) calls mprotect(base+start, length, PROT_READ).
func (o *Object) RelroPages() (start, length uint64, ok bool) {
	if o.Relro == nil || o.Relro.Memsz == 0 {
		return 0, 0, false
	}
	const page = 4096
	start = o.Relro.Vaddr &^ (page - 1)
	end := (o.Relro.Vaddr + o.Relro.Memsz) &^ (page - 1)
	if end <= start {
		return 0, 0, false
	}
	return start, end - start, true
}

// Symbol names the function at vaddr: its name and the offset into it.
func (o *Object) Symbol(vaddr uint64) (name string, off uint64, ok bool) {
	i := sort.Search(len(o.syms), func(i int) bool { return o.syms[i].addr > vaddr })
	for i--; i >= 0; i-- {
		s := o.syms[i]
		if s.size == 0 || vaddr < s.addr+s.size {
			return s.name, vaddr - s.addr, true
		}
		break
	}
	return "", 0, false
}

// Line is the source position of vaddr, from DWARF.
func (o *Object) Line(vaddr uint64) (file string, line int, ok bool) {
	if o.dw == nil {
		return "", 0, false
	}
	r := o.dw.Reader()
	cu, err := r.SeekPC(vaddr)
	if err != nil || cu == nil {
		return "", 0, false
	}
	lr, err := o.dw.LineReader(cu)
	if err != nil || lr == nil {
		return "", 0, false
	}
	// Code inlined into a function (an intrinsic from a compiler header)
	// is named by the line of the function's own source that it came
	// from: the call site of the outermost inlined subroutine.
	if f, l, ok := o.callSite(r, lr, vaddr); ok {
		return f, l, true
	}
	var e dwarf.LineEntry
	if err := lr.SeekPC(vaddr, &e); err != nil {
		return "", 0, false
	}
	if e.File == nil {
		return "", e.Line, e.Line > 0
	}
	return e.File.Name, e.Line, true
}

// callSite finds, within the subprogram holding vaddr, the first (so
// outermost) inlined subroutine that holds it, and returns its call site.
func (o *Object) callSite(r *dwarf.Reader, lr *dwarf.LineReader, vaddr uint64) (string, int, bool) {
	inSub := false
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			return "", 0, false
		}
		switch e.Tag {
		case dwarf.TagCompileUnit:
			return "", 0, false // the next unit
		case dwarf.TagSubprogram:
			if inSub {
				return "", 0, false // past the function: nothing inlined there
			}
			inSub = o.holds(e, vaddr)
			if !inSub && e.Children {
				r.SkipChildren()
			}
		case dwarf.TagInlinedSubroutine:
			if !inSub {
				continue
			}
			if !o.holds(e, vaddr) {
				if e.Children {
					r.SkipChildren()
				}
				continue
			}
			line, _ := e.Val(dwarf.AttrCallLine).(int64)
			idx, _ := e.Val(dwarf.AttrCallFile).(int64)
			files := lr.Files()
			if line <= 0 || idx < 0 || int(idx) >= len(files) || files[idx] == nil {
				return "", 0, false
			}
			return files[idx].Name, int(line), true
		}
	}
}

func (o *Object) holds(e *dwarf.Entry, vaddr uint64) bool {
	ranges, err := o.dw.Ranges(e)
	if err != nil {
		return false
	}
	for _, rg := range ranges {
		if vaddr >= rg[0] && vaddr < rg[1] {
			return true
		}
	}
	return false
}

// Code reads up to n bytes of the file image at vaddr.
func (o *Object) Code(vaddr uint64, n int) ([]byte, error) {
	for _, p := range o.Loads {
		if vaddr >= p.Vaddr && vaddr < p.Vaddr+p.Filesz {
			n = int(min(uint64(n), p.Vaddr+p.Filesz-vaddr))
			b := make([]byte, n)
			if _, err := o.file.ReadAt(b, int64(p.Off+vaddr-p.Vaddr)); err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("%s: 0x%x is in no loaded segment with file bytes", o.Path, vaddr)
}

// Executable reports whether vaddr is in an executable segment.
func (o *Object) Executable(vaddr uint64) bool {
	for _, p := range o.Loads {
		if vaddr >= p.Vaddr && vaddr < p.Vaddr+p.Memsz {
			return p.Flags&elf.PF_X != 0
		}
	}
	return false
}

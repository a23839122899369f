package elfcode

import (
	"debug/elf"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// Use is where the app's own code uses a CPU feature: the first
// instruction that needs it, in each function.
type Use struct {
	Feature Feature
	Func    string
	Addr    uint64 // relative to the object's base
	Insn    string
	File    string
	Line    int
	// Count is how many instructions of the function need it.
	Count int
}

// ScanOwnCode decodes the functions of the app's own code and lists the
// features beyond x86-64's baseline they use. The app's own code is every
// function but glibc's CPU-specific variants (__memcpy_avx512_unaligned,
// __strlen_evex, _dl_runtime_resolve_xsavec …), which glibc's ifuncs and
// ld.so choose by CPUID and XCR0 at start-up and so never run on a CPU or
// kernel without them (the rest of glibc is built for the x86-64
// baseline). What it cannot see: code reached through
// tables or JIT-compiled at run time, and functions without a symbol.
func ScanOwnCode(o *Object) ([]Use, error) {
	seen := map[uint64]bool{}
	var out []Use
	for _, s := range o.syms {
		if seen[s.addr] || s.size == 0 || !o.Executable(s.addr) {
			continue
		}
		seen[s.addr] = true
		if !o.ownCode(s) {
			continue
		}
		code, err := o.Code(s.addr, int(min(s.size, 1<<20)))
		if err != nil {
			continue
		}
		byFeature := map[string]int{}
		for pc := 0; pc < len(code); {
			inst, err := x86asm.Decode(code[pc:], 64)
			if err != nil || inst.Len == 0 {
				pc++
				continue
			}
			_, fs := classify(code[pc:pc+inst.Len], inst)
			if len(fs) > 0 {
				f := fs[0]
				if i, ok := byFeature[f.Name]; ok {
					out[i].Count++
				} else {
					u := Use{Feature: f, Func: s.name, Addr: s.addr + uint64(pc), Insn: x86asm.GNUSyntax(inst, s.addr+uint64(pc), nil), Count: 1}
					u.File, u.Line, _ = o.Line(u.Addr)
					byFeature[f.Name] = len(out)
					out = append(out, u)
				}
			}
			pc += inst.Len
		}
	}
	return out, nil
}

func (o *Object) ownCode(s sym) bool {
	return !glibcVariant(s.name)
}

// glibcVariant: glibc's multiarch implementations, chosen by its ifuncs.
func glibcVariant(name string) bool {
	if !strings.HasPrefix(name, "__") && !strings.HasPrefix(name, "_dl_") {
		return false
	}
	for _, w := range []string{"_avx", "_evex", "_sse", "_ssse3", "_erms", "_fma", "_rtm", "_xsave", "_x86_64_v"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// IsPIE reports whether the object is position-independent.
func (o *Object) IsPIE() bool { return o.Type == elf.ET_DYN }

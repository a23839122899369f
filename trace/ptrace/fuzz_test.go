package ptrace

import (
	"debug/elf"
	"testing"
)

// FuzzCFI: the .eh_frame decoder never panics on arbitrary CIE bodies and
// call frame instructions, and always stops.
func FuzzCFI(f *testing.F) {
	if lib, err := elf.Open("/usr/lib/x86_64-linux-gnu/libc.so.6"); err == nil {
		if eh, err := loadEHFrame(lib); err == nil {
			for i := 0; i < len(eh.fdes) && i < 64; i += 8 {
				fd := eh.fdes[i]
				f.Add(fd.cie.initial, fd.insns, fd.hi-fd.lo)
			}
		}
		lib.Close()
	}
	f.Add([]byte{1, 'z', 'R', 0, 1, 0x78, 16, 1, 0x1b, 0x0c, 7, 8, 0x90, 1}, []byte{0x41, 0x0e, 16, 0x86, 2, 0x0a, 0x0b}, uint64(64))
	f.Fuzz(func(t *testing.T, cieBody, insns []byte, pc uint64) {
		c := parseCIE(cieBody)
		if c == nil {
			c = &cie{codeAlign: 1, dataAlign: -8, raReg: dwRA}
		}
		fd := fde{lo: 0, hi: 1 << 20, cie: c, insns: insns}
		fd.rulesAt(pc)
	})
}

package ptrace

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"sort"
)

// This file unwinds with the call frame information of .eh_frame, which
// every x86_64 object carries whether or not it keeps frame pointers (the
// ABI requires it for exceptions). Only what user-space code at a syscall
// stop needs is implemented: CFA = register + offset, saved registers at
// CFA + offset; DWARF expressions end the walk.

// DWARF register numbers on x86_64.
const (
	dwRBX   = 3
	dwRBP   = 6
	dwRSP   = 7
	dwR12   = 12
	dwR15   = 15
	dwRA    = 16
	nDwRegs = 17
)

// fde is one frame description: the code range it covers and where its
// instructions are.
type fde struct {
	lo, hi uint64 // virtual addresses
	cie    *cie
	insns  []byte
}

type cie struct {
	codeAlign uint64
	dataAlign int64
	raReg     uint64
	fdeEnc    byte
	signal    bool
	hasZ      bool // augmentation data follows (the string starts with 'z')
	initial   []byte
}

// ehFrame is the parsed .eh_frame of one object, FDEs sorted by address.
type ehFrame struct {
	fdes []fde
}

func loadEHFrame(f *elf.File) (*ehFrame, error) {
	sec := f.Section(".eh_frame")
	if sec == nil || sec.Type == elf.SHT_NOBITS {
		return nil, errors.New("no .eh_frame")
	}
	data, err := sec.Data()
	if err != nil {
		return nil, err
	}
	eh := &ehFrame{}
	cies := map[uint64]*cie{}
	le := binary.LittleEndian
	for off := uint64(0); off+4 <= uint64(len(data)); {
		length := uint64(le.Uint32(data[off:]))
		hdr := uint64(4)
		if length == 0 {
			break
		}
		if length == 0xffffffff {
			if off+12 > uint64(len(data)) {
				break
			}
			length = le.Uint64(data[off+4:])
			hdr = 12
		}
		start := off + hdr
		end := start + length
		if end > uint64(len(data)) || length < 4 {
			break
		}
		id := le.Uint32(data[start:])
		body := data[start+4 : end]
		if id == 0 {
			if c := parseCIE(body); c != nil {
				cies[off] = c
			}
		} else {
			cieOff := start - uint64(id)
			c := cies[cieOff]
			if c == nil {
				c = parseCIEAt(data, cieOff, cies)
			}
			if c != nil {
				// pc_begin is encoded relative to its own address.
				pos := sec.Addr + start + 4
				r := reader{b: body}
				lo := r.encoded(c.fdeEnc, pos)
				rng := r.encoded(c.fdeEnc&0x0f, 0)
				if c.hasZ {
					n := r.uleb()
					r.skip(n)
				}
				if !r.bad && lo != 0 {
					eh.fdes = append(eh.fdes, fde{lo: lo, hi: lo + rng, cie: c, insns: r.rest()})
				}
			}
		}
		off = end
	}
	sort.Slice(eh.fdes, func(i, j int) bool { return eh.fdes[i].lo < eh.fdes[j].lo })
	return eh, nil
}

func parseCIEAt(data []byte, off uint64, cies map[uint64]*cie) *cie {
	if off+8 > uint64(len(data)) {
		return nil
	}
	length := uint64(binary.LittleEndian.Uint32(data[off:]))
	if length == 0xffffffff || off+4+length > uint64(len(data)) {
		return nil
	}
	c := parseCIE(data[off+8 : off+4+length])
	cies[off] = c
	return c
}

func parseCIE(b []byte) *cie {
	r := reader{b: b}
	version := r.u8()
	aug := r.cstring()
	c := &cie{fdeEnc: 0}
	c.codeAlign = r.uleb()
	c.dataAlign = r.sleb()
	if version == 1 {
		c.raReg = uint64(r.u8())
	} else {
		c.raReg = r.uleb()
	}
	if len(aug) > 0 && aug[0] == 'z' {
		c.hasZ = true
		n := r.uleb()
		augData := reader{b: r.take(n)}
		for _, ch := range aug[1:] {
			switch ch {
			case 'R':
				c.fdeEnc = augData.u8()
			case 'P':
				enc := augData.u8()
				augData.encoded(enc, 0)
			case 'L':
				augData.u8()
			case 'S':
				c.signal = true
			default:
				// Unknown augmentation: the 'z' length lets us skip it.
			}
		}
	} else if aug != "" {
		return nil
	}
	if r.bad {
		return nil
	}
	c.initial = r.rest()
	return c
}

func (e *ehFrame) find(pc uint64) *fde {
	i := sort.Search(len(e.fdes), func(i int) bool { return e.fdes[i].lo > pc }) - 1
	if i >= 0 && pc < e.fdes[i].hi {
		return &e.fdes[i]
	}
	return nil
}

// rule says where a register's value of the caller is.
type rule struct {
	kind byte // 0 same value, 1 at CFA+off, 2 undefined, 3 in register reg, 4 CFA+off is the value
	off  int64
	reg  uint64
}

type frameRules struct {
	cfaReg uint64
	cfaOff int64
	cfaExp bool
	regs   [nDwRegs]rule
}

// rulesAt runs the CIE's and the FDE's instructions up to pc.
func (f *fde) rulesAt(pc uint64) (frameRules, bool) {
	var fr frameRules
	fr.regs[dwRA] = rule{kind: 2}
	ok := run(f.cie, f.cie.initial, f.lo, ^uint64(0), &fr, nil)
	init := fr
	return fr, ok && run(f.cie, f.insns, f.lo, pc, &fr, &init)
}

func run(c *cie, insns []byte, loc, target uint64, fr *frameRules, init *frameRules) bool {
	r := reader{b: insns}
	var stack []frameRules
	set := func(reg uint64, ru rule) {
		if reg < nDwRegs {
			fr.regs[reg] = ru
		}
	}
	restore := func(reg uint64) {
		if init != nil && reg < nDwRegs {
			fr.regs[reg] = init.regs[reg]
		}
	}
	for !r.done() && !r.bad {
		op := r.u8()
		switch op >> 6 {
		case 1: // advance_loc
			loc += uint64(op&0x3f) * c.codeAlign
			if loc > target {
				return true
			}
			continue
		case 2: // offset
			set(uint64(op&0x3f), rule{kind: 1, off: int64(r.uleb()) * c.dataAlign})
			continue
		case 3: // restore
			restore(uint64(op & 0x3f))
			continue
		}
		switch op {
		case 0x00: // nop
		case 0x01: // set_loc
			loc = r.encoded(c.fdeEnc, 0)
		case 0x02, 0x03, 0x04: // advance_loc1/2/4
			var d uint64
			switch op {
			case 0x02:
				d = uint64(r.u8())
			case 0x03:
				d = uint64(r.u16())
			default:
				d = uint64(r.u32())
			}
			loc += d * c.codeAlign
			if loc > target {
				return true
			}
		case 0x05: // offset_extended
			reg := r.uleb()
			set(reg, rule{kind: 1, off: int64(r.uleb()) * c.dataAlign})
		case 0x06: // restore_extended
			restore(r.uleb())
		case 0x07: // undefined
			set(r.uleb(), rule{kind: 2})
		case 0x08: // same_value
			set(r.uleb(), rule{kind: 0})
		case 0x09: // register
			reg := r.uleb()
			set(reg, rule{kind: 3, reg: r.uleb()})
		case 0x0a: // remember_state
			stack = append(stack, *fr)
		case 0x0b: // restore_state
			if len(stack) == 0 {
				return false
			}
			// The whole row, CFA rule included (as libgcc's unwinder does).
			*fr = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
		case 0x0c: // def_cfa
			fr.cfaReg = r.uleb()
			fr.cfaOff = int64(r.uleb())
			fr.cfaExp = false
		case 0x0d: // def_cfa_register
			fr.cfaReg = r.uleb()
			fr.cfaExp = false
		case 0x0e: // def_cfa_offset
			fr.cfaOff = int64(r.uleb())
		case 0x0f: // def_cfa_expression
			r.skip(r.uleb())
			fr.cfaExp = true
		case 0x10: // expression
			reg := r.uleb()
			r.skip(r.uleb())
			set(reg, rule{kind: 2})
		case 0x11: // offset_extended_sf
			reg := r.uleb()
			set(reg, rule{kind: 1, off: r.sleb() * c.dataAlign})
		case 0x12: // def_cfa_sf
			fr.cfaReg = r.uleb()
			fr.cfaOff = r.sleb() * c.dataAlign
			fr.cfaExp = false
		case 0x13: // def_cfa_offset_sf
			fr.cfaOff = r.sleb() * c.dataAlign
		case 0x14: // val_offset
			reg := r.uleb()
			set(reg, rule{kind: 4, off: int64(r.uleb()) * c.dataAlign})
		case 0x15: // val_offset_sf
			reg := r.uleb()
			set(reg, rule{kind: 4, off: r.sleb() * c.dataAlign})
		case 0x16: // val_expression
			reg := r.uleb()
			r.skip(r.uleb())
			set(reg, rule{kind: 2})
		case 0x2e: // GNU_args_size
			r.uleb()
		case 0x2f: // GNU_negative_offset_extended
			reg := r.uleb()
			set(reg, rule{kind: 1, off: -int64(r.uleb()) * c.dataAlign})
		default:
			return false
		}
	}
	return !r.bad
}

// reader decodes the DWARF encodings .eh_frame uses.
type reader struct {
	b   []byte
	p   int
	bad bool
}

func (r *reader) done() bool { return r.p >= len(r.b) }

func (r *reader) need(n int) bool {
	if r.bad || n < 0 || r.p+n > len(r.b) {
		r.bad = true
		return false
	}
	return true
}

func (r *reader) u8() byte {
	if !r.need(1) {
		return 0
	}
	r.p++
	return r.b[r.p-1]
}

func (r *reader) u16() uint16 {
	if !r.need(2) {
		return 0
	}
	r.p += 2
	return binary.LittleEndian.Uint16(r.b[r.p-2:])
}

func (r *reader) u32() uint32 {
	if !r.need(4) {
		return 0
	}
	r.p += 4
	return binary.LittleEndian.Uint32(r.b[r.p-4:])
}

func (r *reader) u64() uint64 {
	if !r.need(8) {
		return 0
	}
	r.p += 8
	return binary.LittleEndian.Uint64(r.b[r.p-8:])
}

func (r *reader) uleb() uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		b := r.u8()
		if r.bad {
			return 0
		}
		if shift < 64 {
			v |= uint64(b&0x7f) << shift
		}
		if b&0x80 == 0 {
			return v
		}
	}
}

func (r *reader) sleb() int64 {
	var v int64
	var shift uint
	var b byte
	for {
		b = r.u8()
		if r.bad {
			return 0
		}
		if shift < 64 {
			v |= int64(b&0x7f) << shift
		}
		shift += 7
		if b&0x80 == 0 {
			break
		}
	}
	if shift < 64 && b&0x40 != 0 {
		v |= -1 << shift
	}
	return v
}

func (r *reader) cstring() string {
	start := r.p
	for !r.done() && r.b[r.p] != 0 {
		r.p++
	}
	s := string(r.b[start:r.p])
	r.u8()
	return s
}

func (r *reader) take(n uint64) []byte {
	if !r.need(int(n)) {
		return nil
	}
	r.p += int(n)
	return r.b[r.p-int(n) : r.p]
}

func (r *reader) skip(n uint64) { r.take(n) }

func (r *reader) rest() []byte {
	if r.bad {
		return nil
	}
	return r.b[r.p:]
}

// encoded reads a DW_EH_PE-encoded pointer; pos is the address of the
// field for pc-relative encodings.
func (r *reader) encoded(enc byte, pos uint64) uint64 {
	if enc == 0xff { // omit
		return 0
	}
	start := r.p
	var v uint64
	switch enc & 0x0f {
	case 0x00: // absptr
		v = r.u64()
	case 0x01:
		v = r.uleb()
	case 0x02:
		v = uint64(r.u16())
	case 0x03:
		v = uint64(r.u32())
	case 0x04:
		v = r.u64()
	case 0x09:
		v = uint64(r.sleb())
	case 0x0a:
		v = uint64(int64(int16(r.u16())))
	case 0x0b:
		v = uint64(int64(int32(r.u32())))
	case 0x0c:
		v = r.u64()
	default:
		r.bad = true
		return 0
	}
	switch enc & 0x70 {
	case 0x10: // pcrel
		v += pos + uint64(start)
	}
	return v
}

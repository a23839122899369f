// Package elfcode reads the code of the ELF programs and libraries an app
// runs: symbols and source lines of an address (debug/elf, debug/dwarf),
// the instruction there (golang.org/x/arch/x86/x86asm), and the CPU
// feature that instruction needs, from its encoding. It is part of the
// trace stage of the pipeline (trace → analyze → report): what it reads
// are the app's own files, as the tracers read its runs.
package elfcode

import (
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// Feature is an x86 CPU feature an instruction needs.
type Feature struct {
	// Name is the feature as the vendors' manuals name it: "AVX-512F",
	// "AVX2", "FMA", "SSE4.2" …
	Name string `json:"name"`
	// CPUInfo is the flag of /proc/cpuinfo that says a CPU has it; QEMU
	// the property of qemu's CPU models (-cpu max,QEMU=off).
	CPUInfo string `json:"cpuinfo"`
	QEMU    string `json:"qemu"`
	// State is the XSAVE state the OS must enable in XCR0 for the
	// instruction to run ("AVX" for the YMM registers, "AVX-512" for the
	// opmask and ZMM registers); "" for none.
	State string `json:"state,omitempty"`
}

var features = map[string]Feature{}

func feat(name, cpuinfo, qemu, state string) Feature {
	f := Feature{Name: name, CPUInfo: cpuinfo, QEMU: qemu, State: state}
	features[name] = f
	return f
}

var (
	fAVX512F  = feat("AVX-512F", "avx512f", "avx512f", "AVX-512")
	fAVX512VL = feat("AVX-512VL", "avx512vl", "avx512vl", "AVX-512")
	fAVX512BW = feat("AVX-512BW", "avx512bw", "avx512bw", "AVX-512")
	fAVX512DQ = feat("AVX-512DQ", "avx512dq", "avx512dq", "AVX-512")
	fAVX512CD = feat("AVX-512CD", "avx512cd", "avx512cd", "AVX-512")
	fAVX      = feat("AVX", "avx", "avx", "AVX")
	fAVX2     = feat("AVX2", "avx2", "avx2", "AVX")
	fFMA      = feat("FMA", "fma", "fma", "AVX")
	fF16C     = feat("F16C", "f16c", "f16c", "AVX")
	fBMI1     = feat("BMI1", "bmi1", "bmi1", "")
	fBMI2     = feat("BMI2", "bmi2", "bmi2", "")
	fPOPCNT   = feat("POPCNT", "popcnt", "popcnt", "")
	fMOVBE    = feat("MOVBE", "movbe", "movbe", "")
	fRDRAND   = feat("RDRAND", "rdrand", "rdrand", "")
	fRDSEED   = feat("RDSEED", "rdseed", "rdseed", "")
	fADX      = feat("ADX", "adx", "adx", "")
	fAES      = feat("AES-NI", "aes", "aes", "")
	fPCLMUL   = feat("PCLMULQDQ", "pclmulqdq", "pclmulqdq", "")
	fSHA      = feat("SHA", "sha_ni", "sha-ni", "")
	fSSE3     = feat("SSE3", "pni", "pni", "")
	fSSSE3    = feat("SSSE3", "ssse3", "ssse3", "")
	fSSE41    = feat("SSE4.1", "sse4_1", "sse4.1", "")
	fSSE42    = feat("SSE4.2", "sse4_2", "sse4.2", "")
	fXSAVE    = feat("XSAVE", "xsave", "xsave", "")
)

// LookupFeature returns the feature named name ("AVX2").
func LookupFeature(name string) (Feature, bool) {
	f, ok := features[name]
	return f, ok
}

// Insn is one decoded instruction.
type Insn struct {
	// Text is the instruction in AT&T syntax (as objdump and gdb print
	// it); Intel the same in Intel syntax.
	Text, Intel string
	Bytes       []byte
	// Encoding is "EVEX", "VEX" or "legacy".
	Encoding string
	// Features are what the instruction needs beyond x86-64's baseline
	// (SSE2), the one that decides first.
	Features []Feature
}

// Hex is the instruction's bytes in hex, spaced as objdump prints them.
func (in Insn) Hex() string {
	var b strings.Builder
	for i, c := range in.Bytes {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(hex.EncodeToString([]byte{c}))
	}
	return b.String()
}

// Decode decodes the instruction at the start of code (64-bit mode), at
// address pc, and names the CPU features it needs.
func Decode(code []byte, pc uint64) (Insn, error) {
	inst, err := x86asm.Decode(code, 64)
	if err != nil {
		return Insn{}, fmt.Errorf("cannot decode %x: %w", code[:min(len(code), 15)], err)
	}
	in := Insn{Text: x86asm.GNUSyntax(inst, pc, nil), Intel: x86asm.IntelSyntax(inst, pc, nil), Bytes: append([]byte(nil), code[:inst.Len]...)}
	in.Encoding, in.Features = classify(code[:inst.Len], inst)
	return in, nil
}

// classify names the encoding and the features of one instruction: EVEX
// (the 0x62 prefix: BOUND is invalid in 64-bit mode) is AVX-512, VEX
// (0xC4, 0xC5) AVX and its successors, by opcode map and operation.
func classify(b []byte, inst x86asm.Inst) (string, []Feature) {
	i := 0
	for i < len(b) && isLegacyPrefix(b[i]) {
		i++
	}
	if i < len(b) && b[i]&0xf0 == 0x40 { // REX
		i++
	}
	op := inst.Op.String()
	if i >= len(b) {
		return "legacy", nil
	}
	switch b[i] {
	case 0x62:
		fs := []Feature{fAVX512F}
		if i+3 < len(b) {
			ll := (b[i+3] >> 5) & 3
			if ll < 2 && !isScalarOp(op) {
				fs = append(fs, fAVX512VL)
			}
		}
		switch {
		case isByteWordOp(op):
			fs = append(fs, fAVX512BW)
		case isDQOp(op):
			fs = append(fs, fAVX512DQ)
		case strings.HasPrefix(op, "VPCONFLICT") || strings.HasPrefix(op, "VPLZCNT") || strings.HasPrefix(op, "VPBROADCASTM"):
			fs = append(fs, fAVX512CD)
		}
		// The F that every EVEX instruction needs decides first, unless
		// a narrower one is the whole story.
		return "EVEX", fs
	case 0xc4, 0xc5:
		wide := false
		if b[i] == 0xc5 && i+1 < len(b) {
			wide = b[i+1]&0x4 != 0
		} else if i+2 < len(b) {
			wide = b[i+2]&0x4 != 0
		}
		return "VEX", []Feature{vexFeature(op, wide, inst)}
	}
	return "legacy", legacyFeatures(op)
}

func isLegacyPrefix(c byte) bool {
	switch c {
	case 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65:
		return true
	}
	return false
}

func vexFeature(op string, wide bool, inst x86asm.Inst) Feature {
	switch {
	case strings.HasPrefix(op, "VFMADD"), strings.HasPrefix(op, "VFMSUB"), strings.HasPrefix(op, "VFNMADD"), strings.HasPrefix(op, "VFNMSUB"):
		return fFMA
	case op == "VCVTPH2PS", op == "VCVTPS2PH":
		return fF16C
	case op == "ANDN", op == "BEXTR", op == "BLSI", op == "BLSMSK", op == "BLSR":
		return fBMI1
	case op == "BZHI", op == "MULX", op == "PDEP", op == "PEXT", op == "RORX", op == "SARX", op == "SHLX", op == "SHRX":
		return fBMI2
	case strings.HasPrefix(op, "VPBROADCAST"), op == "VBROADCASTI128", op == "VPERM2I128", op == "VPERMD", op == "VPERMQ",
		op == "VPERMPS", op == "VPERMPD", op == "VINSERTI128", op == "VEXTRACTI128", strings.HasPrefix(op, "VPMASKMOV"),
		strings.HasPrefix(op, "VPSLLV"), strings.HasPrefix(op, "VPSRLV"), op == "VPSRAVD", op == "VPBLENDD",
		strings.HasPrefix(op, "VGATHER"), strings.HasPrefix(op, "VPGATHER"):
		return fAVX2
	case op == "VBROADCASTSS" || op == "VBROADCASTSD":
		if r, ok := inst.Args[1].(x86asm.Reg); ok && r >= x86asm.X0 && r <= x86asm.X15 {
			return fAVX2 // from a register: AVX2; from memory: AVX
		}
		return fAVX
	case wide && strings.HasPrefix(op, "VP") && op != "VPERM2F128" && !strings.HasPrefix(op, "VPERMIL") && op != "VPTEST" && op != "VPCLMULQDQ":
		return fAVX2 // 256-bit integer operations
	case op == "VMPSADBW" && wide, op == "VMOVNTDQA" && wide:
		return fAVX2
	}
	return fAVX
}

func isScalarOp(op string) bool {
	return strings.HasSuffix(op, "SS") || strings.HasSuffix(op, "SD") && !strings.HasPrefix(op, "VP") || op == "VMOVD" || op == "VMOVQ"
}

func isByteWordOp(op string) bool {
	if op == "VMOVDQU8" || op == "VMOVDQU16" || strings.HasPrefix(op, "KMOVB") {
		return true
	}
	if !strings.HasPrefix(op, "VP") {
		return false
	}
	for _, s := range []string{"ADDB", "ADDW", "ADDSB", "ADDSW", "ADDUSB", "ADDUSW", "SUBB", "SUBW", "SUBSB", "SUBSW", "SUBUSB", "SUBUSW",
		"CMPEQB", "CMPEQW", "CMPGTB", "CMPGTW", "CMPB", "CMPUB", "CMPW", "CMPUW", "MINUB", "MINUW", "MINSB", "MINSW", "MAXUB", "MAXUW", "MAXSB", "MAXSW",
		"SHUFB", "AVGB", "AVGW", "MULLW", "MULHW", "MULHUW", "MADDUBSW", "MADDWD", "SADBW", "ABSB", "ABSW", "PACKSSWB", "PACKUSWB", "PACKSSDW", "PACKUSDW",
		"UNPCKLBW", "UNPCKHBW", "UNPCKLWD", "UNPCKHWD", "SLLW", "SRLW", "SRAW", "BROADCASTB", "BROADCASTW", "MOVZXBW", "MOVSXBW", "ALIGNR", "TESTMB", "TESTMW", "MOVB2M", "MOVW2M", "MOVM2B", "MOVM2W", "MOVWB", "PERMW"} {
		if op == "VP"+s || op == "V"+s {
			return true
		}
	}
	return false
}

func isDQOp(op string) bool {
	switch op {
	case "VPMULLQ", "VCVTQQ2PD", "VCVTQQ2PS", "VCVTUQQ2PD", "VCVTUQQ2PS", "VCVTPD2QQ", "VCVTPS2QQ", "VCVTPD2UQQ", "VCVTPS2UQQ",
		"VCVTTPD2QQ", "VCVTTPS2QQ", "VCVTTPD2UQQ", "VCVTTPS2UQQ", "VFPCLASSPD", "VFPCLASSPS", "VRANGEPD", "VRANGEPS", "VREDUCEPD", "VREDUCEPS",
		"VEXTRACTF64X2", "VEXTRACTI64X2", "VINSERTF64X2", "VINSERTI64X2", "VBROADCASTF32X8", "VBROADCASTI32X8", "VPMOVD2M", "VPMOVQ2M", "VPMOVM2D", "VPMOVM2Q":
		return true
	}
	return false
}

func legacyFeatures(op string) []Feature {
	switch op {
	case "POPCNT":
		return []Feature{fPOPCNT}
	// LZCNT and TZCNT are not here: a CPU without them runs them as
	// BSR and BSF (the F3 prefix is ignored), never an invalid opcode;
	// glibc's baseline code uses TZCNT so.
	case "MOVBE":
		return []Feature{fMOVBE}
	case "RDRAND":
		return []Feature{fRDRAND}
	case "RDSEED":
		return []Feature{fRDSEED}
	case "ADCX", "ADOX":
		return []Feature{fADX}
	case "AESENC", "AESENCLAST", "AESDEC", "AESDECLAST", "AESIMC", "AESKEYGENASSIST":
		return []Feature{fAES}
	case "PCLMULQDQ":
		return []Feature{fPCLMUL}
	case "SHA1RNDS4", "SHA1NEXTE", "SHA1MSG1", "SHA1MSG2", "SHA256RNDS2", "SHA256MSG1", "SHA256MSG2":
		return []Feature{fSHA}
	case "CRC32", "PCMPESTRI", "PCMPESTRM", "PCMPISTRI", "PCMPISTRM", "PCMPGTQ":
		return []Feature{fSSE42}
	case "PSHUFB", "PALIGNR", "PHADDW", "PHADDD", "PHADDSW", "PHSUBW", "PHSUBD", "PHSUBSW", "PMADDUBSW", "PMULHRSW", "PSIGNB", "PSIGNW", "PSIGND", "PABSB", "PABSW", "PABSD":
		return []Feature{fSSSE3}
	case "PBLENDVB", "BLENDVPS", "BLENDVPD", "BLENDPS", "BLENDPD", "PBLENDW", "ROUNDPS", "ROUNDPD", "ROUNDSS", "ROUNDSD", "PMULLD", "PMULDQ", "PTEST",
		"PEXTRB", "PEXTRD", "PEXTRQ", "PINSRB", "PINSRD", "PINSRQ", "PMINSB", "PMINSD", "PMINUW", "PMINUD", "PMAXSB", "PMAXSD", "PMAXUW", "PMAXUD",
		"PCMPEQQ", "PACKUSDW", "PMOVSXBW", "PMOVSXBD", "PMOVSXBQ", "PMOVSXWD", "PMOVSXWQ", "PMOVSXDQ", "PMOVZXBW", "PMOVZXBD", "PMOVZXBQ",
		"PMOVZXWD", "PMOVZXWQ", "PMOVZXDQ", "INSERTPS", "EXTRACTPS", "DPPS", "DPPD", "MPSADBW", "PHMINPOSUW", "MOVNTDQA":
		return []Feature{fSSE41}
	case "ADDSUBPS", "ADDSUBPD", "HADDPS", "HADDPD", "HSUBPS", "HSUBPD", "LDDQU", "MOVDDUP", "MOVSHDUP", "MOVSLDUP":
		return []Feature{fSSE3}
	case "XGETBV", "XSAVE", "XRSTOR", "XSAVEOPT", "XSAVEC", "XSAVES":
		return []Feature{fXSAVE}
	}
	return nil
}

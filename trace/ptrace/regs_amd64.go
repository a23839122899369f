package ptrace

import "golang.org/x/sys/unix"

// regs are the registers of a syscall stop, in the x86_64 syscall ABI.
type regs struct{ r unix.PtraceRegs }

func getRegs(tid int, out *regs) error { return unix.PtraceGetRegs(tid, &out.r) }
func setRegs(tid int, in *regs) error  { return unix.PtraceSetRegs(tid, &in.r) }

func (r *regs) setRet(v int64) { r.r.Rax = uint64(v) }
func (r *regs) setNr(nr int)   { r.r.Orig_rax = uint64(int64(nr)) }
func (r *regs) fp() uint64     { return r.r.Rbp }

// auditArch is AUDIT_ARCH_X86_64, the arch seccomp_data carries.
const auditArch = 0xc000003e

// calleeSaved are the registers the x86_64 ABI keeps across calls that
// the unwinder restores: rbx, r12, r13, r14, r15.
func (r *regs) calleeSaved() [5]uint64 { return [5]uint64{r.r.Rbx, r.r.R12, r.r.R13, r.r.R14, r.r.R15} }

//go:build !amd64

package ptrace

import "errors"

type regs struct{}

var errArch = errors.New("the built-in ptrace tracer supports x86_64 only; use --backend strace")

func getRegs(tid int, out *regs) error { return errArch }
func setRegs(tid int, in *regs) error  { return errArch }
func (r *regs) setRet(v int64)         {}
func (r *regs) setNr(nr int)           {}
func (r *regs) fp() uint64             { return 0 }
func (r *regs) calleeSaved() [5]uint64 { return [5]uint64{} }

const auditArch = 0

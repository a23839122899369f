package ptrace

import (
	"golang.org/x/sys/unix"

	"github.com/syscov/syscov/trace/sysargs"
)

// tracee is a traced thread's memory, read with process_vm_readv.
type tracee int

var _ sysargs.Memory = tracee(0)

func (t tracee) Read(addr uint64, buf []byte) error { return readTracee(int(t), addr, buf) }

// readTracee reads len(buf) bytes at addr of tid.
func readTracee(tid int, addr uint64, buf []byte) error {
	if addr == 0 || len(buf) == 0 {
		return unix.EFAULT
	}
	local := []unix.Iovec{{Base: &buf[0], Len: uint64(len(buf))}}
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(buf)}}
	n, err := unix.ProcessVMReadv(tid, local, remote, 0)
	if err != nil {
		return err
	}
	if n != len(buf) {
		return unix.EFAULT
	}
	return nil
}

package sysargs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/u-root/u-root/pkg/strace"
)

// The syscalls the tracer does not decode itself (argKinds) are written
// with u-root's pkg/strace tables (gVisor's argument formats for every
// x86_64 syscall: paths, timespecs, sockaddrs, struct stat, …) instead of
// six raw registers. Its text is close to strace's, not the same (a
// struct is written as Go writes it); the analysis reads only the
// arguments syscov decodes itself.

// memTask lets u-root read the traced memory.
type memTask struct{ mem Memory }

func (t memTask) Name() string { return "" }

func (t memTask) Read(addr strace.Addr, v any) (int, error) {
	n := binary.Size(v)
	if n <= 0 {
		return 0, fmt.Errorf("cannot read a %T", v)
	}
	buf := make([]byte, n)
	if err := t.mem.Read(uint64(addr), buf); err != nil {
		return 0, err
	}
	if b, ok := v.([]byte); ok {
		return copy(b, buf), nil
	}
	return n, binary.Read(bytes.NewReader(buf), binary.LittleEndian, v)
}

// urootArgs writes a syscall's arguments with u-root's formats; ok is
// false when u-root does not know the syscall either.
func urootArgs(mem Memory, nr int, args [6]uint64) (text string, ok bool) {
	if _, err := strace.ByNumber(uintptr(nr)); err != nil {
		return "", false
	}
	ev := &strace.SyscallEvent{Sysno: nr}
	for i, a := range args {
		ev.Args[i] = strace.SyscallArgument{Value: uintptr(a)}
	}
	s := strace.SysCallEnter(memTask{mem}, ev) // " E name(args)"
	open := strings.IndexByte(s, '(')
	if open < 0 || !strings.HasSuffix(s, ")") {
		return "", false
	}
	return s[open+1 : len(s)-1], true
}

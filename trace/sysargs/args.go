// Package sysargs writes a syscall's arguments the way strace does, from
// its registers and the traced memory, for both of syscov's own tracers
// (ptrace and eBPF): the analysis reads the same text from either. It is
// part of the trace stage and imports only trace.
package sysargs

import (
	"encoding/binary"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/syscov/syscov/trace"
)

// argKind says how to print one syscall argument, strace-style.
type argKind byte

const (
	aHex        argKind = iota // a pointer or opaque value: NULL or 0x...
	aInt                       // signed decimal
	aUint                      // unsigned decimal
	aFd                        // file descriptor
	aDirfd                     // AT_FDCWD or an fd
	aPath                      // NUL-terminated string in the tracee
	aBuf                       // buffer whose length is the next argument
	aOpen                      // open(2) flags
	aMode                      // octal mode
	aClone                     // clone(2) flags
	aClone3                    // struct clone_args *
	aSig                       // signal number
	aDomain                    // socket domain
	aSockT                     // socket type
	aProt                      // mmap prot
	aMap                       // mmap flags
	aArgv                      // execve argv
	aEnvp                      // execve envp
	aFcntl                     // fcntl command
	aFutexOp                   // futex operation
	aFutexVal3                 // futex val3 (a bitset mask)
	aArchPrctl                 // arch_prctl code
	aClock                     // clock id
	aTimerFlags                // clock_nanosleep flags
	aAtFlags                   // AT_* flags
	aSockaddr                  // struct sockaddr *, its length the next argument
)

// argKinds are the arguments of the syscalls syscov prints itself, as
// strace does (the analysis reads them); the others are written with
// u-root's tables (uroot.go), or as six registers in hex when it does not
// know them either.
var argKinds = map[string][]argKind{
	"read": {aFd, aHex, aUint}, "write": {aFd, aBuf, aUint}, "pread64": {aFd, aHex, aUint, aInt},
	"pwrite64": {aFd, aBuf, aUint, aInt}, "readv": {aFd, aHex, aInt}, "writev": {aFd, aHex, aInt},
	"open": {aPath, aOpen, aMode}, "openat": {aDirfd, aPath, aOpen, aMode}, "creat": {aPath, aMode},
	"close": {aFd}, "stat": {aPath, aHex}, "lstat": {aPath, aHex}, "fstat": {aFd, aHex},
	"newfstatat": {aDirfd, aPath, aHex, aAtFlags}, "statx": {aDirfd, aPath, aAtFlags, aHex, aHex},
	"access": {aPath, aInt}, "faccessat": {aDirfd, aPath, aInt}, "faccessat2": {aDirfd, aPath, aInt, aAtFlags},
	"readlink": {aPath, aHex, aUint}, "readlinkat": {aDirfd, aPath, aHex, aUint},
	"execve": {aPath, aArgv, aEnvp}, "execveat": {aDirfd, aPath, aArgv, aEnvp, aHex},
	"clone": {aClone, aHex, aHex, aHex, aHex}, "clone3": {aClone3, aUint}, "fork": {}, "vfork": {},
	"socket": {aDomain, aSockT, aInt}, "socketpair": {aDomain, aSockT, aInt, aHex},
	"connect": {aFd, aSockaddr, aUint}, "bind": {aFd, aSockaddr, aUint}, "listen": {aFd, aInt},
	"accept": {aFd, aHex, aHex}, "accept4": {aFd, aHex, aHex, aHex},
	"mmap": {aHex, aUint, aProt, aMap, aFd, aHex}, "mprotect": {aHex, aUint, aProt}, "munmap": {aHex, aUint},
	"brk": {aHex}, "kill": {aInt, aSig}, "tgkill": {aInt, aInt, aSig}, "tkill": {aInt, aSig},
	"rt_sigaction": {aSig, aHex, aHex, aUint}, "rt_sigprocmask": {aInt, aHex, aHex, aUint},
	"ioctl": {aFd, aHex, aHex}, "fcntl": {aFd, aFcntl, aHex},
	"rename": {aPath, aPath}, "renameat": {aDirfd, aPath, aDirfd, aPath}, "renameat2": {aDirfd, aPath, aDirfd, aPath, aHex},
	"unlink": {aPath}, "unlinkat": {aDirfd, aPath, aAtFlags}, "mkdir": {aPath, aMode}, "mkdirat": {aDirfd, aPath, aMode},
	"rmdir": {aPath}, "chdir": {aPath}, "fchdir": {aFd}, "getdents64": {aFd, aHex, aUint}, "getdents": {aFd, aHex, aUint},
	"dup": {aFd}, "dup2": {aFd, aFd}, "dup3": {aFd, aFd, aHex}, "pipe": {aHex}, "pipe2": {aHex, aHex},
	"wait4": {aInt, aHex, aHex, aHex}, "exit": {aInt}, "exit_group": {aInt}, "lseek": {aFd, aInt, aInt},
	"fsync": {aFd}, "fdatasync": {aFd}, "ftruncate": {aFd, aInt}, "truncate": {aPath, aInt},
	"getpid": {}, "getppid": {}, "gettid": {}, "getuid": {}, "geteuid": {}, "getgid": {}, "getegid": {},
	"sched_yield": {}, "pause": {}, "sync": {}, "setsid": {}, "getpgrp": {}, "rt_sigreturn": {},
	"epoll_create": {aInt}, "epoll_create1": {aHex}, "epoll_ctl": {aFd, aInt, aFd, aHex},
	"epoll_wait": {aFd, aHex, aInt, aInt}, "epoll_pwait": {aFd, aHex, aInt, aInt, aHex, aUint},
	"poll": {aHex, aUint, aInt}, "ppoll": {aHex, aUint, aHex, aHex, aUint},
	"select": {aInt, aHex, aHex, aHex, aHex}, "pselect6": {aInt, aHex, aHex, aHex, aHex, aHex},
	"futex": {aHex, aFutexOp, aInt, aHex, aHex, aFutexVal3}, "set_tid_address": {aHex}, "set_robust_list": {aHex, aUint},
	"arch_prctl": {aArchPrctl, aHex}, "prctl": {aInt, aHex, aHex, aHex, aHex}, "prlimit64": {aInt, aInt, aHex, aHex},
	"getrandom": {aHex, aUint, aHex}, "rseq": {aHex, aUint, aHex, aHex}, "madvise": {aHex, aUint, aInt},
	"sendto": {aFd, aBuf, aUint, aHex, aSockaddr, aUint}, "recvfrom": {aFd, aHex, aUint, aHex, aHex, aHex},
	"sendmsg": {aFd, aHex, aHex}, "recvmsg": {aFd, aHex, aHex}, "shutdown": {aFd, aInt},
	"setsockopt": {aFd, aInt, aInt, aHex, aUint}, "getsockopt": {aFd, aInt, aInt, aHex, aHex},
	"getsockname": {aFd, aHex, aHex}, "getpeername": {aFd, aHex, aHex}, "umask": {aMode},
	"clock_gettime": {aClock, aHex}, "gettimeofday": {aHex, aHex}, "nanosleep": {aHex, aHex},
	"clock_nanosleep": {aClock, aTimerFlags, aHex, aHex}, "getcwd": {aHex, aUint}, "uname": {aHex}, "sysinfo": {aHex},
	"eventfd2": {aUint, aHex}, "timerfd_create": {aInt, aHex}, "signalfd4": {aFd, aHex, aUint, aHex},
	"inotify_init1": {aHex}, "memfd_create": {aPath, aHex}, "sched_getaffinity": {aInt, aUint, aHex},
	"setitimer": {aInt, aHex, aHex}, "chmod": {aPath, aMode}, "fchmod": {aFd, aMode}, "chown": {aPath, aInt, aInt},
	"symlink": {aPath, aPath}, "link": {aPath, aPath}, "flock": {aFd, aInt},
	// The rest of the path family: a tracer that copies memory at the
	// call (eBPF) copies the paths of the calls named here.
	"statfs": {aPath, aHex}, "fstatfs": {aFd, aHex}, "lchown": {aPath, aInt, aInt}, "fchownat": {aDirfd, aPath, aInt, aInt, aAtFlags},
	"fchmodat": {aDirfd, aPath, aMode}, "utimensat": {aDirfd, aPath, aHex, aAtFlags}, "symlinkat": {aPath, aDirfd, aPath},
	"linkat": {aDirfd, aPath, aDirfd, aPath, aAtFlags}, "mknod": {aPath, aMode, aHex}, "mknodat": {aDirfd, aPath, aMode, aHex},
	"inotify_add_watch": {aFd, aPath, aHex}, "openat2": {aDirfd, aPath, aHex, aUint}, "chroot": {aPath},
	"utime": {aPath, aHex}, "utimes": {aPath, aHex}, "getxattr": {aPath, aPath, aHex, aUint}, "lgetxattr": {aPath, aPath, aHex, aUint},
	"setxattr": {aPath, aPath, aHex, aUint, aHex}, "lsetxattr": {aPath, aPath, aHex, aUint, aHex}, "listxattr": {aPath, aHex, aUint},
	"llistxattr": {aPath, aHex, aUint}, "umount2": {aPath, aHex}, "mount": {aPath, aPath, aPath, aHex, aHex},
}

// Memory reads the traced process's memory: len(buf) bytes at addr, or
// an error when they cannot be read (the ptrace backend reads the tracee
// with process_vm_readv; the eBPF backend answers from what its program
// copied at the call, and fails for the rest).
type Memory interface {
	Read(addr uint64, buf []byte) error
}

// StringMemory is a Memory that knows where the strings it holds end (a
// copy made at the call); Format reads strings through it when it can.
// complete is false when the string was cut.
type StringMemory interface {
	Memory
	String(addr uint64, max int) (s string, complete bool, err error)
}

// Formatted is one call's argument text and what the analysis reads from
// it as a number.
type Formatted struct {
	Text string
	// CloneFlags are clone's flags (clone3: from its struct clone_args,
	// the exit signal in the low byte as clone(2) has it); CloneKnown
	// says whether they could be read.
	CloneFlags uint64
	CloneKnown bool
}

// Format prints the arguments of syscall nr (name) the way strace would,
// as far as syscov decodes them; the others with u-root's tables, or as
// six registers in hex.
func Format(mem Memory, name string, nr int, args [6]uint64) Formatted {
	var out Formatted
	kinds, ok := argKinds[name]
	if !ok {
		if text, ok := urootArgs(mem, nr, args); ok {
			out.Text = text
			return out
		}
		kinds = []argKind{aHex, aHex, aHex, aHex, aHex, aHex}
	}
	var b strings.Builder
	for i, k := range kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		v := args[i]
		switch k {
		case aInt:
			b.WriteString(strconv.FormatInt(int64(v), 10))
		case aUint:
			b.WriteString(strconv.FormatUint(v, 10))
		case aFd:
			b.WriteString(strconv.FormatInt(int64(int32(v)), 10))
		case aDirfd:
			if int32(v) == unix.AT_FDCWD {
				b.WriteString("AT_FDCWD")
			} else {
				b.WriteString(strconv.FormatInt(int64(int32(v)), 10))
			}
		case aPath:
			b.WriteString(quoteMem(mem, v, PathMax, -1))
		case aBuf:
			n := BufShown
			if i+1 < len(kinds) && args[i+1] < uint64(n) {
				n = int(args[i+1])
			}
			b.WriteString(quoteMem(mem, v, n, int(args[i+1])))
		case aOpen:
			b.WriteString(openFlags(v))
		case aMode:
			b.WriteString("0" + strconv.FormatUint(v, 8))
		case aClone:
			out.CloneFlags, out.CloneKnown = v, true
			b.WriteString("flags=" + CloneFlags(v))
		case aClone3:
			var raw [CloneArgsSize]byte
			if mem.Read(v, raw[:]) == nil {
				var ca [5]uint64 // flags, pidfd, child_tid, parent_tid, exit_signal
				for j := range ca {
					ca[j] = binary.LittleEndian.Uint64(raw[8*j:])
				}
				out.CloneFlags, out.CloneKnown = ca[0]|ca[4]&0xff, true
				fmt.Fprintf(&b, "{flags=%s, exit_signal=%s}", CloneFlags(ca[0]&^0xff), SignalOrNumber(int(ca[4])))
			} else {
				b.WriteString(Hex(v))
			}
		case aSig:
			b.WriteString(SignalOrNumber(int(v)))
		case aDomain:
			b.WriteString(lookupName(socketDomains, v, "AF_"))
		case aSockT:
			b.WriteString(sockType(v))
		case aProt:
			b.WriteString(bitNames(v, protNames, "PROT_NONE"))
		case aMap:
			b.WriteString(bitNames(v, mapNames, "0"))
		case aArgv:
			b.WriteString(memArgv(mem, v))
		case aEnvp:
			b.WriteString(Hex(v))
		case aFcntl:
			b.WriteString(lookupName(fcntlCmds, v, ""))
		case aFutexOp:
			b.WriteString(futexOp(v))
		case aFutexVal3:
			b.WriteString(futexVal3(v))
		case aArchPrctl:
			b.WriteString(archPrctlCode(v))
		case aClock:
			b.WriteString(clockID(v))
		case aTimerFlags:
			b.WriteString(timerFlags(v))
		case aAtFlags:
			b.WriteString(atFlags(v))
		case aSockaddr:
			n := uint64(0)
			if i+1 < len(args) {
				n = args[i+1]
			}
			b.WriteString(sockaddr(mem, v, n))
		default:
			b.WriteString(Hex(v))
		}
	}
	out.Text = b.String()
	return out
}

// How much of the traced memory Format reads: a path, the shown part of a
// buffer (as strace's default -s 32), a struct clone_args (its first five
// fields), the arguments of an execve and each one's length.
const (
	PathMax       = 4096
	BufShown      = 32
	CloneArgsSize = 40
	SockaddrMax   = 128
	ArgvMax       = 64
	ArgMax        = 256
)

// Hex prints a pointer or an opaque value: NULL or 0x….
func Hex(v uint64) string {
	if v == 0 {
		return "NULL"
	}
	return "0x" + strconv.FormatUint(v, 16)
}

// readCString reads a NUL-terminated string of at most max bytes, a page
// at a time so that the read never crosses into an unmapped page needlessly.
func readCString(mem Memory, addr uint64, max int) (string, bool, error) {
	if sm, ok := mem.(StringMemory); ok {
		return sm.String(addr, max)
	}
	var out []byte
	buf := make([]byte, 256)
	for len(out) < max {
		chunk := 4096 - int(addr%4096)
		chunk = min(chunk, len(buf), max-len(out))
		if err := mem.Read(addr, buf[:chunk]); err != nil {
			if len(out) > 0 {
				return string(out), false, nil
			}
			return "", false, err
		}
		for i := 0; i < chunk; i++ {
			if buf[i] == 0 {
				return string(append(out, buf[:i]...)), true, nil
			}
		}
		out = append(out, buf[:chunk]...)
		addr += uint64(chunk)
	}
	return string(out), false, nil
}

// quoteMem prints a string argument: a C string (size < 0) or the first
// max bytes of a buffer of size bytes.
func quoteMem(mem Memory, addr uint64, max, size int) string {
	if addr == 0 {
		return "NULL"
	}
	var s string
	complete := true
	if size < 0 {
		var err error
		s, complete, err = readCString(mem, addr, max)
		if err != nil {
			return Hex(addr)
		}
	} else {
		buf := make([]byte, max)
		if max > 0 && mem.Read(addr, buf) != nil {
			return Hex(addr)
		}
		s = string(buf)
		complete = size <= max
	}
	q := QuoteC(s)
	if !complete {
		q += "..."
	}
	return q
}

// QuoteC quotes like strace: printable ASCII as is, \n \t \" \\, others
// as \ooo octal.
func QuoteC(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\%o`, c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func memArgv(mem Memory, addr uint64) string {
	if addr == 0 {
		return "NULL"
	}
	var parts []string
	for i := 0; i < ArgvMax; i++ {
		var p [8]byte
		if mem.Read(addr+uint64(8*i), p[:]) != nil {
			break
		}
		ptr := binary.LittleEndian.Uint64(p[:])
		if ptr == 0 {
			return "[" + strings.Join(parts, ", ") + "]"
		}
		parts = append(parts, quoteMem(mem, ptr, ArgMax, -1))
	}
	return "[" + strings.Join(parts, ", ") + ", ...]"
}

// FormatExecve prints the execve the exec helper made, which ran untraced: the
// path it executed is the command looked up on PATH, as the helper did
// (a shim script then shows as the script, not as the name typed).
func FormatExecve(argv []string, nenv int) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = QuoteC(a)
	}
	path := argv[0]
	if p, err := exec.LookPath(path); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			path = abs
		}
	}
	return fmt.Sprintf("%s, [%s], 0x0 /* %d vars */", QuoteC(path), strings.Join(q, ", "), nenv)
}

func SignalOrNumber(n int) string {
	if n == 0 {
		return "0"
	}
	if s := trace.SignalName(n); s != "" {
		return s
	}
	// Real-time signals as strace names them, from the kernel's
	// SIGRTMIN (32): SIGRTMIN, SIGRT_1 … SIGRT_32.
	switch {
	case n == 32:
		return "SIGRTMIN"
	case n > 32 && n <= 64:
		return "SIGRT_" + strconv.Itoa(n-32)
	}
	return strconv.Itoa(n)
}

type named struct {
	v    uint64
	name string
}

// cloneNames are trace's clone flag names (one table for writing and
// reading them).
var cloneNames = func() []named {
	out := make([]named, len(trace.CloneFlagNames))
	for i, n := range trace.CloneFlagNames {
		out[i] = named{n.Value, n.Name}
	}
	return out
}()

// CloneFlags prints clone flags as strace does: names joined by |, the
// exit signal (low byte) last.
func CloneFlags(v uint64) string {
	s := bitNames(v&^0xff, cloneNames, "")
	if sig := int(v & 0xff); sig != 0 {
		if s != "" {
			s += "|"
		}
		s += SignalOrNumber(sig)
	}
	if s == "" {
		return "0"
	}
	return s
}

var protNames = []named{{unix.PROT_READ, "PROT_READ"}, {unix.PROT_WRITE, "PROT_WRITE"}, {unix.PROT_EXEC, "PROT_EXEC"}}

var mapNames = []named{
	{unix.MAP_SHARED, "MAP_SHARED"}, {unix.MAP_PRIVATE, "MAP_PRIVATE"}, {unix.MAP_FIXED, "MAP_FIXED"},
	{unix.MAP_ANONYMOUS, "MAP_ANONYMOUS"}, {unix.MAP_DENYWRITE, "MAP_DENYWRITE"}, {unix.MAP_NORESERVE, "MAP_NORESERVE"},
	{unix.MAP_POPULATE, "MAP_POPULATE"}, {unix.MAP_STACK, "MAP_STACK"}, {unix.MAP_GROWSDOWN, "MAP_GROWSDOWN"},
	{unix.MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"},
}

var openNames = []named{
	{unix.O_WRONLY, "O_WRONLY"}, {unix.O_RDWR, "O_RDWR"}, {unix.O_CREAT, "O_CREAT"}, {unix.O_EXCL, "O_EXCL"},
	{unix.O_NOCTTY, "O_NOCTTY"}, {unix.O_TRUNC, "O_TRUNC"}, {unix.O_APPEND, "O_APPEND"}, {unix.O_NONBLOCK, "O_NONBLOCK"},
	{unix.O_DSYNC, "O_DSYNC"}, {unix.O_DIRECT, "O_DIRECT"}, {unix.O_DIRECTORY, "O_DIRECTORY"},
	{unix.O_NOFOLLOW, "O_NOFOLLOW"}, {unix.O_NOATIME, "O_NOATIME"}, {unix.O_CLOEXEC, "O_CLOEXEC"},
	{unix.O_PATH, "O_PATH"}, {0x400000, "O_TMPFILE"}, {unix.O_LARGEFILE, "O_LARGEFILE"}, {0x101000, "O_SYNC"},
}

func openFlags(v uint64) string {
	s := bitNames(v&^3, openNames[2:], "")
	acc := "O_RDONLY"
	switch v & 3 {
	case 1:
		acc = "O_WRONLY"
	case 2:
		acc = "O_RDWR"
	}
	if s == "" {
		return acc
	}
	return acc + "|" + s
}

// bitNames prints v as the names of its bits, the rest in hex.
func bitNames(v uint64, names []named, zero string) string {
	if v == 0 {
		return zero
	}
	var parts []string
	for _, n := range names {
		if n.v != 0 && v&n.v == n.v {
			parts = append(parts, n.name)
			v &^= n.v
		}
	}
	if v != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(v, 16))
	}
	return strings.Join(parts, "|")
}

var socketDomains = []named{
	{unix.AF_UNIX, "AF_UNIX"}, {unix.AF_INET, "AF_INET"}, {unix.AF_INET6, "AF_INET6"},
	{unix.AF_NETLINK, "AF_NETLINK"}, {unix.AF_PACKET, "AF_PACKET"}, {unix.AF_UNSPEC, "AF_UNSPEC"},
	{unix.AF_VSOCK, "AF_VSOCK"}, {unix.AF_ALG, "AF_ALG"},
}

var fcntlCmds = []named{
	{unix.F_DUPFD, "F_DUPFD"}, {unix.F_GETFD, "F_GETFD"}, {unix.F_SETFD, "F_SETFD"}, {unix.F_GETFL, "F_GETFL"},
	{unix.F_SETFL, "F_SETFL"}, {unix.F_GETLK, "F_GETLK"}, {unix.F_SETLK, "F_SETLK"}, {unix.F_SETLKW, "F_SETLKW"},
	{unix.F_DUPFD_CLOEXEC, "F_DUPFD_CLOEXEC"}, {unix.F_SETPIPE_SZ, "F_SETPIPE_SZ"}, {unix.F_GETPIPE_SZ, "F_GETPIPE_SZ"},
	{unix.F_ADD_SEALS, "F_ADD_SEALS"}, {unix.F_OFD_SETLK, "F_OFD_SETLK"}, {unix.F_OFD_GETLK, "F_OFD_GETLK"},
}

func lookupName(names []named, v uint64, prefix string) string {
	for _, n := range names {
		if n.v == v {
			return n.name
		}
	}
	return prefix + "0x" + strconv.FormatUint(v, 16)
}

func sockType(v uint64) string {
	base := lookupName([]named{{unix.SOCK_STREAM, "SOCK_STREAM"}, {unix.SOCK_DGRAM, "SOCK_DGRAM"},
		{unix.SOCK_RAW, "SOCK_RAW"}, {unix.SOCK_SEQPACKET, "SOCK_SEQPACKET"}}, v&0xf, "")
	if v&unix.SOCK_NONBLOCK != 0 {
		base += "|SOCK_NONBLOCK"
	}
	if v&unix.SOCK_CLOEXEC != 0 {
		base += "|SOCK_CLOEXEC"
	}
	return base
}

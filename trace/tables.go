package trace

//go:generate go run ./internal/gentables

import (
	"fmt"
	"runtime"
	"strings"
)

// Arch names a syscall ABI. The tables are data keyed by literal numbers,
// generated from golang.org/x/sys (see internal/gentables), never the host's
// unix.SYS_* constants.
type Arch string

const (
	ArchX86_64  Arch = "x86_64"
	ArchAarch64 Arch = "aarch64"
	// ArchI386 and ArchX32 are the other ABIs an x86_64 process can call
	// the kernel with; their calls carry Event.Arch. There is a table of
	// i386 (for the numbers of its calls), none of x32.
	ArchI386 Arch = "i386"
	ArchX32  Arch = "x32"
)

// HostArch is the architecture syscov was built for.
func HostArch() Arch {
	if runtime.GOARCH == "arm64" {
		return ArchAarch64
	}
	return ArchX86_64
}

// ParseArch accepts the kernel's and Go's spellings.
func ParseArch(s string) (Arch, error) {
	switch strings.ToLower(s) {
	case "x86_64", "amd64", "x86-64":
		return ArchX86_64, nil
	case "aarch64", "arm64":
		return ArchAarch64, nil
	}
	return "", fmt.Errorf("unknown architecture %q (want x86_64 or aarch64)", s)
}

type syscallEntry struct {
	nr   int
	name string
}

type errnoEntry struct {
	nr         int
	name, desc string
}

// SyscallTable maps syscall names and numbers of one architecture.
type SyscallTable struct {
	Arch   Arch
	byNr   map[int]string
	byName map[string]int
}

var tables = map[Arch]*SyscallTable{
	ArchX86_64:  newTable(ArchX86_64, syscallsX86_64),
	ArchAarch64: newTable(ArchAarch64, syscallsAarch64),
	// The 32-bit calls an x86_64 process can make (int $0x80).
	ArchI386: newTable(ArchI386, syscallsI386),
}

func newTable(arch Arch, entries []syscallEntry) *SyscallTable {
	t := &SyscallTable{Arch: arch, byNr: make(map[int]string, len(entries)), byName: make(map[string]int, len(entries))}
	for _, e := range entries {
		t.byNr[e.nr] = e.name
		t.byName[e.name] = e.nr
	}
	return t
}

// Table returns the syscall table of arch, x86_64 when arch is unknown.
func Table(arch Arch) *SyscallTable {
	if t, ok := tables[arch]; ok {
		return t
	}
	return tables[ArchX86_64]
}

// Name returns the name of syscall nr.
func (t *SyscallTable) Name(nr int) (string, bool) {
	n, ok := t.byNr[nr]
	return n, ok
}

// Number returns the number of the named syscall, -1 when the architecture
// has none of that name.
func (t *SyscallTable) Number(name string) int {
	if nr, ok := t.byName[name]; ok {
		return nr
	}
	return -1
}

// Names returns every syscall name of the table in number order.
func (t *SyscallTable) Names() []string {
	src := syscallsX86_64
	switch t.Arch {
	case ArchAarch64:
		src = syscallsAarch64
	case ArchI386:
		src = syscallsI386
	}
	names := make([]string, len(src))
	for i, e := range src {
		names[i] = e.name
	}
	return names
}

var (
	errnoByNr   = map[int]string{}
	errnoByName = map[string]int{}
	errnoDesc   = map[string]string{}
)

func init() {
	for _, e := range errnoTable {
		if _, dup := errnoByNr[e.nr]; !dup {
			errnoByNr[e.nr] = e.name
		}
		errnoDesc[e.name] = e.desc
		errnoByName[e.name] = e.nr
	}
	// Aliases and the kernel-internal restart codes strace prints; they are
	// not in libc's tables.
	errnoByNr[95] = "EOPNOTSUPP" // ENOTSUP is the same number
	for name, nr := range map[string]int{
		"EWOULDBLOCK": 11, "EDEADLOCK": 35, "ENOTSUP": 95,
		"ERESTARTSYS": 512, "ERESTARTNOINTR": 513, "ERESTARTNOHAND": 514,
		"ENOIOCTLCMD": 515, "ERESTART_RESTARTBLOCK": 516, "EPROBE_DEFER": 517,
		"EOPENSTALE": 518, "ENOPARAM": 519, "EBADHANDLE": 521, "ENOTSYNC": 522,
		"EBADCOOKIE": 523, "ENOTSUPP": 524, "ETOOSMALL": 525, "ESERVERFAULT": 526,
		"EBADTYPE": 527, "EJUKEBOX": 528, "EIOCBQUEUED": 529, "ERECALLCONFLICT": 530,
	} {
		if _, dup := errnoByNr[nr]; !dup {
			errnoByNr[nr] = name
		}
		errnoByName[name] = nr
	}
}

// ErrnoNumber is the number of a Linux errno name (ENOSYS → 38), 0 when
// unknown.
func ErrnoNumber(name string) int { return errnoByName[name] }

// ErrnoName returns the name of Linux errno nr (positive), "" when unknown.
func ErrnoName(nr int) string { return errnoByNr[nr] }

// ErrnoDescription is the C library's text for an errno name, e.g. "No
// such file or directory" for ENOENT; "" when unknown.
func ErrnoDescription(name string) string {
	d := errnoDesc[name]
	if d == "" {
		return ""
	}
	return strings.ToUpper(d[:1]) + d[1:]
}

// IsRestart reports whether errno is one of the kernel's restart codes,
// which strace shows for an interrupted call that the kernel restarts.
func IsRestart(errno string) bool {
	switch errno {
	case "ERESTARTSYS", "ERESTARTNOINTR", "ERESTARTNOHAND", "ERESTART_RESTARTBLOCK":
		return true
	}
	return false
}

// IsNotSupported reports whether errno says "this system does not support
// that" rather than an ordinary failure.
func IsNotSupported(errno string) bool {
	switch errno {
	case "ENOSYS", "EOPNOTSUPP", "ENOTSUP", "EAFNOSUPPORT", "EPROTONOSUPPORT", "ENOTSUPP":
		return true
	}
	return false
}

package sysargs

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The arguments the analysis judges by value, written the way strace
// writes them: futex operations, arch_prctl codes, clock ids and flags,
// *at flags, socket addresses. (Support rules match strace's text; a
// number the rules name by a word could not be judged.)

var futexCmds = []string{"FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_FD", "FUTEX_REQUEUE", "FUTEX_CMP_REQUEUE",
	"FUTEX_WAKE_OP", "FUTEX_LOCK_PI", "FUTEX_UNLOCK_PI", "FUTEX_TRYLOCK_PI", "FUTEX_WAIT_BITSET",
	"FUTEX_WAKE_BITSET", "FUTEX_WAIT_REQUEUE_PI", "FUTEX_CMP_REQUEUE_PI", "FUTEX_LOCK_PI2"}

// futexOp is "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME".
func futexOp(v uint64) string {
	const private, realtime = 128, 256
	cmd := v &^ (private | realtime)
	if cmd >= uint64(len(futexCmds)) {
		return strconv.FormatUint(v, 10)
	}
	s := futexCmds[cmd]
	if v&private != 0 {
		s += "_PRIVATE"
	}
	if v&realtime != 0 {
		s += "|FUTEX_CLOCK_REALTIME"
	}
	return s
}

// futexVal3 is the mask of the bitset operations: all ones is
// FUTEX_BITSET_MATCH_ANY.
func futexVal3(v uint64) string {
	if uint32(v) == 0xffffffff {
		return "FUTEX_BITSET_MATCH_ANY"
	}
	return strconv.FormatUint(uint64(uint32(v)), 10)
}

var archPrctlCodes = []named{
	{0x1001, "ARCH_SET_GS"}, {0x1002, "ARCH_SET_FS"}, {0x1003, "ARCH_GET_FS"}, {0x1004, "ARCH_GET_GS"},
	{0x1011, "ARCH_GET_CPUID"}, {0x1012, "ARCH_SET_CPUID"},
	{0x2001, "ARCH_MAP_VDSO_X32"}, {0x2002, "ARCH_MAP_VDSO_32"}, {0x2003, "ARCH_MAP_VDSO_64"},
}

// archPrctlCode is "ARCH_SET_FS", or "0x3001 /* ARCH_??? */" as strace
// writes a code it does not know.
func archPrctlCode(v uint64) string {
	for _, n := range archPrctlCodes {
		if n.v == v {
			return n.name
		}
	}
	return "0x" + strconv.FormatUint(v, 16) + " /* ARCH_??? */"
}

var clockIDs = []string{"CLOCK_REALTIME", "CLOCK_MONOTONIC", "CLOCK_PROCESS_CPUTIME_ID", "CLOCK_THREAD_CPUTIME_ID",
	"CLOCK_MONOTONIC_RAW", "CLOCK_REALTIME_COARSE", "CLOCK_MONOTONIC_COARSE", "CLOCK_BOOTTIME",
	"CLOCK_REALTIME_ALARM", "CLOCK_BOOTTIME_ALARM", "", "CLOCK_TAI"}

func clockID(v uint64) string {
	if v < uint64(len(clockIDs)) && clockIDs[v] != "" {
		return clockIDs[v]
	}
	return strconv.FormatInt(int64(int32(v)), 10)
}

func timerFlags(v uint64) string {
	return bitNames(v, []named{{unix.TIMER_ABSTIME, "TIMER_ABSTIME"}}, "0")
}

var atFlagNames = []named{
	{unix.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"}, {unix.AT_REMOVEDIR, "AT_REMOVEDIR"},
	{unix.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"}, {unix.AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"},
	{unix.AT_EMPTY_PATH, "AT_EMPTY_PATH"}, {unix.AT_STATX_FORCE_SYNC, "AT_STATX_FORCE_SYNC"},
	{unix.AT_STATX_DONT_SYNC, "AT_STATX_DONT_SYNC"},
}

func atFlags(v uint64) string { return bitNames(v, atFlagNames, "0") }

// sockaddr reads a struct sockaddr of length n from the tracee and writes
// it as strace does: {sa_family=AF_UNIX, sun_path="/run/x"},
// {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}.
func sockaddr(mem Memory, addr, n uint64) string {
	if addr == 0 {
		return "NULL"
	}
	if n < 2 || n > SockaddrMax {
		return Hex(addr)
	}
	buf := make([]byte, n)
	if mem.Read(addr, buf) != nil {
		return Hex(addr)
	}
	family := uint64(binary.LittleEndian.Uint16(buf))
	fam := lookupName(socketDomains, family, "")
	if strings.HasPrefix(fam, "0x") {
		fam = strconv.FormatUint(family, 10)
	}
	switch {
	case family == unix.AF_UNIX:
		path := buf[2:]
		if i := strings.IndexByte(string(path), 0); i >= 0 && (len(path) == 0 || path[0] != 0) {
			path = path[:i]
		}
		if len(path) > 0 && path[0] == 0 {
			return fmt.Sprintf("{sa_family=AF_UNIX, sun_path=@%s}", QuoteC(strings.TrimRight(string(path[1:]), "\x00")))
		}
		return fmt.Sprintf("{sa_family=AF_UNIX, sun_path=%s}", QuoteC(string(path)))
	case family == unix.AF_INET && n >= 8:
		ip := netip.AddrFrom4([4]byte(buf[4:8]))
		return fmt.Sprintf("{sa_family=AF_INET, sin_port=htons(%d), sin_addr=inet_addr(\"%s\")}", binary.BigEndian.Uint16(buf[2:4]), ip)
	case family == unix.AF_INET6 && n >= 28:
		ip := netip.AddrFrom16([16]byte(buf[8:24]))
		return fmt.Sprintf("{sa_family=AF_INET6, sin6_port=htons(%d), sin6_flowinfo=htonl(%d), inet_pton(AF_INET6, \"%s\", &sin6_addr), sin6_scope_id=%d}",
			binary.BigEndian.Uint16(buf[2:4]), binary.BigEndian.Uint32(buf[4:8]), ip, binary.LittleEndian.Uint32(buf[24:28]))
	}
	return fmt.Sprintf("{sa_family=%s, ...}", fam)
}

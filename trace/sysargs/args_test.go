package sysargs

import (
	"errors"
	"testing"
)

type noMemory struct{}

func (noMemory) Read(uint64, []byte) error { return errors.New("no memory") }

func TestFormatters(t *testing.T) {
	tests := []struct{ got, want string }{
		{CloneFlags(0x1200011), "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"},
		{CloneFlags(0x3d0f00), "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID"},
		{openFlags(0x80000), "O_RDONLY|O_CLOEXEC"},
		{openFlags(0x241), "O_WRONLY|O_CREAT|O_TRUNC"},
		{bitNames(3, protNames, "PROT_NONE"), "PROT_READ|PROT_WRITE"},
		{bitNames(0x21, mapNames, "0"), "MAP_SHARED|MAP_ANONYMOUS"},
		{sockType(0x80801), "SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC"},
		{lookupName(socketDomains, 16, "AF_"), "AF_NETLINK"},
		{QuoteC("a\"b\n\x01"), `"a\"b\n\1"`},
		{futexOp(393), "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME"},
		{futexOp(129), "FUTEX_WAKE_PRIVATE"},
		{futexOp(99), "99"},
		{futexVal3(0xffffffff), "FUTEX_BITSET_MATCH_ANY"},
		{archPrctlCode(0x1002), "ARCH_SET_FS"},
		{archPrctlCode(0x3001), "0x3001 /* ARCH_??? */"},
		{clockID(1), "CLOCK_MONOTONIC"},
		{timerFlags(1), "TIMER_ABSTIME"},
		{atFlags(0x1100), "AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH"},
		{SignalOrNumber(33), "SIGRT_1"},
		{sockaddr(noMemory{}, 0, 16), "NULL"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
}

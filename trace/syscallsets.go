package trace

import (
	"fmt"
	"sort"
	"strings"
)

// syscallClasses are strace's %class names for --filter, as lists of
// x86_64/aarch64 syscall names (a name missing on an architecture is left
// out there).
var syscallClasses = map[string][]string{
	"process": {"clone", "clone3", "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid",
		"kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open", "pidfd_send_signal"},
	"file": {"open", "openat", "openat2", "creat", "stat", "lstat", "newfstatat", "statx", "access", "faccessat",
		"faccessat2", "readlink", "readlinkat", "execve", "execveat", "rename", "renameat", "renameat2", "unlink",
		"unlinkat", "mkdir", "mkdirat", "rmdir", "chdir", "chmod", "fchmodat", "chown", "lchown", "fchownat",
		"link", "linkat", "symlink", "symlinkat", "truncate", "utime", "utimes", "utimensat", "futimesat",
		"mknod", "mknodat", "statfs", "getxattr", "setxattr", "listxattr", "removexattr", "chroot", "mount",
		"umount2", "swapon", "swapoff", "inotify_add_watch", "name_to_handle_at", "fanotify_mark", "memfd_create"},
	"network": {"socket", "socketpair", "bind", "listen", "accept", "accept4", "connect", "getsockname",
		"getpeername", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown",
		"setsockopt", "getsockopt"},
	"memory": {"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mlock", "munlock", "mlockall",
		"munlockall", "msync", "mincore", "pkey_mprotect", "remap_file_pages", "set_mempolicy", "get_mempolicy", "mbind"},
	"signal": {"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending", "rt_sigtimedwait",
		"sigaltstack", "kill", "tkill", "tgkill", "pause", "signalfd", "signalfd4", "alarm"},
	"ipc":   {"shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semctl", "semtimedop", "msgget", "msgsnd", "msgrcv", "msgctl"},
	"clock": {"clock_gettime", "clock_settime", "clock_getres", "clock_nanosleep", "gettimeofday", "settimeofday", "time", "adjtimex", "clock_adjtime"},
	"creds": {"getuid", "geteuid", "getgid", "getegid", "setuid", "setgid", "setreuid", "setregid", "setresuid",
		"setresgid", "getresuid", "getresgid", "setfsuid", "setfsgid", "getgroups", "setgroups", "capget", "capset", "prctl"},
	"desc": {"read", "write", "readv", "writev", "pread64", "pwrite64", "close", "dup", "dup2", "dup3", "fcntl",
		"ioctl", "lseek", "fstat", "fsync", "fdatasync", "ftruncate", "getdents", "getdents64", "poll", "ppoll",
		"select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "pipe",
		"pipe2", "eventfd", "eventfd2", "sendfile", "splice", "tee", "flock", "fadvise64", "fallocate"},
}

// ExpandSyscallSet turns a --filter value ("open,read,%network") into
// syscall names that the architecture has, sorted.
func ExpandSyscallSet(spec string, arch Arch) ([]string, error) {
	tab := Table(arch)
	set := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
			continue
		case strings.HasPrefix(item, "%"):
			names, ok := syscallClasses[item[1:]]
			if !ok {
				return nil, fmt.Errorf("unknown syscall class %q (have %s)", item, strings.Join(classNames(), ", "))
			}
			for _, n := range names {
				if tab.Number(n) >= 0 {
					set[n] = true
				}
			}
		default:
			if tab.Number(item) < 0 {
				return nil, fmt.Errorf("unknown syscall %q for %s", item, tab.Arch)
			}
			set[item] = true
		}
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("empty syscall set %q", spec)
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

func classNames() []string {
	var out []string
	for k := range syscallClasses {
		out = append(out, "%"+k)
	}
	sort.Strings(out)
	return out
}

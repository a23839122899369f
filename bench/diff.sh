#!/usr/bin/env bash
# bench/diff.sh — `syscov diff` against `git diff --no-index --histogram`
# on the same two sequences of N syscalls (default 1000000) with 5 %
# divergence, in one run, with syscov's peak RSS. Goal (design.md): faster
# than git's histogram diff, peak RSS <= 1 GiB.
#
# The native side is strace -f text ("1 name(args) = 0"), the unikernel side
# the same sequence with 5 % of its calls deleted, replaced or preceded by
# another call; git diffs the same sequences written one name per line.
# Usage: bench/diff.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
out=bench/out
mkdir -p "$out"
go build -o "$out/syscov" ./cmd/syscov
awk -v n="$n" -v seed=7 -v outdir="$out" 'BEGIN {
	srand(seed)
	split("read write openat close newfstatat mmap munmap mprotect brk rt_sigaction rt_sigprocmask ioctl pread64 pwrite64 readv writev access pipe2 select sched_yield mremap madvise dup dup2 nanosleep getpid sendfile socket connect accept4 sendto recvfrom sendmsg recvmsg shutdown bind listen getsockname getpeername setsockopt getsockopt clone3 execve exit wait4 kill uname fcntl flock fsync fdatasync truncate ftruncate getdents64 getcwd chdir rename mkdir rmdir unlink readlink chmod umask gettimeofday getrlimit getrusage sysinfo times getuid getgid geteuid getegid setsid epoll_wait epoll_ctl epoll_create1 futex eventfd2 timerfd_create timerfd_settime signalfd4 getrandom memfd_create statx", v, " ")
	nv = length(v)
	nat = outdir "/diff-native.strace"; uni = outdir "/diff-unikernel.strace"
	natl = outdir "/diff-native.names"; unil = outdir "/diff-unikernel.names"
	for (i = 0; i < n; i++) {
		# a skewed choice: a few calls dominate, as in real traces
		r = rand(); k = int(nv * r * r * r) + 1
		name = v[k]
		print "1 " name "(3, 0x" sprintf("%x", i) ") = 0" > nat
		print name > natl
		p = rand()
		if (p < 0.0167) continue                      # deleted
		if (p < 0.0333) { r2 = rand(); name = v[int(nv * r2) + 1] }   # replaced
		else if (p < 0.05) { r3 = rand(); x = v[int(nv * r3) + 1]; print "1 " x "(4) = 0" > uni; print x > unil }  # inserted
		print "1 " name "(3, 0x" sprintf("%x", i) ") = 0" > uni
		print name > unil
	}
}'
git_t=$( { /usr/bin/time -f '%e' git diff --no-index --histogram "$out/diff-native.names" "$out/diff-unikernel.names" > "$out/git.diff"; } 2>&1 | tail -1 || true)
/usr/bin/time -f '%e %M' -o "$out/time.txt" "$out/syscov" diff --input-format strace --ignore none "$out/diff-native.strace" "$out/diff-unikernel.strace" > "$out/syscov.diff" || true
read -r sy_t sy_rss < "$out/time.txt"
awk -v n="$n" -v g="$git_t" -v s="$sy_t" -v rss="$sy_rss" 'BEGIN {
	printf "two sequences of %d syscalls, 5 %% divergence\n", n
	printf "git diff --no-index --histogram: %6.2f s\n", g
	printf "syscov diff (parse both + align): %6.2f s, peak RSS %.0f MiB\n", s, rss / 1024
	printf "goal: faster than git: %s (%.2fx); peak RSS <= 1 GiB: %s\n", (s < g ? "met" : "MISSED"), s / g, (rss <= 1048576 ? "met" : "MISSED")
}'

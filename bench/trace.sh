#!/usr/bin/env bash
# bench/trace.sh — the built-in tracer against strace, in one run.
#
# Workload: bench/src/getppid_loop.c, N getppid calls. Runs it untraced,
# under `strace -f -o /dev/null` and under syscov's ptrace and strace
# backends (full trace, written to /dev/null) with N calls (default
# 100000); and untraced against a --filter subset (openat only: getppid
# never stops the tracee) with M calls (default 5000000, so that the fixed
# start-up cost of a few ms does not hide the per-call cost). Prints the
# ratios. Goals (design.md): the built-in full trace no slower than strace;
# the subset trace within 1.2x of untraced.
# Usage: bench/trace.sh [N [M]]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
m=${2:-5000000}
out=bench/out
mkdir -p "$out"
gcc -O2 -o "$out/getppid_loop" bench/src/getppid_loop.c
go build -o "$out/syscov" ./cmd/syscov
loop=$out/getppid_loop
sy=$out/syscov

best() { # best wall time of 3 runs, in seconds
	local b=
	for _ in 1 2 3; do
		local s e
		s=$(date +%s.%N)
		"$@" > /dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
		e=$(date +%s.%N)
		local t
		t=$(awk -v s="$s" -v e="$e" 'BEGIN{printf "%.4f", e - s}')
		if [ -z "$b" ] || awk -v t="$t" -v b="$b" 'BEGIN{exit !(t < b)}'; then b=$t; fi
	done
	echo "$b"
}
untraced=$(best "$loop" "$n")
untraced_m=$(best "$loop" "$m")
strace_t=$(best strace -f -o /dev/null "$loop" "$n")
ptrace_t=$(best "$sy" trace -o /dev/null -- "$loop" "$n")
sback_t=$(best "$sy" trace --backend strace -o /dev/null -- "$loop" "$n")
subset_t=$(best "$sy" trace --filter openat -o /dev/null -- "$loop" "$m")
awk -v n="$n" -v m="$m" -v um="$untraced_m" -v u="$untraced" -v s="$strace_t" -v p="$ptrace_t" -v sb="$sback_t" -v f="$subset_t" 'BEGIN {
	printf "workload: %d getppid calls (bench/src/getppid_loop.c); best of 3 runs each\n", n
	printf "untraced:                         %7.3f s\n", u
	printf "strace -f -o /dev/null:           %7.3f s  (%.1fx untraced)\n", s, s / u
	printf "syscov trace (ptrace, full):      %7.3f s  (%.1fx untraced, %.2fx strace)\n", p, p / u, p / s
	printf "syscov trace --backend strace:    %7.3f s  (%.1fx untraced, %.2fx strace)\n", sb, sb / u, sb / s
	printf "with %d calls:\n", m
	printf "untraced:                         %7.3f s\n", um
	printf "syscov trace --filter openat:     %7.3f s  (%.2fx untraced)\n", f, f / um
	printf "goal: ptrace full <= strace: %s (%.2fx)\n", (p <= s ? "met" : "MISSED"), p / s
	printf "goal: subset <= 1.2x untraced: %s (%.2fx)\n", (f <= 1.2 * um ? "met" : "MISSED"), f / um
}'

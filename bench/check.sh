#!/usr/bin/env bash
# bench/check.sh — what tracing costs a syscall-heavy server, in one run:
# redis-benchmark -n N (default 20000) against redis-server untraced,
# under `syscov trace` (the default backend: eBPF where it can run, else
# ptrace; no stacks), and under `syscov check` (native side only: stacks
# only for the calls the judge does not call supported — with eBPF, ptrace
# stops the app only at those), and, for the record, under `syscov trace
# --stacks` (a stack for every call: ptrace). Reports
# requests per second and each traced run's ratio to the untraced one.
# Goal (issue 12): check costs what a plain trace costs.
# Usage: bench/check.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
out=bench/out
mkdir -p "$out"
go build -o "$out/syscov" ./cmd/syscov
sy=$(pwd)/$out/syscov
port=16399
load="redis-benchmark -p $port -n $n -c 10 -q -t set,get --csv"

rps() { # the mean of the SET and GET requests/s of redis-benchmark's CSV on stdin
	awk -F'"' '/"(SET|GET)"/ {s += $4; k++} END {if (k) printf "%.0f", s / k}'
}
untraced() {
	redis-server --port $port --save '' >/dev/null 2>&1 &
	local pid=$!
	for _ in $(seq 100); do redis-cli -p $port ping >/dev/null 2>&1 && break; sleep 0.05; done
	$load | rps
	kill $pid; wait $pid 2>/dev/null || true
}
traced() { # traced SYSCOV-ARGS...
	local f; f=$(mktemp)
	"$sy" "$@" --ready tcp:$port --workload "$load > $f" -- redis-server --port $port --save '' >/dev/null 2>&1 || true
	rps < "$f"; rm -f "$f"
}
tmp=$(mktemp -d)
base=$(untraced)
tr=$(traced trace -o "$tmp/t.trace")
ck=$(traced check --out "$tmp/check")
st=$(traced trace --stacks -o "$tmp/s.trace")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }
echo "redis-benchmark -n $n -c 10 (SET, GET), requests/s:"
printf '  %-34s %8s\n' "untraced" "$base"
printf '  %-34s %8s  %s of untraced\n' "syscov trace" "$tr" "$(ratio "$tr" "$base")"
printf '  %-34s %8s  %s of untraced, %s of trace\n' "syscov check (native)" "$ck" "$(ratio "$ck" "$base")" "$(ratio "$ck" "$tr")"
printf '  %-34s %8s  %s of untraced\n' "syscov trace --stacks (every call)" "$st" "$(ratio "$st" "$base")"
rm -rf "$tmp"

#!/usr/bin/env bash
# bench/parse.sh — syscov summary against `wc -l` on the same ≥100 MB strace
# log, in one run, with peak RSS.
#
# The log is the real Redis recording fixtures/strace/redis-bgsave.strace
# repeated to SIZE_MB (default 128). Goal (design.md): syscov's throughput
# ≥ 10 % of wc -l's, peak RSS ≤ 64 MiB.
# Usage: bench/parse.sh [SIZE_MB]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-128}
out=bench/out
mkdir -p "$out"
log=$out/parse-input.strace
src=fixtures/strace/redis-bgsave.strace
if [ ! -f "$log" ] || [ "$(($(stat -c %s "$log") / 1048576))" -lt "$size_mb" ]; then
	: > "$log"
	while [ "$(($(stat -c %s "$log") / 1048576))" -lt "$size_mb" ]; do cat "$src" "$src" "$src" "$src" >> "$log"; done
fi
go build -o "$out/syscov" ./cmd/syscov
bytes=$(stat -c %s "$log")
cat "$log" > /dev/null # page cache: both read from memory

# best of 5 wall times (nanosecond clock: wc -l takes a few ms, under the
# 10 ms resolution of /usr/bin/time), and the peak RSS, of a command
measure() {
	local best= rss=0
	for _ in 1 2 3 4 5; do
		local s e t m
		s=$(date +%s%N)
		"$@" > /dev/null
		e=$(date +%s%N)
		t=$(awk -v s="$s" -v e="$e" 'BEGIN{printf "%.4f", (e - s) / 1e9}')
		if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
	done
	/usr/bin/time -f '%M' -o "$out/time.txt" "$@" > /dev/null
	read -r m < "$out/time.txt"
	echo "$best $m"
}
read -r wc_t wc_rss < <(measure wc -l "$log")
read -r sy_t sy_rss < <(measure "$out/syscov" summary "$log")
awk -v b="$bytes" -v wt="$wc_t" -v st="$sy_t" -v wr="$wc_rss" -v sr="$sy_rss" 'BEGIN {
	mb = b / 1048576
	wt = (wt > 0.0001 ? wt : 0.0001); st = (st > 0.0001 ? st : 0.0001)
	printf "input:          %.0f MiB of strace -f text (%s)\n", mb, "fixtures/strace/redis-bgsave.strace repeated"
	printf "wc -l:          %6.2f s  %8.1f MiB/s  peak RSS %6.1f MiB\n", wt, mb / wt, wr / 1024
	printf "syscov summary: %6.2f s  %8.1f MiB/s  peak RSS %6.1f MiB\n", st, mb / st, sr / 1024
	ratio = (mb / st) / (mb / wt) * 100
	printf "throughput vs wc -l: %.1f %% (goal >= 10 %%): %s\n", ratio, (ratio >= 10 ? "met" : "MISSED")
	printf "peak RSS: %.1f MiB (goal <= 64 MiB): %s\n", sr / 1024, (sr / 1024 <= 64 ? "met" : "MISSED")
}'

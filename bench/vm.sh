#!/usr/bin/env bash
# bench/vm.sh — what syscov's unikernel runner adds to a bare qemu run of
# the same image, in one run. Goal (design.md): at most 50 ms.
#
# The image is the tiny test guest (fixtures/guest) replaying the Redis
# console fixture and powering off. "bare" is qemu-system-x86_64 with the
# same machine, accelerator and serial console, its output to /dev/null;
# "syscov" is `syscov trace --unikernel` (QMP, -S then cont, console
# parsed into events, trace and console log written). Both take turns,
# ROUNDS rounds (default 5), and the median of each is compared. TCG is
# measured always, KVM when /dev/kvm opens (on nested KVM the firmware alone
# takes seconds there, so its figures are noisier).
# Usage: bench/vm.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
out=bench/out
mkdir -p "$out"
fixtures/guest/build.sh "$out/guest.elf" fixtures/unikraft/redis-elfloader-0.17.log
go build -o "$out/syscov" ./cmd/syscov
guest=$out/guest.elf

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

measure() { # measure ACCEL: prints "bare_ms syscov_ms"
	local accel=$1 accel_args
	if [ "$accel" = kvm ]; then accel_args=(-enable-kvm -cpu host); else accel_args=(-accel tcg -cpu max); fi
	local bare=() sy=()
	for _ in $(seq "$rounds"); do
		local s e
		s=$(now)
		qemu-system-x86_64 -display none -no-reboot -m 256M -serial stdio -monitor none \
			-device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$guest" "${accel_args[@]}" < /dev/null > /dev/null || true
		e=$(now); bare+=($(( (e - s) / 1000000 )))
		s=$(now)
		"$out/syscov" trace --unikernel "$guest" --kvm "$([ "$accel" = kvm ] && echo on || echo off)" \
			-o "$out/vm.trace" > /dev/null 2>&1
		e=$(now); sy+=($(( (e - s) / 1000000 )))
	done
	local spread
	spread=$(printf '%s\n' "${bare[@]}" | sort -n | awk 'NR==1{lo=$1} {hi=$1} END{print hi-lo}')
	echo "$(printf '%s\n' "${bare[@]}" | median) $(printf '%s\n' "${sy[@]}" | median) $spread"
}

report() {
	local accel=$1 b s sp
	read -r b s sp < <(measure "$accel")
	awk -v a="$accel" -v b="$b" -v s="$s" -v r="$rounds" -v sp="$sp" 'BEGIN {
		d = s - b
		printf "%s (median of %d): bare qemu %6.0f ms (runs spread over %.0f ms), syscov trace --unikernel %6.0f ms, added %+5.0f ms (goal <= 50 ms): %s\n",
			toupper(a), r, b, sp, s, d, (d <= 50 ? "met" : (d <= sp ? "within the noise" : "MISSED"))
	}'
}
report tcg
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then report kvm; fi

# The console reader's throughput on a large log.
go test ./trace -run XXX -bench UnikraftReader -benchtime 2s | grep Benchmark

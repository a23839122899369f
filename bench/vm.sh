#!/usr/bin/env bash
# bench/vm.sh — what syscov's unikernel runner adds to a bare qemu run of
# the same real Unikraft image, in one run. Goal (design.md): at most 50 ms.
#
# The image is a real app-elfloader kernel (SYSCOV_UNIKRAFT_IMAGES, default
# ../shared/unikraft/images, base image), running our static-pie test
# program fixtures/src/ukmix.c from the initrd syscov packs. "bare" is
# qemu-system-x86_64 with the same machine, accelerator, kernel command
# line and initrd, its serial console on a pipe; "syscov" is `syscov trace
# --unikernel` (QMP, -S then cont, console parsed into events, trace and
# console log written; --console copies the console to stderr as syscov
# reads it). For each, two points of the same boot are timed from the
# start of the command: the first syscall line on the console (boot), and
# the program's last line ("fork: ..."; the app is done). The image never
# powers off after the app's exit_group, so "end" is that last line; the
# idle wait that ends syscov's run after it (--idle) is by design and
# reported apart. Both take turns, ROUNDS rounds (default 5); medians.
# TCG always; --kvm auto (the default) too, which on nested paravirtual KVM
# includes the failed KVM start and the TCG rerun.
# Usage: bench/vm.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
images=${SYSCOV_UNIKRAFT_IMAGES:-../shared/unikraft/images}
image=$images/elfloader_qemu-x86_64
[ -f "$image" ] || { echo "bench/vm.sh: no Unikraft image at $image (set SYSCOV_UNIKRAFT_IMAGES)" >&2; exit 1; }
out=bench/out
mkdir -p "$out"
go build -o "$out/syscov" ./cmd/syscov
gcc -O1 -static-pie -o "$out/ukmix" fixtures/src/ukmix.c
gcc -O2 -o "$out/linetimes" bench/src/linetimes.c
sy=$out/syscov
# One syscov run packs the initrd and gives the exact qemu command line.
"$sy" trace --unikernel "$image" --kvm off --idle 300ms -o "$out/vm.trace" -- "$(pwd)/$out/ukmix" > /dev/null 2>&1
cmdline=$(sed -n '1s/.*"cmdline":"\([^"]*\)".*/\1/p' "$out/vm.trace")
initrd=$out/vm.initrd.cpio
first=') = ' last='fork: '

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

bare() { # bare: prints "first_ms last_ms"
	local s fifo=$out/vm.fifo
	rm -f "$fifo"; mkfifo "$fifo"
	s=$(now)
	qemu-system-x86_64 -display none -no-reboot -m 256M -serial stdio -monitor none -kernel "$image" \
		-accel tcg -cpu max -initrd "$initrd" -append "$cmdline" < /dev/null > "$fifo" 2>/dev/null &
	local qpid=$!
	"$out/linetimes" "$s" "$first" "$last" < "$fifo"
	kill "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
}
withsyscov() { # withsyscov KVM: prints "first_ms last_ms total_ms"
	local s t; s=$(now)
	t=$( { "$sy" trace --unikernel "$image" --kvm "$1" --idle 300ms --console -o "$out/vm2.trace" -- "$(pwd)/$out/ukmix" 2>&1 >/dev/null
		echo "end $(( ($(now) - s) / 1000000 ))" > "$out/vm.end"; } | "$out/linetimes" "$s" "$first" "$last" drain)
	echo "$t $(sed 's/end //' "$out/vm.end")"
}
declare -a bf bl sf sl st af al at
for _ in $(seq "$rounds"); do
	read -r f l < <(bare); bf+=("$f"); bl+=("$l")
	read -r f l t < <(withsyscov off); sf+=("$f"); sl+=("$l"); st+=("$t")
	read -r f l t < <(withsyscov auto); af+=("$f"); al+=("$l"); at+=("$t")
done
m() { printf '%s\n' "$@" | median; }
echo "real image $(basename "$image"), ukmix from the packed initrd, $rounds rounds, medians (ms from the command's start):"
printf '  %-30s %12s %12s %14s\n' "" "first syscall" "app done" "run ended"
printf '  %-30s %12s %12s %14s\n' "bare qemu, TCG" "$(m "${bf[@]}")" "$(m "${bl[@]}")" "-"
printf '  %-30s %12s %12s %14s\n' "syscov --kvm off (TCG)" "$(m "${sf[@]}")" "$(m "${sl[@]}")" "$(m "${st[@]}") (idle 300ms)"
printf '  %-30s %12s %12s %14s\n' "syscov --kvm auto (default)" "$(m "${af[@]}")" "$(m "${al[@]}")" "$(m "${at[@]}") (idle 300ms)"
awk -v b="$(m "${bl[@]}")" -v s="$(m "${sl[@]}")" 'BEGIN { printf "syscov adds %.0f ms to the same boot up to the app'"'"'s last line (goal: at most 50 ms)\n", s - b }'

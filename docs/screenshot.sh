#!/usr/bin/env bash
# docs/screenshot.sh — the README's picture of report.html, from a real
# run: syscov check on Redis with a BGSAVE, natively and (when the images
# are there) in the Unikraft lwip image, then headless Chromium takes the
# page's screenshot into docs/report.png.
# Needs: redis-server, redis-tools, chromium (and qemu for the unikernel).
# Usage: docs/screenshot.sh  (SYSCOV_UNIKRAFT_IMAGES=../shared/unikraft/images)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go build -o "$out/syscov" ./cmd/syscov
images=${SYSCOV_UNIKRAFT_IMAGES:-../shared/unikraft/images}
port=16410
uk=()
if [ -f "$images/elfloader_qemu-x86_64.lwip" ]; then
	uk=(--unikernel "$images/elfloader_qemu-x86_64.lwip" --append 'netdev.ip=10.0.2.15/24:10.0.2.2' --port "$port:$port")
fi
"$out/syscov" check --out "$out/check" "${uk[@]}" --ready "tcp:$port" \
	--workload "redis-cli -p $port set k v && redis-cli -p $port bgsave; sleep 1" \
	-- redis-server --port "$port" --dir "$out" --protected-mode no > /dev/null 2>&1 || [ $? -eq 4 ]
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$out/chrome" \
	--window-size=1100,1600 --screenshot=docs/report.png "file://$out/check/report.html" 2>/dev/null
echo "docs/report.png: $(stat -c %s docs/report.png) bytes, from a real Redis run${uk:+ in the Unikraft lwip image}"

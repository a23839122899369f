#!/bin/sh
# Makes every built-in support table again from the public Unikraft trees,
# with syscov's own importer (`syscov kb import`): nothing of Unikraft is
# built, vendored or committed. The trees are taken out of git
# repositories at the exact commits the tables name (git archive), so the
# tables are reproducible; app-elfloader gets the test images' compat
# patch (arch_prctl as an _E_ syscall, see ../shared/unikraft/README.md).
# The default configuration of each table is app-elfloader's own
# defconfigs/qemu-x86_64-initrd, resolved against the Config.uk files of
# the trees by the importer (--defconfig), as `make defconfig` would.
#
#   analyze/kbdata/regenerate.sh [--check] [--keep DIR] UNIKRAFT_GIT APP_ELFLOADER_GIT LIB_LWIP_GIT LIB_LIBELF_GIT
#
# Each argument is a git directory (a clone, or a bare mirror) holding the
# commits below: the Unikraft one must hold the 0.17.0 and 0.18.0 releases
# and staging of 2025-02-25 (e.g. a clone of github.com/mogasergiu/unikraft,
# which has upstream staging up to then). PATCH names the compat patch
# (default app-elfloader-0.18-compat.patch in $SYSCOV_UNIKRAFT_IMAGES, else
# ../shared/unikraft/images; the
# 0.17 one is byte-identical). With --check the tables are made in a
# temporary folder and compared with the committed ones: exit 1 if they
# differ. With --keep DIR the extracted trees stay in DIR, laid out as
# SYSCOV_UNIKRAFT_SRC wants them (unikraft-0.17.0/, unikraft-0.18.0/,
# unikraft-staging/, unikraft/ (eaf6fda1, the 0.17 images' tree),
# app-elfloader/, lib-lwip/, lib-libelf/) for the tests
# that import them (analyze/handcheck_test.go). Run from the repository's
# root.
set -eu

check= keep=
while :; do
	case "${1:-}" in
	--check) check=1; shift ;;
	--keep) keep=$2; shift 2 ;;
	*) break ;;
	esac
done
if [ $# -ne 4 ]; then
	sed -n 's/^#   //p' "$0" >&2
	exit 2
fi
UK_GIT=$1 ELF_GIT=$2 LWIP_GIT=$3 LIBELF_GIT=$4
PATCH=${PATCH:-${SYSCOV_UNIKRAFT_IMAGES:-../shared/unikraft/images}/app-elfloader-0.18-compat.patch}
[ -f "$PATCH" ] || { echo "regenerate.sh: no compat patch at $PATCH (set PATCH)" >&2; exit 1; }
PATCH=$(cd "$(dirname "$PATCH")" && pwd)/$(basename "$PATCH")

ELF=e4f7014626897d4774fbb6cd789e599c5fddd013
LWIP=7c1859a7069701f992dbf0b9508335377f55d364
LIBELF=0f1476d5f7fbc1a8fb44776066ab13e7403cfcae
LIBS="unikraft/app-elfloader e4f701462689 with the 0.17 compat patch of the test images (arch_prctl as an _E_ syscall; its last release 0.16.3 does not build against 0.17.0) + unikraft/lib-lwip 7c1859a70697"
DEFNAME="app-elfloader defaults (its defconfigs/qemu-x86_64-initrd, resolved against the trees' Config.uk by syscov kb import --defconfig, as make defconfig does)"

repo=$(pwd)
[ -n "$keep" ] && mkdir -p "$keep" && keep=$(cd "$keep" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$repo/analyze/kbdata
[ -n "$check" ] && out=$work/out && mkdir -p "$out"
go build -o "$work/syscov" ./cmd/syscov

extract() { # git-dir commit folder
	mkdir -p "$3"
	git --git-dir="$1" archive "$2" | tar -x -C "$3"
}
extract "$ELF_GIT" $ELF "$work/app-elfloader"
(cd "$work/app-elfloader" && patch -s -p1 <"$PATCH")
extract "$LWIP_GIT" $LWIP "$work/lib-lwip"
extract "$LIBELF_GIT" $LIBELF "$work/lib-libelf"

table() { # version commit file source-text
	rm -rf "$work/unikraft"
	extract "$UK_GIT" "$2" "$work/unikraft"
	(cd "$work" && ./syscov kb import unikraft app-elfloader lib-lwip lib-libelf --version "$1" \
		--defconfig app-elfloader/defconfigs/qemu-x86_64-initrd --default-config-name "$DEFNAME" \
		--source "$4 + $LIBS" -o "$out/$3")
	if [ -n "$keep" ]; then
		rm -rf "$keep/unikraft-$1"
		mv "$work/unikraft" "$keep/unikraft-$1"
	fi
}
table 0.17.0 484ff209a5265bc4b2366041f149534922d0e5c8 unikraft-0.17.0.json \
	"unikraft/unikraft RELEASE-0.17.0 (484ff209a526)"
table 0.18.0 424eb3d920bfbe9ca0dc269750fba4a989ead184 unikraft-0.18.0.json \
	"unikraft/unikraft RELEASE-0.18.0 (424eb3d920bf, Release: v0.18.0 Helene, 2024-12-20)"
table staging 12072b5fa6ef8577fc81b2ab17553a852d99a9a2 unikraft-staging.json \
	"unikraft/unikraft staging 12072b5fa6ef (0.18.0 + 83 commits, 2025-02-25; the newest upstream commit public, in github.com/mogasergiu/unikraft)"

if [ -n "$keep" ]; then
	for d in app-elfloader lib-lwip lib-libelf; do
		rm -rf "$keep/$d"
		mv "$work/$d" "$keep/$d"
	done
	# And the 0.17 test images' tree (staging eaf6fda1, no table of its
	# own), for the tests that compare with those images' .config.
	rm -rf "$keep/unikraft"
	extract "$UK_GIT" eaf6fda1d420ee079b3b612f0130ea2761cf1c56 "$keep/unikraft"
fi

if [ -n "$check" ]; then
	status=0
	for f in "$out"/*.json; do
		if ! cmp -s "$f" "$repo/analyze/kbdata/$(basename "$f")"; then
			echo "regenerate.sh: analyze/kbdata/$(basename "$f") differs from what the trees give" >&2
			status=1
		fi
	done
	exit $status
fi

#!/usr/bin/env bash
# The modules also build, warning-free, against every other kernel tree
# installed (make deps installs Debian 12's 6.12 headers beside 6.1's):
# compile-only (tools/kbuild-compat), one test per tree.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh

mapfile -t trees < <(tools/kbuild-compat --list)
if [ ${#trees[@]} -eq 0 ]; then
	skip "no kernel tree besides $(tools/kdir 2>/dev/null || echo none) (make deps installs linux-headers-6.12-amd64)"
	done_testing
	exit 0
fi
for kdir in "${trees[@]}"; do
	check "modules build against $(KDIR=$kdir tools/kdir --release)" \
		tools/kbuild-compat --build "${MK_BUILD:-build}" "$kdir"
done
done_testing

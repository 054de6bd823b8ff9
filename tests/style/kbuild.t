#!/usr/bin/env bash
# The modules also build, warning-free, against every other kernel tree
# there is (make deps unpacks Debian 12's 6.12 headers into .cache/kheaders):
# compile-only (tools/kbuild-compat), one test per tree.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh

mapfile -t trees < <(tools/kbuild-compat --list)
if [ ${#trees[@]} -eq 0 ]; then
	skip "no kernel tree besides $(tools/kdir 2>/dev/null || echo none) (make deps unpacks 6.12's into .cache/kheaders: tools/fetch-compat-headers)"
	done_testing
	exit 0
fi
for kdir in "${trees[@]}"; do
	check "modules build against $(KDIR=$kdir tools/kdir --release)" \
		tools/kbuild-compat --build "${MK_BUILD:-build}" "$kdir"
done
done_testing

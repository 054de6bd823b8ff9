#!/usr/bin/env bash
# Kernel coding style: the kernel's checkpatch.pl (tools/checkpatch) over
# every kernel source and uapi header, one test per file. Skipped when
# checkpatch cannot be fetched (no apt source reachable).
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh

if ! tools/checkpatch --fetch >/dev/null 2>&1; then
	skip "checkpatch.pl not available (tools/checkpatch --fetch failed)"
	done_testing
	exit 0
fi
for f in $(ls kmod/*/*.c kmod/*/*.h tests/kmod/*.c include/uapi/mk/*.h | grep -v '\.mod\.c$'); do
	check "checkpatch $f" tools/checkpatch "$f"
done
done_testing

#!/usr/bin/env bash
# Guest benchmark (run by bench/run through tools/mkvm): cobjvm's VM objects
# against stock anonymous faults in the same run, THP off: memclone with
# independent regions and with one shared region, 1 and all CPUs, for
# 2,500 and 25,600 pages per thread; the fault ioctl's object path alone.
#   BENCH_VM_VARIANTS  all, or a list like 0,0x17 (default: all-shared 0,
#                      all-distributed with the hash FCM 0x17 and with the
#                      partitioned FCM 0x1b)
#   BENCH_VM_PAGES     page counts per thread (default "2500 25600")
# Prints tables; JSON to $1 (one file per page count: $1 with -PAGES).
set -euo pipefail
cd "$(dirname "$0")/.."
json=${1:-/dev/null}
b=${MK_BUILD:-build}
thp=/sys/kernel/mm/transparent_hugepage/enabled

insmod "$b/modules/cobjvm.ko"
old_thp=$(sed 's/.*\[\(.*\)\].*/\1/' "$thp")
trap 'echo "$old_thp" >"$thp"; rmmod cobjvm 2>/dev/null || true' EXIT
echo never >"$thp"

echo "cobjvm VM objects vs stock faults (guest: $(uname -r), $(nproc) CPUs, THP never)"
for p in ${BENCH_VM_PAGES:-2500 25600}; do
	out=$json
	[ "$json" = /dev/null ] || out=${json%.json}-$p.json
	"$b/bench/cobjvm_vm" --pages "$p" --cpus "$(nproc)" \
		--variants "${BENCH_VM_VARIANTS:-0,0x17,0x1b}" --json "$out"
done
grep -E '^(total|locality)' /sys/kernel/debug/cobjvm/vmobjects

#!/usr/bin/env bash
# Guest benchmark (run by bench/run through tools/mkvm): cobjvm's VM objects
# against stock anonymous faults in the same run, THP off: memclone with
# independent regions and with one shared region, 1 and all CPUs, for
# 2,500 and 25,600 pages per thread, in rounds (each round measures every
# variant set and stock in a rotated order; medians and paired ratios with
# stock of the same round, see bench/cobjvm_vm.c); the fault ioctl's object
# path, re-faults and attach/detach once per set.
#   BENCH_VM_VARIANTS  all (default: the 24 variant sets), or a list like
#                      0,0x17,0x1b
#   BENCH_VM_PAGES     page counts per thread (default "2500 25600")
#   BENCH_VM_ROUNDS    rounds: one number for every page count, or one per
#                      page count, the last repeated (default "15 5": a
#                      25,600-page round costs ~10x a 2,500-page one)
# Prints tables, each page count ending in its "targets (issue 5)" block;
# JSON to $1 (one file per page count: $1 with -PAGES).
# Time at -smp 2 with the defaults: ~7 minutes, boot included (410 and 442 s
# in two runs on a busy host; a round of the 24 sets: ~7 s at 2,500 pages,
# ~50-65 s at 25,600; the once-per-set sections ~60 s). That is over
# tools/mkvm's default --timeout of 300 s:
# bench/run must give this guest run a longer one (e.g. --timeout 900).
# tools/mkvm passes only MK_* into the guest: set the others with
# `tools/mkvm run --env BENCH_VM_ROUNDS=...`.
set -euo pipefail
cd "$(dirname "$0")/.."
json=${1:-/dev/null}
b=${MK_BUILD:-build}
thp=/sys/kernel/mm/transparent_hugepage/enabled
pages=(${BENCH_VM_PAGES:-2500 25600})
rounds=(${BENCH_VM_ROUNDS:-15 5})

insmod "$b/modules/cobjvm.ko"
old_thp=$(sed 's/.*\[\(.*\)\].*/\1/' "$thp")
trap 'echo "$old_thp" >"$thp"; rmmod cobjvm 2>/dev/null || true' EXIT
echo never >"$thp"

echo "cobjvm VM objects vs stock faults (guest: $(uname -r), $(nproc) CPUs, THP never)"
t0=$SECONDS
for i in "${!pages[@]}"; do
	p=${pages[$i]}
	r=${rounds[$i]:-${rounds[-1]}}
	out=$json
	[ "$json" = /dev/null ] || out=${json%.json}-$p.json
	"$b/bench/cobjvm_vm" --pages "$p" --cpus "$(nproc)" --rounds "$r" \
		--variants "${BENCH_VM_VARIANTS:-all}" --json "$out"
done
grep -E '^(total|locality)' /sys/kernel/debug/cobjvm/vmobjects
echo "cobjvm_vm: $((SECONDS - t0)) s"

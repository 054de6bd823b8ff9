#!/usr/bin/env bash
# Guest benchmark (run by bench/run through tools/mkvm): mkchan's in-kernel
# multicast, unicast and package tree, against the stock kernel's
# on_each_cpu_mask(wait=1) (IPIs), to every online CPU, in one run, at
# several monitor spin budgets. Prints a table; JSON to $1.
set -euo pipefail
cd "$(dirname "$0")/.."
json=${1:-/dev/null}
count=${BENCH_MC_COUNT:-20000}
spins=${BENCH_MC_SPINS:-"20 200"}
d=/sys/kernel/debug/mkchan

insmod "${MK_BUILD:-build}/modules/mkchan.ko"
trap 'rmmod mkchan 2>/dev/null || true' EXIT

run() {	# mode -> ns per multicast
	echo "$1 $count" >"$d/multicast"
	grep -q 'verified=yes' "$d/multicast" || { echo "unverified: $(cat $d/multicast)" >&2; exit 1; }
	sed -n 's/.*ns_per_op=\([0-9]*\).*/\1/p' "$d/multicast"
}

printf 'multicast to all %d CPUs, %d each, ns per multicast (guest: %s)\n' \
	"$(nproc)" "$count" "$(uname -r)"
printf '  %-18s %10s %10s %10s %9s %9s\n' "spin budget" ipi unicast tree "uni/ipi" "tree/ipi"
{
	printf '{\n  "bench": "multicast",\n  "cpus": %d,\n  "count": %d,\n  "kernel": "%s",\n  "runs": [\n' \
		"$(nproc)" "$count" "$(uname -r)"
	first=1
	for spin in $spins; do
		echo "$spin" >/sys/module/mkchan/parameters/monitor_spin_us
		ipi=$(run ipi); uni=$(run unicast); tree=$(run tree)
		printf '  %-18s %10d %10d %10d %9.2f %9.2f\n' "${spin} us" "$ipi" "$uni" "$tree" \
			"$(echo "$uni / $ipi" | bc -l)" "$(echo "$tree / $ipi" | bc -l)" >&2
		[ $first -eq 1 ] || printf ',\n'
		first=0
		printf '    { "monitor_spin_us": %d, "ipi_ns": %d, "unicast_ns": %d, "tree_ns": %d }' \
			"$spin" "$ipi" "$uni" "$tree"
	done
	printf '\n  ]\n}\n'
} 2>&1 >"$json"

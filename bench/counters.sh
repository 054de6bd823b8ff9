#!/usr/bin/env bash
# Guest benchmark (run by bench/run through tools/mkvm): K42's Figure 1 on
# Debian's stock kernel with cobjvm loaded: ns per increment of a
# spinlocked counter, an atomic, an unpadded per-CPU array (false sharing),
# a padded per-CPU array and cobjvm's clustered counter, all CPUs at once,
# for 1..N CPUs in one run; plus one CPU's direct increment against a
# clustered deref. Prints a table; JSON to $1.
set -euo pipefail
cd "$(dirname "$0")/.."
json=${1:-/dev/null}
iters=${BENCH_COUNTER_ITERS:-200000}
d=/sys/kernel/debug/cobjvm

insmod "${MK_BUILD:-build}/modules/cobjvm.ko"
trap 'rmmod cobjvm 2>/dev/null || true' EXIT

field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$d/counters"; }

printf 'K42 Figure 1: ns per increment, %d per CPU, all CPUs at once (guest: %s)\n' \
	"$iters" "$(uname -r)"
printf '  %-5s %8s %8s %8s %8s %10s\n' cpus lock atomic array padded clustered
{
	printf '{\n  "bench": "counters",\n  "iters": %d,\n  "kernel": "%s",\n  "runs": [\n' \
		"$iters" "$(uname -r)"
	for n in $(seq 1 "$(nproc)"); do
		echo "$iters $n" >"$d/counters"
		grep -q verified=yes "$d/counters"
		printf '  %-5d %8d %8d %8d %8d %10d\n' "$n" "$(field lock)" "$(field atomic)" \
			"$(field array)" "$(field padded)" "$(field clustered)" >&2
		[ "$n" -eq 1 ] || printf ',\n'
		printf '    { "cpus": %d, "lock_ns": %d, "atomic_ns": %d, "array_ns": %d, "padded_ns": %d, "clustered_ns": %d }' \
			"$n" "$(field lock)" "$(field atomic)" "$(field array)" "$(field padded)" "$(field clustered)"
	done
	printf '\n  ],\n  "one_cpu": { "direct_ns": %d, "clustered_deref_ns": %d }\n}\n' \
		"$(field one_cpu_direct)" "$(field one_cpu_clustered)"
	printf '  one CPU: direct increment %d ns, through a clustered deref %d ns\n' \
		"$(field one_cpu_direct)" "$(field one_cpu_clustered)" >&2
} 2>&1 >"$json"

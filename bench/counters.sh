#!/usr/bin/env bash
# Guest benchmark (run by bench/run through tools/mkvm): K42's Figure 1 on
# Debian's stock kernel with cobjvm loaded: ns per increment of a
# spinlocked counter, an atomic, an unpadded per-CPU array (false sharing),
# a padded per-CPU array, the stock kernel's per-CPU counter
# (this_cpu_inc on alloc_percpu memory) and cobjvm's clustered counter,
# all CPUs at once, for 1..N CPUs in one run; plus one CPU's direct increment against a
# clustered deref. Each cell is the median of BENCH_COUNTER_REPS runs (the
# guest's vCPUs are host threads on a shared host: a run during which the
# host took a vCPU away measures the host; the median, unlike the best,
# keeps the runs in which the CPUs really overlapped, which is what false
# sharing and contention need). Each run is long enough
# (BENCH_COUNTER_ITERS per CPU) for the threads to overlap across host
# time slices. With more vCPUs than host cores the last columns are
# oversubscribed: a CPU's time includes waiting for a host core, the more
# so the longer the run. Prints a table; JSON to $1.
set -euo pipefail
cd "$(dirname "$0")/.."
json=${1:-/dev/null}
iters=${BENCH_COUNTER_ITERS:-2000000}
reps=${BENCH_COUNTER_REPS:-3}
d=/sys/kernel/debug/cobjvm
fields="lock atomic array padded percpu clustered one_cpu_direct one_cpu_clustered"

insmod "${MK_BUILD:-build}/modules/cobjvm.ko"
trap 'rmmod cobjvm 2>/dev/null || true' EXIT

field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$d/counters"; }

# the median of $reps runs on $1 CPUs, into best[field]
declare -A best
run() {
	local r f
	local -A all=()
	for r in $(seq "$reps"); do
		echo "$iters $1" >"$d/counters"
		grep -q verified=yes "$d/counters"
		for f in $fields; do
			all[$f]+="$(field "$f") "
		done
	done
	for f in $fields; do
		best[$f]=$(printf '%s\n' ${all[$f]} | sort -n | sed -n "$(((reps + 1) / 2))p")
	done
}

printf 'K42 Figure 1: ns per increment, %d per CPU, all CPUs at once, median of %d (guest: %s)\n' \
	"$iters" "$reps" "$(uname -r)"
printf '  %-5s %8s %8s %8s %8s %8s %10s\n' cpus lock atomic array padded percpu clustered
{
	printf '{\n  "bench": "counters",\n  "iters": %d,\n  "reps": %d,\n  "kernel": "%s",\n  "runs": [\n' \
		"$iters" "$reps" "$(uname -r)"
	for n in $(seq 1 "$(nproc)"); do
		run "$n"
		printf '  %-5d %8d %8d %8d %8d %8d %10d\n' "$n" "${best[lock]}" "${best[atomic]}" \
			"${best[array]}" "${best[padded]}" "${best[percpu]}" "${best[clustered]}" >&2
		[ "$n" -eq 1 ] || printf ',\n'
		printf '    { "cpus": %d, "lock_ns": %d, "atomic_ns": %d, "array_ns": %d, "padded_ns": %d, "percpu_ns": %d, "clustered_ns": %d }' \
			"$n" "${best[lock]}" "${best[atomic]}" "${best[array]}" "${best[padded]}" \
			"${best[percpu]}" "${best[clustered]}"
	done
	printf '\n  ],\n  "one_cpu": { "direct_ns": %d, "clustered_deref_ns": %d }\n}\n' \
		"${best[one_cpu_direct]}" "${best[one_cpu_clustered]}"
	printf '  one CPU: direct increment %d ns, through a clustered deref %d ns\n' \
		"${best[one_cpu_direct]}" "${best[one_cpu_clustered]}" >&2
} 2>&1 >"$json"

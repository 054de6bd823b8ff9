#!/usr/bin/env bash
# Host benchmark (run by bench/run): lock acquire + release through
# libmk's Octopus lock recipe and octopusd, against etcd's lock recipe
# (etcd-server from Debian, single member on loopback, data on tmpfs,
# --unsafe-no-fsync so that etcd is not charged for a disk) in the same run.
# Servers on core A, clients on core B. JSON to $1.
#   BENCH_CPUS=A,B   BENCH_LOCK_ITERS=N (default 5000 for octopusd; etcd
#   does N/10)
set -euo pipefail
cd "$(dirname "$0")/.."
json=${1:-/dev/null}
b=${MK_BUILD:-build}
. bench/lib.sh
n=${BENCH_LOCK_ITERS:-5000}
ne=$((n / 10 > 0 ? n / 10 : 1))
dir=$(mktemp -d -p /dev/shm)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

cport=$(free_port); pport=$(free_port)
taskset -c "$cpu_a" etcd --name bench --data-dir "$dir/etcd" --unsafe-no-fsync \
	--listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
	--listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
	--initial-cluster "bench=http://127.0.0.1:$pport" >"$dir/etcd.log" 2>&1 &
pids+=($!)
taskset -c "$cpu_a" "$b/bin/octopusd" --unix "$dir/oct.sock" 2>/dev/null &
pids+=($!)
for _ in $(seq 200); do
	[ -S "$dir/oct.sock" ] && curl -sf "http://127.0.0.1:$cport/health" >/dev/null 2>&1 && break
	sleep 0.05
done

lock() { taskset -c "$cpu_b" "$b/bench/oct_lock" "$@"; }
echo "lock acquire + release, octopusd (libmk lock recipe) vs etcd $(etcd --version | awk '/^etcd Version/ { print $3 }') (v3lock via its JSON gateway); servers on CPU $cpu_a, clients on CPU $cpu_b"
printf '  %-26s %14s %14s %9s\n' "" "octopusd p50 us" "etcd p50 us" "etcd / oct"
first=1
{
	printf '{\n  "bench": "octopus_lock_vs_etcd",\n  "runs": [\n'
	for procs in 1 2; do
		read -r op50 omean oops <<<"$(lock --octopus "$dir/oct.sock" --iters "$n" --procs "$procs")"
		read -r ep50 emean eops <<<"$(lock --etcd "127.0.0.1:$cport" --iters "$ne" --procs "$procs")"
		ratio=$(echo "$ep50 / $op50" | bc -l)
		label="$procs client$([ "$procs" = 1 ] && echo ', uncontended' || echo 's, contended')"
		printf '  %-26s %14.2f %14.2f %8.1fx\n' "$label" "$op50" "$ep50" "$ratio" >&2
		[ "$procs" = 1 ] && printf '  target (issue 4): lock round trip >= 20x faster than etcd: %.1fx %s\n' "$ratio" \
			"$(echo "$ratio >= 20" | bc -l | sed 's/1/met/; s/0/NOT met/')" >&2
		[ $first = 1 ] || printf ',\n'
		first=0
		printf '    { "procs": %d, "octopusd_p50_us": %s, "octopusd_mean_us": %s, "octopusd_ops_per_s": %s, "etcd_p50_us": %s, "etcd_mean_us": %s, "etcd_ops_per_s": %s, "ratio_p50": %.2f }' \
			"$procs" "$op50" "$omean" "$oops" "$ep50" "$emean" "$eops" "$ratio"
	done
	printf '\n  ]\n}\n'
} 2>&1 >"$json" | cat

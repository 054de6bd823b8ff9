#!/usr/bin/env bash
# Host benchmark (run by bench/run): Octopus's get latency as the store
# grows (the paper's microbenchmark: 1,000 vs 1.4 million records) and an
# attribute query over every record, through octopusd (pinned to core A)
# and libmk's client (core B). JSON to $1.
#   BENCH_CPUS=A,B   BENCH_OCT_SIZES=1000,1400000   BENCH_OCT_GETS=20000
set -euo pipefail
cd "$(dirname "$0")/.."
json=${1:-/dev/null}
b=${MK_BUILD:-build}
. bench/lib.sh
sizes=${BENCH_OCT_SIZES:-1000,1400000}
gets=${BENCH_OCT_GETS:-20000}
dir=$(mktemp -d)
pid=
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

taskset -c "$cpu_a" "$b/bin/octopusd" --unix "$dir/oct.sock" 2>/dev/null &
pid=$!
for _ in $(seq 100); do [ -S "$dir/oct.sock" ] && break; sleep 0.05; done

taskset -c "$cpu_b" "$b/bench/oct_records" -s "$dir/oct.sock" --sizes "$sizes" --gets "$gets" \
	>"$dir/out"
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
base=$(awk 'NR == 1 { print $2 }' "$dir/out")

echo "octopusd get of one record by name as the store grows ($gets gets, through libmk); daemon on CPU $cpu_a, client on CPU $cpu_b"
printf '  %12s %12s %12s %10s   %s\n' records "get p50 us" "get mean us" "x 1st" "attribute query p50 (matches)"
awk -v base="$base" '{ printf "  %12d %12.2f %12.2f %10.2f   %.1f us (%d)\n", $1, $2, $3, $2 / base, $4, $5 }' "$dir/out"
echo "  daemon RSS with $(tail -1 "$dir/out" | cut -d' ' -f1) records: $((rss / 1024)) MiB"
last=$(tail -1 "$dir/out" | awk '{ print $2 }')
ratio=$(echo "$last / $base" | bc -l)
printf '  target (issue 4): largest-store get within 1.2x of the smallest: %.2fx %s\n' "$ratio" \
	"$(echo "$ratio <= 1.2" | bc -l | sed 's/1/met/; s/0/NOT met/')"

{
	printf '{\n  "bench": "octopus_records",\n  "gets": %d,\n  "daemon_rss_kib": %d,\n  "sizes": [\n' "$gets" "$rss"
	awk 'NR > 1 { printf ",\n" } { printf "    { \"records\": %d, \"get_p50_us\": %s, \"get_mean_us\": %s, \"query_p50_us\": %s, \"query_matches\": %d }", $1, $2, $3, $4, $5 }' "$dir/out"
	printf '\n  ],\n  "ratio_largest_to_smallest": %.3f\n}\n' "$ratio"
} >"$json"

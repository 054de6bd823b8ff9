#!/usr/bin/env bash
# Host benchmark (run by bench/run): octopusd against redis-server 7 with
# persistence off, the very same redis-benchmark, in one run: each server
# pinned to core A, the client to core B; GET and SET of 256-byte values,
# 50 clients, -P 1 and -P 16, over a Unix socket and loopback TCP. Prints
# req/s, p50 and p99 per server and the ratio; JSON to $1. Over the Unix
# socket it also runs bench/resp_ceiling (a server that frames and answers
# commands and does nothing else) to show the most any server can reach
# with this client on this machine.
#   BENCH_CPUS=A,B   cores (default 0,1)   BENCH_OCT_REQUESTS=N (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
json=${1:-/dev/null}
b=${MK_BUILD:-build}
. bench/lib.sh
n=${BENCH_OCT_REQUESTS:-200000}
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

rport=$(free_port); oport=$(free_port)
taskset -c "$cpu_a" redis-server --save '' --appendonly no --port "$rport" --bind 127.0.0.1 \
	--unixsocket "$dir/redis.sock" --daemonize no --loglevel warning >/dev/null &
pids+=($!)
taskset -c "$cpu_a" "$b/bin/octopusd" --unix "$dir/oct.sock" --port "$oport" 2>/dev/null &
pids+=($!)
taskset -c "$cpu_a" "$b/bench/resp_ceiling" --unix "$dir/ceil.sock" &
pids+=($!)
for i in $(seq 100); do [ -S "$dir/redis.sock" ] && [ -S "$dir/oct.sock" ] && [ -S "$dir/ceil.sock" ] && break; sleep 0.05; done

# one redis-benchmark run: "rps p50 p99" for a test (get or set)
run() {
	local target=$1 pipe=$2 test=$3
	taskset -c "$cpu_b" redis-benchmark $target -t "$test" -n "$n" -c 50 -d 256 -P "$pipe" --csv 2>/dev/null |
		awk -F, 'NR > 1 { gsub(/"/, ""); print $2, $5, $7 }' | head -1
}

printf 'octopusd vs redis-server %s: %d requests, 50 clients, 256-byte values; servers on CPU %s, client on CPU %s\n' \
	"$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')" "$n" "$cpu_a" "$cpu_b" >&2
printf '  %-22s %12s %12s %7s %9s   %s\n' "" "octopusd/s" "redis/s" "ratio" "ceiling" "p50 / p99 ms (oct, redis)" >&2
first=1
{
	printf '{\n  "bench": "octopus_vs_redis",\n  "requests": %d,\n  "clients": 50,\n  "value_bytes": 256,\n  "runs": [\n' "$n"
	for transport in unix tcp; do
		for pipe in 1 16; do
			for test in set get; do
				crps=null ceil=-
				if [ "$transport" = unix ]; then
					o=$(run "-s $dir/oct.sock" "$pipe" "$test"); r=$(run "-s $dir/redis.sock" "$pipe" "$test")
					read -r crps _ <<<"$(run "-s $dir/ceil.sock" "$pipe" "$test")"
				else
					o=$(run "-h 127.0.0.1 -p $oport" "$pipe" "$test"); r=$(run "-h 127.0.0.1 -p $rport" "$pipe" "$test")
				fi
				read -r orps op50 op99 <<<"$o"; read -r rrps rp50 rp99 <<<"$r"
				ratio=$(echo "$orps / $rrps" | bc -l)
				[ "$crps" = null ] || ceil=$(printf '%.2f' "$(echo "$crps / $rrps" | bc -l)")
				printf '  %-22s %12.0f %12.0f %7.2f %9s   %s / %s, %s / %s\n' "$test $transport -P $pipe" \
					"$orps" "$rrps" "$ratio" "$ceil" "$op50" "$op99" "$rp50" "$rp99" >&2
				[ $first -eq 1 ] || printf ',\n'
				first=0
				printf '    { "test": "%s", "transport": "%s", "pipeline": %d, "octopusd_rps": %s, "redis_rps": %s, "ceiling_rps": %s, "ratio": %.3f, "octopusd_p50_ms": %s, "octopusd_p99_ms": %s, "redis_p50_ms": %s, "redis_p99_ms": %s }' \
					"$test" "$transport" "$pipe" "$orps" "$rrps" "$crps" "$ratio" "$op50" "$op99" "$rp50" "$rp99"
			done
		done
	done
	printf '\n  ]\n}\n'
} 2>&1 >"$json"

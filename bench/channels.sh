#!/usr/bin/env bash
# Guest benchmark (run by bench/run through tools/mkvm): channel round trips
# between two processes on Debian's stock kernel, over libmk's fallback and
# over the mkchan module, polling and blocking (spin 0), beside the pipe,
# eventfd, futex and socket baselines of chan_pingpong in the same guest.
# Prints a table; JSON to $1.
set -euo pipefail
cd "$(dirname "$0")/.."
json=${1:-/dev/null}
b=${MK_BUILD:-build}
n=${BENCH_PING_COUNT:-20000}

median() { sed -n 's/.*median \([0-9.]*\).*/\1/p'; }
ping() { "$b/bin/mkping" -n "$1" ${2:+--spin "$2"} | tee /dev/stderr | median; }

echo "channel round trips between two processes, guest $(uname -r), $(nproc) CPUs" >&2
fb_poll=$(ping "$n")
fb_block=$(ping $((n / 10)) 0)
insmod "$b/modules/mkchan.ko"
trap 'rmmod mkchan 2>/dev/null || true' EXIT
km_poll=$(ping "$n")
km_block=$(ping $((n / 10)) 0)
"$b/bench/chan_pingpong" --reps 3 --iters "$n" --json /tmp/pp.json >/tmp/pp.txt
grep -E 'raw cache line|pipe  |futex|eventfd|SEQPACKET' /tmp/pp.txt | head -6 >&2
rt() { sed -n "s/.*\"$1\": { \"median_ns\": \([0-9.]*\).*/\1/p" /tmp/pp.json | head -1; }
printf '{\n  "bench": "channels",\n  "kernel": "%s",\n  "cpus": %d,\n' "$(uname -r)" "$(nproc)" >"$json"
printf '  "round_trip_us_median": { "fallback_polling": %s, "fallback_blocking": %s, "module_polling": %s, "module_blocking": %s },\n' \
	"$fb_poll" "$fb_block" "$km_poll" "$km_block" >>"$json"
printf '  "chan_pingpong_one_way_ns": { "raw": %s, "pipe": %s, "futex": %s, "futex_shared": %s }\n}\n' \
	"$(rt raw)" "$(rt pipe)" "$(rt futex)" "$(rt futex_shared)" >>"$json"
printf 'median round trip, us: fallback %s polling / %s blocking; module %s polling / %s blocking\n' \
	"$fb_poll" "$fb_block" "$km_poll" "$km_block" >&2
printf 'pipe round trip in the same guest: %s us\n' "$(echo "2 * $(rt pipe) / 1000" | bc -l | cut -c1-6)" >&2

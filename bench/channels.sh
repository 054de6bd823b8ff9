#!/usr/bin/env bash
# Guest benchmark (run by bench/run through tools/mkvm): channel round trips
# between two processes on Debian's stock kernel, over libmk's fallback and
# over the mkchan module, polling and blocking (spin 0), across two CPUs and
# on one (blocking only: a poller on the peer's CPU only delays it), beside
# the pipe, eventfd, futex, socket and io_uring MSG_RING baselines of
# chan_pingpong in the same guest. Prints a table; JSON to $1.
set -euo pipefail
cd "$(dirname "$0")/.."
json=${1:-/dev/null}
b=${MK_BUILD:-build}
n=${BENCH_PING_COUNT:-20000}

median() { sed -n 's/.*median \([0-9.]*\).*/\1/p'; }
# ping COUNT [SPIN [CPUS]]
ping() { "$b/bin/mkping" -n "$1" ${2:+--spin "$2"} ${3:+--cpus "$3"} | tee /dev/stderr | median; }

echo "channel round trips between two processes, guest $(uname -r), $(nproc) CPUs" >&2
fb_poll=$(ping "$n")
fb_block=$(ping $((n / 10)) 0)
fb_same=$(ping $((n / 10)) 0 0,0)
insmod "$b/modules/mkchan.ko"
trap 'rmmod mkchan 2>/dev/null || true' EXIT
km_poll=$(ping "$n")
km_block=$(ping $((n / 10)) 0)
km_same=$(ping $((n / 10)) 0 0,0)
"$b/bench/chan_pingpong" --reps 3 --iters "$n" --pairs 11 --json /tmp/pp.json >/tmp/pp.txt
grep -E 'raw cache line|pipe  |futex wait|eventfd|SEQPACKET|io_uring|poll \+ sched_yield' /tmp/pp.txt >&2
grep -A3 'blocking ring <=' /tmp/pp.txt >&2 || true
# rt SECTION KEY: the median of KEY in SECTION of chan_pingpong's JSON
rt() { awk -v sec="\"$1\":" -v key="\"$2\":" '
	$1 == sec { in_sec = 1; next }
	/^  }/ { in_sec = 0 }
	in_sec && $1 == key && $3 == "\"median_ns\":" { sub(",", "", $4); print $4; exit }' /tmp/pp.json; }
lat() { rt one_way_ns "$1"; }
same() { rt same_core_one_way_ns "$1"; }
num() { [ -n "$1" ] && echo "$1" || echo null; }
paired=$(sed -n 's/.*"blocking_ring_over_shared_futex_paired": \({[^}]*}\).*/\1/p' /tmp/pp.json)
printf '{\n  "bench": "channels",\n  "kernel": "%s",\n  "cpus": %d,\n' "$(uname -r)" "$(nproc)" >"$json"
printf '  "round_trip_us_median": { "fallback_polling": %s, "fallback_blocking": %s, "module_polling": %s, "module_blocking": %s },\n' \
	"$fb_poll" "$fb_block" "$km_poll" "$km_block" >>"$json"
printf '  "same_core_round_trip_us_median": { "fallback_blocking": %s, "module_blocking": %s },\n' \
	"$fb_same" "$km_same" >>"$json"
printf '  "chan_pingpong_one_way_ns": { "raw": %s, "pipe": %s, "futex": %s, "futex_shared": %s, "ring_block": %s, "io_uring": %s },\n' \
	"$(num "$(lat raw)")" "$(num "$(lat pipe)")" "$(num "$(lat futex)")" \
	"$(num "$(lat futex_shared)")" "$(num "$(lat ring_block)")" "$(num "$(lat io_uring)")" >>"$json"
printf '  "chan_pingpong_same_core_one_way_ns": { "ring_yield": %s, "pipe": %s },\n' \
	"$(num "$(same ring_yield)")" "$(num "$(same pipe)")" >>"$json"
printf '  "blocking_ring_over_shared_futex_paired": %s\n}\n' "${paired:-null}" >>"$json"
printf 'median round trip, us: fallback %s polling / %s blocking; module %s polling / %s blocking\n' \
	"$fb_poll" "$fb_block" "$km_poll" "$km_block" >&2
printf 'same core, blocking, median round trip, us: fallback %s; module %s\n' \
	"$fb_same" "$km_same" >&2
printf 'pipe round trip in the same guest: %s us\n' "$(echo "2 * $(lat pipe) / 1000" | bc -l | cut -c1-6)" >&2

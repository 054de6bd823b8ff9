#!/usr/bin/env bash
# octopusd: OCT.WAIT through the watch index. 10,000 waiters parked on
# queries a record does not match cost its set nothing (INFO counts the
# wait candidates visited); a matching set wakes its waiter and no other,
# which then runs the command it sent after its wait; short deadlines
# expire in order among thousands of long ones; hang-ups drop every wait.
# The daemon on a private socket and a free port (normal, then the
# ASan+UBSan build when built); the waiters are one bash process holding
# one TCP connection each (a waiting connection runs nothing else).
set -u

cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=../lib/octopusd.sh
. tests/lib/octopusd.sh
need_tools redis-cli

sock=$tmp/mk/octopus.sock

# same DESC WANT GOT
same() {
	if [ "$3" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '# want: %s\n# got:  %s\n' "$2" "$3"
	fi
}
info() { rc INFO | tr -d '\r' | sed -n "s/^$1://p"; }
# wait_long CMD...: up to 30 s for CMD to succeed (the ASan build parks
# 10,000 waiters more slowly than wait_for's 5 s allow for).
wait_long() {
	for _ in $(seq 300); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
info_is() { [ "$(info "$1")" = "$2" ]; }

# One fd per waiter in the bash that parks them, one connection per
# waiter in the daemon: as many as the fd limit allows, up to 10,000.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
nmax=$(ulimit -n)
N=10000
if [ "$nmax" != unlimited ] && [ $((nmax - 100)) -lt $N ]; then
	N=$((nmax - 100))
	printf '# fd limit %s: %d waiters\n' "$nmax" "$N"
fi
half=$((N / 2))
K=$((half + 123))	# the key waiter the test wakes

# park PORT: N connections, each parked in OCT.WAIT: 1..half on the names
# wt.I, then all but 5 on a key each (_ { wkI: _ }, 60 s deadlines), the
# last 5 on regex names (the index's unindexed list). The waiter on wt.77
# pipelines a PING after its wait. Touches parked once all are sent, then
# writes what the waiters on wt.77 and wk$K get to w77.out and wk.out, and
# exits (hanging them all up) once go exists.
park() {
	local i fd f77='' fk=''
	for ((i = 1; i <= N; i++)); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$1" || exit 1
		if ((i <= half)); then
			printf 'OCT.WAIT wt.%d\r\n' "$i" >&"$fd"
			if ((i == 77)); then
				printf 'PING after77\r\n' >&"$fd"
				f77=$fd
			fi
		elif ((i <= N - 5)); then
			printf 'OCT.WAIT "_ { wk%d: _ }" 60000\r\n' "$i" >&"$fd"
			((i == K)) && fk=$fd
		else
			printf "OCT.WAIT \"r'^wr%d\$'\"\\r\\n" "$i" >&"$fd"
		fi
	done
	touch "$tmp/parked"
	# Not bash's read -t: its select(2) aborts on fds past 1023.
	timeout 30 head -n 4 <&"$f77" >"$tmp/w77.out"
	timeout 30 head -n 2 <&"$fk" >"$tmp/wk.out"
	for _ in $(seq 600); do
		[ -e "$tmp/go" ] && exit 0
		sleep 0.1
	done
}

# visits DESC MAX CMD...: one test (CMD's reply is OK), one test that it
# visited at most MAX wait candidates.
visits() {
	local desc=$1 max=$2 v0 v1
	shift 2
	v0=$(info wait_candidates_visited)
	is "$desc" OK "$@"
	v1=$(info wait_candidates_visited)
	if [ -n "$v0" ] && [ -n "$v1" ] && [ $((v1 - v0)) -le "$max" ]; then
		ok "${desc%%:*}: ... visited $((v1 - v0)) wait candidate(s) of $N"
	else
		not_ok "${desc%%:*}: ... visited $((v1 - v0)) wait candidates of $N (max $max)"
	fi
}

# lines FILE: FILE's lines on one line, CRs dropped.
lines() { tr -d '\r' <"$1" | tr '\n' ' '; }

run_suite() {
	local bin=$1 tag=$2 log=$tmp/octopusd-$2.log port ppid ms t0 t1 got
	local -a tpids=()
	rm -f "$tmp/parked" "$tmp/go" "$tmp"/w77.out "$tmp"/wk.out "$tmp"/tmo.*
	if ! oct_start "$bin" "$log" --port 0 ||
	   ! wait_for grep -qs "listening on tcp" "$log"; then
		not_ok "$tag: octopusd starts"
		sed 's/^/# /' "$log"
		return
	fi
	port=$(sed -n 's/.*listening on tcp .* port \([0-9]*\).*/\1/p' "$log")
	ok "$tag: octopusd starts"

	park "$port" &
	ppid=$!
	pids+=("$ppid")
	if wait_long info_is waiters "$N"; then
		ok "$tag: $N waiters parked"
	else
		not_ok "$tag: $N waiters parked ($(info waiters))"
	fi
	visits "$tag: a set of a record no waiter can match" 5 \
		OCT.SET 'zzz { ixa: 1 }'
	same "$tag: ... woke none" "$N" "$(info waiters)"
	visits "$tag: a set of a name a waiter waits for" 6 \
		OCT.SET 'wt.77 { v: 1 }'
	wait_for grep -q after77 "$tmp/w77.out"
	same "$tag: ... answers it with the record, then its next command runs" \
		"\$14 wt.77 { v: 1 } \$7 after77 " "$(lines "$tmp/w77.out")"
	same "$tag: ... and no other waiter" $((N - 1)) "$(info waiters)"
	visits "$tag: a set of a key a waiter waits for" 6 \
		OCT.SET "kk { other: 1, wk$K: 5 }"
	wait_for grep -q kk "$tmp/wk.out"
	got="kk { other: 1, wk$K: 5 }"
	same "$tag: ... answers it" "\$${#got} $got " "$(lines "$tmp/wk.out")"
	same "$tag: ... and no other waiter" $((N - 2)) "$(info waiters)"
	visits "$tag: a set of a name a regex waiter matches" 5 \
		OCT.SET "wr$N { }"
	same "$tag: ... answers it and no other" $((N - 3)) "$(info waiters)"
	is "$tag: OCT.WAIT of a record that exists answers at once" \
		'wt.77 { v: 1 }' OCT.WAIT wt.77 100

	# Short deadlines among 5,000 long ones: each expires at its time.
	for ms in 600 200 400; do
		(
			t0=$(date +%s%N)
			rc OCT.WAIT "tmo.$ms" "$ms" >"$tmp/tmo.$ms"
			t1=$(date +%s%N)
			echo $(((t1 - t0) / 1000000)) >"$tmp/tmo.$ms.ms"
		) &
		tpids+=("$!")
	done
	wait "${tpids[@]}"
	for ms in 200 400 600; do
		got=$(cat "$tmp/tmo.$ms.ms" 2>/dev/null)
		if [ -z "$(tr -d '\n' <"$tmp/tmo.$ms")" ] && [ -n "$got" ] &&
		   [ "$got" -ge $((ms - 20)) ] && [ "$got" -lt $((ms + 3000)) ]; then
			ok "$tag: a wait of $ms ms: null after $got ms"
		else
			not_ok "$tag: a wait of $ms ms: '$(cat "$tmp/tmo.$ms")' after $got ms"
		fi
	done
	same "$tag: ... the long ones still wait" $((N - 3)) "$(info waiters)"

	touch "$tmp/go"
	wait "$ppid"
	if wait_long info_is waiters 0; then
		ok "$tag: all $((N - 3)) waits dropped with their connections"
	else
		not_ok "$tag: waits dropped with their connections ($(info waiters) left)"
	fi
	is "$tag: the server goes on" PONG PING
	oct_term "$tag"
	no_sanitizer_report "$tag" "$log"
}

oct_builds run_suite
done_testing

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

# A waiter answered while output is pending to it (push events it has not
# read yet): when its socket turns writable in the same epoll batch as the
# set that answers it, the commands it sent after its wait must still run
# from the ready list, one at a time. They ran from the write event
# instead: a second wait began while the connection was still on the ready
# list, the ready list then marked it running, and a third wait replaced
# the second in c->wait (the second left in the index: answered out of
# order, or, after a hang-up, written to a freed connection).
# Determinism: the daemon is stopped (SIGSTOP) while the set arrives and
# then the waiter's client drains its socket, so one batch holds the
# set's connection, then the waiter's.

# race_start P PORT: a waiter (coproc; its input bfd, its output bout)
# blocked in OCT.WAIT P1 with OCT.WAIT P2, OCT.WAIT P3, PING after queued
# and output pending; then P1 is set (through afd, open on PORT) in the
# same epoll batch as its socket turns writable. What it read: rb.out.
race_start() {
	local p=$1 big i n wmem
	exec {afd}<>"/dev/tcp/127.0.0.1/$2"
	coproc RB { exec timeout 60 socat - "UNIX-CONNECT:$sock"; }
	# Subshells do not get the coproc's fds: copies.
	exec {bfd}>&"${RB[1]}" {bout}<&"${RB[0]}"
	rbpid=$RB_PID
	printf 'HELLO 3\r\nOCT.WATCH %s.ev ON_SET PERSIST\r\nOCT.WAIT %s1\r\nOCT.WAIT %s2\r\nOCT.WAIT %s3\r\nPING after\r\n' \
		"$p" "$p" "$p" "$p" >&"$bfd"
	wait_for info_is waiters 1
	# Events for more than its socket (up to 1.5 times its send buffer),
	# socat and the pipe hold, so that some stay pending in the daemon,
	# but not so much more that its next write leaves over CONN_OUT_LOW.
	wmem=$(cat /proc/sys/net/core/wmem_default 2>/dev/null || echo 212992)
	n=$(((wmem * 3 / 2 + 65536 + 8192 + 200000) / 50000 + 1))
	big=$(head -c 50000 /dev/zero | tr '\0' e)
	for ((i = 0; i < n; i++)); do
		rc SET "$p.ev" "$big" >/dev/null
	done
	sleep 0.3
	kill -STOP "$pid"
	# Stopped, not just signalled: else its epoll_wait may still take
	# the set's connection alone.
	wait_for grep -q '^State:.*stopped' "/proc/$pid/status"
	printf 'SET %s1 x\r\n' "$p" >&"$afd"
	sleep 0.2
	timeout 0.5 cat <&"$bout" >"$tmp/rb.out"
	kill -CONT "$pid"
	sleep 0.3
}
race_end() {
	kill "$rbpid" 2>/dev/null
	wait "$rbpid" 2>/dev/null
	exec {afd}>&- {bfd}>&- {bout}<&-
}

ready_race() {
	local bin=$1 tag=$2 log=$tmp/octopusd-$2-race.log port got
	local afd bfd bout rbpid
	if ! oct_start "$bin" "$log" --port 0 --poll-us 0 ||
	   ! wait_for grep -qs "listening on tcp" "$log"; then
		not_ok "$tag: race: octopusd starts"
		sed 's/^/# /' "$log"
		return
	fi
	port=$(sed -n 's/.*listening on tcp .* port \([0-9]*\).*/\1/p' "$log")

	race_start rw "$port"
	same "$tag: race: waiter answered with output pending: then its next wait, only" \
		1 "$(info waiters)"
	timeout 20 cat <&"$bout" >>"$tmp/rb.out" &
	pids+=("$!")
	rc SET rw2 y >/dev/null
	wait_for grep -q "rw2 {" "$tmp/rb.out"
	rc SET rw3 z >/dev/null
	wait_for grep -q after "$tmp/rb.out"
	got=$(tr -d '\r' <"$tmp/rb.out" | grep -oE "^(rw[123] \{ val: '[xyz]' \}|after)$" | tr '\n' ' ')
	same "$tag: race: ... its waits answered in order, then its PING" \
		"rw1 { val: 'x' } rw2 { val: 'y' } rw3 { val: 'z' } after " "$got"
	race_end
	if wait_for info_is waiters 0; then
		ok "$tag: race: ... no wait left after its hang-up"
	else
		not_ok "$tag: race: ... $(info waiters) wait(s) left after its hang-up"
	fi

	# The same, hanging up while in its second wait, then setting it.
	race_start rv "$port"
	race_end
	if wait_for info_is waiters 0; then
		ok "$tag: race: hang-up in the second wait: no wait left"
	else
		not_ok "$tag: race: hang-up in the second wait: $(info waiters) wait(s) left"
	fi
	rc SET rv2 y >/dev/null
	rc SET rv3 y >/dev/null
	is "$tag: race: ... setting what it waited for: the server goes on" PONG PING
	oct_term "$tag (race)"
	no_sanitizer_report "$tag (race)" "$log"
}

oct_builds run_suite
oct_builds ready_race
done_testing

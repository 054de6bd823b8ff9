#!/usr/bin/env bash
# octopusd against hostile clients (issue 12), each build's daemon on a
# private socket: an HTTP request sent to the Redis protocol closes the
# connection before its body can run as commands, logged once.
set -u

cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=../lib/octopusd.sh
. tests/lib/octopusd.sh
need_tools socat redis-cli

# send TEXT: TEXT as it is on one connection; what came back, CRs dropped.
send() {
	printf '%b' "$1" | timeout 10 socat -t 2 - "UNIX-CONNECT:$sock" 2>&1 | tr -d '\r'
}

suite() {
	local bin=$1 tag=$2 log=$tmp/$2.log got
	oct_start "$bin" "$log" || { not_ok "$tag: daemon started"; return; }

	got=$(send 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n\r\nSET pwned yes\r\nPING\r\n')
	same "$tag: POST: the connection closes with no reply" "" "$got"
	is "$tag: ... and the request's body did not run" "" GET pwned
	got=$(send 'PING\r\nHost: x\r\nSET pwned2 yes\r\n')
	same "$tag: a Host: line after a command: that command's reply, then closed" "+PONG" "$got"
	is "$tag: ... and nothing after it ran" "" GET pwned2
	check "$tag: the attack is logged once (a minute's limit), not per request" \
		test "$(grep -c 'possible cross-protocol attack' "$log")" -eq 1
	got=$(send 'COMMAND INFO post host:\r\n' | tr '\n' ' ')
	same "$tag: COMMAND does not list them" '*2 $-1 $-1 ' "$got"
	got=$(send 'OCT.WATCH w ON_SET\r\nPOST / HTTP/1.1\r\nSET pwned3 yes\r\n' | tail -n +2)
	same "$tag: in RESP2 push mode too: closed, nothing after it ran" "" "$got"
	is "$tag: ... (pwned3 unset)" "" GET pwned3

	oct_term "$tag"
	no_sanitizer_report "$tag" "$log"

	# The socket path: only a stale socket is replaced; the directory
	# must be ours and writable by nobody else.
	local d=$tmp/sockdir p
	mkdir -p "$d" && chmod 0700 "$d"
	p=$d/oct.sock
	echo precious >"$p"
	check "$tag: a regular file at --unix PATH: refused, exit status not 0" \
		sh -c "! timeout 10 '$bin' --unix '$p' 2>'$tmp/f.log'"
	check "$tag: ... the file is untouched and the error says why" \
		sh -c "grep -qx precious '$p' && grep -q 'exists and is not a socket' '$tmp/f.log'"
	rm -f "$p"
	chmod 0777 "$d"
	check "$tag: a socket directory writable by others: refused" \
		sh -c "! timeout 10 '$bin' --unix '$p' 2>'$tmp/w.log' && grep -q 'writable by group or others' '$tmp/w.log'"
	chmod 0700 "$d"
	if [ "$(id -u)" -eq 0 ]; then
		chown nobody "$d"
		check "$tag: a socket directory owned by another user: refused" \
			sh -c "! timeout 10 '$bin' --unix '$p' 2>'$tmp/o.log' && grep -q 'not by this user' '$tmp/o.log'"
		chown root "$d"
	else
		skip "$tag: a directory of another user needs root to make"
	fi
	# A stale socket (its server killed) is replaced.
	"$bin" --unix "$p" 2>/dev/null &
	local stale=$!
	wait_for test -S "$p"
	kill -KILL "$stale"
	wait "$stale" 2>/dev/null
	sock=$p
	oct_start "$bin" "$log.2" || not_ok "$tag: started over a stale socket"
	is "$tag: a stale socket is replaced" PONG PING
	oct_stop

	# Out of descriptors: the refusals are logged once a second, not once
	# each, and the daemon serves again once the clients are gone.
	local i fl=$tmp/fd.log
	rm -f "$p"
	(ulimit -n 32 && exec "$bin" --unix "$p") 2>"$fl" &
	pid=$!
	wait_for test -S "$p"
	for i in $(seq 60); do
		sleep 3 | timeout 10 socat - "UNIX-CONNECT:$p" >/dev/null 2>&1 &
	done
	sleep 2
	wait_for sh -c "[ \$(grep -c 'out of file descriptors' '$fl') -ge 1 ]"
	check "$tag: 60 clients on 32 descriptors: $(grep -c 'out of file descriptors' "$fl") log lines for the refusals (at most 3)" \
		test "$(grep -c 'out of file descriptors' "$fl")" -le 3 -a "$(grep -c 'out of file descriptors' "$fl")" -ge 1
	wait_for rc_is PONG PING
	is "$tag: ... and it serves again once they are gone" PONG PING
	oct_stop
	sock=$tmp/octopus.sock
}

oct_builds suite
done_testing

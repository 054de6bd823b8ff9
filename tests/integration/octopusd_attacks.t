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
}

oct_builds suite
done_testing

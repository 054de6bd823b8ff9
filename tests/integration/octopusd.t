#!/usr/bin/env bash
# octopusd end to end: the daemon on a private Unix socket and a free
# loopback port, driven by redis-cli, redis-benchmark and socat. Runs the
# normal build and, when built, the ASan+UBSan build of the daemon.
set -u

cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=../lib/octopusd.sh
. tests/lib/octopusd.sh
need_tools redis-cli redis-benchmark socat

# The daemon makes the socket's missing folder.
sock=$tmp/mk/octopus.sock
port=
fd_base=

alive() { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

start() {
	local bin=$1 log=$2
	oct_start "$bin" "$log" --port 0 &&
		wait_for grep -qs "listening on tcp" "$log" || return 1
	port=$(sed -n 's/.*listening on tcp .* port \([0-9]*\).*/\1/p' "$log")
	fd_base=$(ls "/proc/$pid/fd" | wc -l)
	[ -n "$port" ]
}

run_suite() {
	local bin=$1 tag=$2 log out
	log=$tmp/octopusd-$tag.log
	if ! start "$bin" "$log"; then
		not_ok "$tag: octopusd starts"
		sed 's/^/# /' "$log"
		return
	fi
	ok "$tag: octopusd starts on a Unix socket and TCP port $port"

	# The Redis subset.
	is "$tag: PING" PONG PING
	is "$tag: PING msg" hello PING hello
	is "$tag: PING over TCP" PONG -h 127.0.0.1 -p "$port" PING
	is "$tag: ECHO" 'a b' ECHO 'a b'
	is "$tag: SET" OK SET foo bar
	is "$tag: GET" bar GET foo
	is "$tag: get is case-insensitive" bar gEt foo
	is "$tag: GET of a missing key is nil" '' GET nokey
	is "$tag: SET over TCP, GET over Unix" OK -h 127.0.0.1 -p "$port" SET k2 'v 2'
	is "$tag: ... same store" 'v 2' GET k2
	is "$tag: a plain SET is a record k { val: ... }" "k2 { val: 'v 2' }" OCT.GET k2
	is "$tag: EXISTS counts" 2 EXISTS foo k2 nokey
	is "$tag: DEL counts" 1 DEL k2 nokey
	is "$tag: SELECT 0" OK SELECT 0
	like "$tag: SELECT 1 fails" '^ERR' SELECT 1
	like "$tag: HELLO 3 map" '^proto 3$' -3 HELLO 3
	like "$tag: HELLO 3 says server" '^server octopusd$' -3 HELLO 3
	like "$tag: unknown command" "^ERR unknown command 'NOSUCH'" NOSUCH a b
	like "$tag: GET arity" '^ERR wrong number of arguments' GET
	is "$tag: COMMAND DOCS is empty" '' COMMAND DOCS
	local big
	big=$(head -c 200000 /dev/zero | tr '\0' x)
	printf '%s' "$big" | rc -x SET big >/dev/null
	out=$(rc GET big)
	if [ "${#out}" -eq 200000 ]; then ok "$tag: 200 kB value round trip"; else not_ok "$tag: 200 kB value round trip (${#out})"; fi

	# Octopus commands.
	is "$tag: OCT.SET" OK OCT.SET 'object1 { weight: 20 }'
	is "$tag: OCT.SET 2" OK OCT.SET "object2 { weight: 5, attr: 'Somestring' }"
	is "$tag: OCT.SET 10" OK OCT.SET 'object10 { weight: 30, fl: 12.0 }'
	is "$tag: OCT.GET literal" "object2 { attr: 'Somestring', weight: 5 }" OCT.GET object2
	is "$tag: OCT.GET regex + constraint" 'object1 { weight: 20 }' \
		OCT.GET "r'^object' { weight > 10 }"
	is "$tag: OCT.GET regex + constraint (2)" 'object10 { fl: 12.0, weight: 30 }' \
		OCT.GET "r'^object' { weight >= 25 }"
	is "$tag: oct.get is case-insensitive" 'object1 { weight: 20 }' oct.get object1
	is "$tag: OCT.NAMES in natural order" "$(printf 'object1\nobject2\nobject10')" \
		OCT.NAMES "r'^object'"
	is "$tag: OCT.NAMES by attribute" "$(printf 'object1\nobject10')" \
		OCT.NAMES '_ { weight > 10 }'
	like "$tag: OCT.NAMES with no match" '^NO_RECORD' OCT.NAMES "r'^zzz'"
	like "$tag: OCT.GET no match" '^NO_RECORD ' OCT.GET 'object1 { weight: 21 }'
	like "$tag: conditional set mismatch" '^CONSTRAINT_MISMATCH ' \
		OCT.SET 'object1 { weight: 99, weight > 100 }'
	is "$tag: ... left the record alone" 'object1 { weight: 20 }' OCT.GET object1
	is "$tag: conditional set match" 'object1 { weight: 21 }' \
		OCT.SET 'object1 { weight: 21, weight < 100 }' GET
	like "$tag: set needs a literal name" '^NO_RECORD_NAME ' OCT.SET '_ { a: 1 }'
	like "$tag: del needs a literal name" '^NO_RECORD_NAME ' OCT.DEL "r'^object'"
	like "$tag: parser failure" '^PARSER_FAIL .*offset' OCT.SET 'x { a: }'
	like "$tag: a regex value in a record to store: its offset" \
		"^PARSER_FAIL regex not allowed in a record to store .* at offset 7\$" OCT.SET "x { a: r'ab' }"
	like "$tag: a '_' value in a record to store: its offset" \
		"^PARSER_FAIL '_' not allowed in a record to store .* at offset 13\$" OCT.SET 'x { b: 1, a: _ }'
	like "$tag: the same in a published record" \
		"^PARSER_FAIL '_' not allowed in a record to store .* at offset 7\$" OCT.PUBLISH 'x { a: _ }'
	like "$tag: parser failure (query)" '^PARSER_FAIL ' OCT.GET "r'unterminated"
	like "$tag: bad OCT.SET option" '^ERR syntax' OCT.SET 'x {}' FOO
	is "$tag: sequential set" hw.pci.device.0 OCT.SET 'hw.pci.device. { bus: 1 }' SEQ
	is "$tag: sequential set again" "hw.pci.device.1 { bus: 2 }" \
		OCT.SET 'hw.pci.device. { bus: 2 }' SEQ GET
	is "$tag: OCT.EXISTS 1" 1 OCT.EXISTS '_ { bus: 2 }'
	is "$tag: OCT.EXISTS 0" 0 OCT.EXISTS '_ { bus: 3 }'
	is "$tag: OCT.DEL" OK OCT.DEL hw.pci.device.0
	like "$tag: OCT.DEL again" '^NO_RECORD ' OCT.DEL hw.pci.device.0
	is "$tag: GET of a structured record prints it" 'object1 { weight: 21 }' GET object1

	# OCT.WAIT.
	is "$tag: OCT.WAIT on a record that exists" 'object1 { weight: 21 }' OCT.WAIT object1
	local t0 t1
	t0=$(date +%s%N)
	is "$tag: OCT.WAIT timeout: null" '' OCT.WAIT nothing.here 200
	t1=$(date +%s%N)
	if [ $(( (t1 - t0) / 1000000 )) -ge 180 ]; then ok "$tag: ... after the timeout"; else not_ok "$tag: ... after $(( (t1 - t0) / 1000000 )) ms"; fi
	like "$tag: OCT.WAIT bad timeout" '^ERR timeout' OCT.WAIT x -1
	local wfifo=$tmp/wait.fifo
	rm -f "$wfifo" && mkfifo "$wfifo"
	timeout 20 redis-cli -s "$sock" <"$wfifo" >"$tmp/wait.out" 2>&1 &
	local wpid=$!
	pids+=("$wpid")
	exec 9>"$wfifo"
	echo 'OCT.WAIT "_ { ready > 5 }"' >&9
	echo 'PING after' >&9
	timeout 20 redis-cli -s "$sock" OCT.WAIT 'gone.waiter' >/dev/null 2>&1 &
	local gpid=$!
	sleep 0.3
	kill "$gpid" 2>/dev/null
	wait "$gpid" 2>/dev/null
	is "$tag: a set that does not match" OK OCT.SET 'w1 { ready: 3 }'
	sleep 0.2
	if [ ! -s "$tmp/wait.out" ]; then ok "$tag: ... leaves the waiter waiting"; else not_ok "$tag: ... leaves the waiter waiting ($(cat "$tmp/wait.out"))"; fi
	is "$tag: a set that matches" OK OCT.SET 'w2 { ready: 7 }'
	exec 9>&-
	wait "$wpid" 2>/dev/null
	out=$(tr -d '\r' <"$tmp/wait.out" | tr '\n' ' ')
	if [ "$out" = "w2 { ready: 7 } after " ]; then ok "$tag: ... wakes it; its next command runs after"; else not_ok "$tag: ... wakes it ($out)"; fi
	is "$tag: alive after a waiter disconnected" PONG PING

	# Triggers: a RESP3 watcher on a raw socket kept open through a fifo.
	local tfifo=$tmp/trig.fifo
	rm -f "$tfifo" && mkfifo "$tfifo"
	timeout 30 socat - "UNIX-CONNECT:$sock" <"$tfifo" >"$tmp/trig.out" 2>&1 &
	local tpid=$!
	pids+=("$tpid")
	exec 6>"$tfifo"
	printf 'HELLO 3\r\nOCT.WATCH "_ { t: _ }" ON_SET,ON_DEL PERSIST\r\nOCT.WATCH "r\x27^one\x27" ON_SET\r\nOCT.WATCH "tdel" ON_DEL\r\n' >&6
	wait_for grep -q ':3' "$tmp/trig.out"
	is "$tag: set under a persistent trigger" OK OCT.SET 'ta { t: 1 }'
	is "$tag: set under a one-shot trigger" OK OCT.SET 'one { t: 2 }'
	is "$tag: ... again" OK OCT.SET 'one { t: 3 }'
	is "$tag: del under a trigger" OK OCT.DEL ta
	is "$tag: OCT.WATCH over RESP2 gives an id" 4 OCT.WATCH x ON_SET
	like "$tag: OCT.WATCH bad mode" '^ERR modes' OCT.WATCH x ON_GET
	# An ephemeral record deleted by its client's disconnect fires ON_DEL.
	printf 'OCT.SET "tdel { t: 9 }" EPHEMERAL\r\n' | timeout 5 socat -t 0.2 - "UNIX-CONNECT:$sock" >/dev/null
	wait_for grep -q 'tdel' "$tmp/trig.out"
	printf 'OCT.UNWATCH 1\r\nOCT.UNWATCH 2\r\nPING\r\n' >&6
	wait_for grep -q PONG "$tmp/trig.out"
	exec 6>&-
	wait "$tpid" 2>/dev/null
	out=$(tr -d '\r' <"$tmp/trig.out" | sed -n '/^\*0$/,$p' | tr '\n' ' ')
	local want=':1 :2 :3 >4 $11 oct.trigger :1 $6 ON_SET $11 ta { t: 1 } >5 $11 oct.trigger :2 $6 ON_SET $12 one { t: 2 } $7 REMOVED >4 $11 oct.trigger :1 $6 ON_SET $12 one { t: 2 } >4 $11 oct.trigger :1 $6 ON_SET $12 one { t: 3 } >4 $11 oct.trigger :1 $6 ON_DEL $11 ta { t: 1 } '
	want+='>4 $11 oct.trigger :1 $6 ON_SET $13 tdel { t: 9 } >5 $11 oct.trigger :3 $6 ON_DEL $13 tdel { t: 9 } $7 REMOVED >4 $11 oct.trigger :1 $6 ON_DEL $13 tdel { t: 9 } '
	want+='>3 $11 oct.trigger :1 $7 REMOVED +OK -INVALID_ID No trigger or subscription with that id +PONG '
	if [ "$out" = "*0 $want" ]; then
		ok "$tag: trigger events: persistent, one-shot (removed), ON_DEL, ephemeral delete, UNWATCH"
	else
		not_ok "$tag: trigger events"
		printf '# want: %s\n# got:  %s\n' "*0 $want" "$out"
	fi
	out=$(printf 'OCT.WATCH x ON_SET\r\nGET x\r\nPING\r\n' | timeout 5 socat - "UNIX-CONNECT:$sock" | tr -d '\r' | tr '\n' ' ')
	case "$out" in
	":"*" -ERR Can't execute 'GET'"*"+PONG ") ok "$tag: RESP2 watcher: subscribe-style mode" ;;
	*) not_ok "$tag: RESP2 watcher: subscribe-style mode ($out)" ;;
	esac
	if [ "$tag" = normal ]; then
		# A watcher that never reads is dropped past 8 MiB of events:
		# its socat, writing once the events are sent, finds the
		# connection closed (EPIPE) and fails.
		local rss
		slow_open 10 'OCT.WATCH "bigrec" ON_SET PERSIST'
		sleep 0.5
		if flood OCT.SET bigrec 30; then
			ok "$tag: slow watcher: 40 MB of events, RSS ${rss} kB"
		else
			not_ok "$tag: slow watcher: RSS ${rss} kB ($out)"
		fi
		slow_gone "$tag: ... and disconnected"
		is "$tag: alive after a slow watcher" PONG PING
	fi

	# Ephemeral records: a client kept open through a fifo.
	local fifo=$tmp/eph.fifo
	rm -f "$fifo" && mkfifo "$fifo"
	redis-cli -s "$sock" <"$fifo" >"$tmp/eph.out" 2>&1 &
	local cpid=$!
	pids+=("$cpid")
	exec 7>"$fifo"
	echo 'OCT.SET "eph1 { holder: 1 }" EPHEMERAL' >&7
	echo 'OCT.SET "lock. { x: 1 }" EPHEMERAL SEQ' >&7
	if wait_for rc_is 1 OCT.EXISTS eph1; then
		ok "$tag: ephemeral record visible while its client is connected"
	else
		not_ok "$tag: ephemeral record visible while its client is connected"
	fi
	is "$tag: ephemeral sequential record" lock.0 OCT.NAMES "r'^lock'"
	exec 7>&-
	wait "$cpid" 2>/dev/null
	if wait_for rc_is 0 OCT.EXISTS "r'^(eph1|lock)'"; then
		ok "$tag: ephemeral records deleted when the client disconnects"
	else
		not_ok "$tag: ephemeral records deleted when the client disconnects"
	fi
	is "$tag: persistent records stay" bar GET foo

	# Ephemeral record, then a disconnect in the middle of a frame.
	out=$({ printf '*3\r\n$7\r\nOCT.SET\r\n$13\r\neph2 { b: 2 }\r\n$9\r\nEPHEMERAL\r\n*2\r\n$3\r\nGET\r\n$10\r\nab'
		sleep 0.3; } | timeout 5 socat - "UNIX-CONNECT:$sock" | tr -d '\r')
	if [ "$out" = "+OK" ]; then ok "$tag: ephemeral set, then truncated frame"; else not_ok "$tag: ephemeral set, then truncated frame ($out)"; fi
	if wait_for rc_is 0 OCT.EXISTS eph2; then
		ok "$tag: ... its record deleted on disconnect mid-frame"
	else
		not_ok "$tag: ... its record deleted on disconnect mid-frame"
	fi

	# A bystander client stays connected through the bad input below.
	local bfifo=$tmp/by.fifo
	rm -f "$bfifo" && mkfifo "$bfifo"
	redis-cli -s "$sock" <"$bfifo" >"$tmp/by.out" 2>&1 &
	local bpid=$!
	pids+=("$bpid")
	exec 8>"$bfifo"
	echo 'SET bystander yes' >&8

	# Garbage and protocol errors.
	out=$(printf '*2\r\n$3\r\nGET\r\n$abc\r\n' | timeout 5 socat - "UNIX-CONNECT:$sock" | tr -d '\r')
	case "$out" in
	"-ERR Protocol error"*) ok "$tag: bad bulk length: protocol error" ;;
	*) not_ok "$tag: bad bulk length: protocol error ($out)" ;;
	esac
	out=$(printf 'PING\r\n*1\r\n$99999999999\r\n' | timeout 5 socat - "UNIX-CONNECT:$sock" | tr -d '\r')
	case "$out" in
	"+PONG"*"-ERR Protocol error"*) ok "$tag: oversized bulk: reply before it, then protocol error" ;;
	*) not_ok "$tag: oversized bulk: protocol error ($out)" ;;
	esac
	out=$(printf '*1\r\n*1\r\n$4\r\nPING\r\n' | timeout 5 socat - "UNIX-CONNECT:$sock" | tr -d '\r')
	case "$out" in
	"-ERR Protocol error"*) ok "$tag: nested array: protocol error" ;;
	*) not_ok "$tag: nested array: protocol error ($out)" ;;
	esac
	local i
	for i in 1 2 3 4 5; do
		head -c 8192 /dev/urandom | timeout 5 socat -t 0.2 - "UNIX-CONNECT:$sock" >/dev/null 2>&1
		head -c 8192 /dev/urandom | timeout 5 socat -t 0.2 - "TCP:127.0.0.1:$port" >/dev/null 2>&1
	done
	printf '*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$100\r\nshort' | timeout 5 socat -t 0.1 - "UNIX-CONNECT:$sock" >/dev/null 2>&1
	if alive; then ok "$tag: alive after garbage and truncated frames"; else not_ok "$tag: alive after garbage and truncated frames"; fi
	is "$tag: truncated SET changed nothing" bar GET foo
	echo 'GET bystander' >&8
	echo 'PING' >&8
	exec 8>&-
	wait "$bpid" 2>/dev/null
	out=$(tr -d '\r' <"$tmp/by.out" | tr '\n' ' ')
	if [ "$out" = "OK yes PONG " ]; then ok "$tag: bystander client undisturbed"; else not_ok "$tag: bystander client undisturbed ($out)"; fi

	# A client that sends and never reads: backpressure bounds memory.
	if [ "$tag" = normal ]; then
		( for i in $(seq 400); do printf 'GET big\r\n'; done; sleep 2 ) |
			timeout 10 socat -u - "UNIX-CONNECT:$sock" &
		local spid=$!
		sleep 1
		local rss
		rss=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
		if [ "${rss:-0}" -lt 65536 ]; then ok "$tag: non-reading client: RSS ${rss} kB (80 MB of replies asked)"; else not_ok "$tag: non-reading client: RSS ${rss} kB"; fi
		is "$tag: others served meanwhile" PONG PING
		wait "$spid" 2>/dev/null
	fi

	# Pipelining.
	out=$(for i in $(seq 1000); do printf 'SET pk%d v%d\r\n' "$i" "$i"; done |
		timeout 20 redis-cli -s "$sock" --pipe 2>&1)
	if printf '%s' "$out" | grep -q 'errors: 0, replies: 1000'; then ok "$tag: redis-cli --pipe, 1000 commands"; else not_ok "$tag: redis-cli --pipe ($out)"; fi
	is "$tag: piped value stored" v777 GET pk777
	out=$(timeout 120 redis-benchmark -s "$sock" -n 20000 -P 16 -t set,get -q 2>&1 | tr '\r' '\n')
	if printf '%s\n' "$out" | grep -qE '^SET: [1-9][0-9.]* requests per second' &&
	   printf '%s\n' "$out" | grep -qE '^GET: [1-9][0-9.]* requests per second'; then
		ok "$tag: redis-benchmark -P 16 set,get"
		printf '%s\n' "$out" | grep 'per second' | sed 's/^/# /'
	else
		not_ok "$tag: redis-benchmark -P 16 set,get"
		printf '%s\n' "$out" | tail -5 | sed 's/^/# /'
	fi
	out=$(timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -n 5000 -c 10 -t ping,set,get -q 2>&1 | tr '\r' '\n')
	if [ "$(printf '%s\n' "$out" | grep -cE '^[A-Z_]+: [1-9][0-9.]* requests per second')" -ge 4 ]; then
		ok "$tag: redis-benchmark over TCP"
	else
		not_ok "$tag: redis-benchmark over TCP"
		printf '%s\n' "$out" | tail -5 | sed 's/^/# /'
	fi

	# Clean shutdown.
	oct_term "$tag"
	if [ ! -e "$sock" ]; then ok "$tag: socket file removed"; else not_ok "$tag: socket file removed"; fi
	no_sanitizer_report "$tag" "$log"
}

oct_builds run_suite
done_testing

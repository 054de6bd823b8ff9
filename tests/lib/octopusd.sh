# shellcheck shell=bash
# What the octopusd integration tests share: source it from the repository
# root (it sources tap.sh). It gives a private tmp dir, removed on exit with
# the daemon (pid) and anything else started in the background (pids)
# killed; the daemon on a private Unix socket; redis-cli checks; and each
# build's daemon in turn.
# shellcheck source=tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

build=${MK_BUILD:-build}
tmp=$(mktemp -d "/tmp/$(basename "$0" .t)-t.XXXXXX")
sock=$tmp/octopus.sock
pid=
pids=()
cleanup() {
	local p

	for p in "${pids[@]+"${pids[@]}"}"; do
		kill "$p" 2>/dev/null
	done
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# need_tools TOOL...: the whole test is one skip when a tool is missing.
need_tools() {
	local tool

	for tool; do
		if ! command -v "$tool" >/dev/null; then
			skip "$tool not installed"
			done_testing
			exit
		fi
	done
}

# wait_for CMD...: up to 5 s for CMD to succeed.
wait_for() {
	for _ in $(seq 100); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# oct_start BIN LOG [ARG...]: the daemon BIN --unix $sock ARG... in the
# background (pid), its stderr in LOG; fails unless the socket shows up.
oct_start() {
	local bin=$1 log=$2
	shift 2
	rm -f "$sock"
	"$bin" --unix "$sock" "$@" 2>"$log" &
	pid=$!
	wait_for test -S "$sock"
}

# oct_stop: SIGTERM to the daemon; its exit status in st.
oct_stop() {
	[ -n "$pid" ] || return 0
	kill -TERM "$pid"
	wait "$pid" && st=0 || st=$?
	pid=
}

# oct_term TAG: oct_stop, and one test that the daemon exited 0.
oct_term() {
	oct_stop
	if [ "$st" -eq 0 ]; then ok "$1: SIGTERM: exit 0"; else not_ok "$1: SIGTERM: exit $st"; fi
}

# no_sanitizer_report TAG LOG: one test, the daemon's LOG has none.
no_sanitizer_report() {
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$2"; then
		not_ok "$1: no sanitizer report"
		head -40 "$2" | sed 's/^/# /'
	else
		ok "$1: no sanitizer report"
	fi
}

# oct_stop_quiet BIN LOG: oct_stop, and one test that LOG holds nothing
# but the daemon's banner.
oct_stop_quiet() {
	oct_stop
	check "the daemon ($1) stopped cleanly, nothing on its stderr but its banner" \
		sh -c "! grep -v 'listening on' '$2'"
}

# oct_builds FUNC: FUNC BIN TAG DIR with the octopusd of the normal build
# (tag normal; a failure when not built) and, when built, of the ASan+UBSan
# build (tag asan); DIR is that build's folder.
oct_builds() {
	if [ -x "$build/bin/octopusd" ]; then
		"$1" "$build/bin/octopusd" normal "$build"
	else
		not_ok "$build/bin/octopusd built"
	fi
	if [ -x "$build/asan/bin/octopusd" ]; then
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$1" "$build/asan/bin/octopusd" asan "$build/asan"
	else
		skip "$build/asan/bin/octopusd not built"
	fi
}

# rc ARGS...: redis-cli on the Unix socket.
rc() { timeout 10 redis-cli -s "$sock" "$@" 2>&1; }
# rc_is WANT ARGS...: redis-cli's output is WANT (for wait_for: asks anew
# each time, where `wait_for test "$(rc ...)"` would ask only once).
rc_is() { local want=$1; shift; [ "$(rc "$@")" = "$want" ]; }

# is DESC EXPECTED ARGS...: redis-cli's output equals EXPECTED.
is() {
	local desc=$1 want=$2 got
	shift 2
	got=$(rc "$@")
	if [ "$got" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		printf '%s\n' "$want" | sed 's/^/# want: /'
		printf '%s\n' "$got" | head -5 | sed 's/^/# got:  /'
	fi
}

# same DESC WANT GOT: GOT, one line from anywhere, equals WANT.
same() {
	if [ "$3" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '# want: %s\n# got:  %s\n' "$2" "$3"
	fi
}

# like DESC PATTERN ARGS...: redis-cli's output matches the grep pattern.
like() {
	local desc=$1 pat=$2 got
	shift 2
	got=$(rc "$@")
	if printf '%s\n' "$got" | grep -qE -- "$pat"; then
		ok "$desc"
	else
		not_ok "$desc"
		printf '%s\n' "$got" | head -5 | sed 's/^/# got: /'
	fi
}

# A client that never reads while a flood is meant for it: the daemon must
# drop it rather than buffer without bound. slow_open SECS CMD connects,
# sends HELLO 3 and CMD, then reads nothing until slow_gone (SECS at the
# most) and sends PING.
slow_open() {
	rm -f "$tmp/go"
	( printf 'HELLO 3\r\n%s\r\n' "$2"
	  for _ in $(seq $(($1 * 10))); do [ -e "$tmp/go" ] && break; sleep 0.1; done
	  printf 'PING\r\n' ) |
		timeout $(($1 + 10)) socat -u - "UNIX-CONNECT:$sock" 2>/dev/null &
	slow_pid=$!
	pids+=("$slow_pid")
}

# slow_gone DESC: one test, that the slow client was disconnected (its
# socat, writing its PING, found the connection closed).
slow_gone() {
	local st
	touch "$tmp/go"
	wait "$slow_pid" && st=0 || st=$?
	if [ "$st" -ne 0 ] && [ "$st" -ne 124 ]; then
		ok "$1"
	else
		not_ok "$1 (socat exit $st)"
	fi
}

# flood CMD NAME SECS: 200 "CMD NAME { v: '<200 kB>' }" (40 MB) through
# redis-cli --pipe within SECS, its output in out, the daemon's RSS after
# it in rss (kB); succeeds when all were answered and RSS stayed under
# 32 MiB.
flood() {
	local big
	big=$(head -c 200000 /dev/zero | tr '\0' x)
	out=$(for _ in $(seq 200); do printf '*2\r\n$%d\r\n%s\r\n$%d\r\n%s { v: \x27%s\x27 }\r\n' ${#1} "$1" $((${#2} + ${#big} + 10)) "$2" "$big"; done |
		timeout "$3" redis-cli -s "$sock" --pipe 2>&1)
	rss=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
	printf '%s' "$out" | grep -q 'errors: 0, replies: 200' && [ "${rss:-0}" -lt 32768 ]
}

#!/usr/bin/env bash
# octopusd's command table (daemons/octopusd/commands.c): every command it
# lists (COMMAND LIST, COMMAND INFO: the table itself, not a copy of it)
# rejects a wrong number of arguments with Redis's error, checked in one
# place; names are case-insensitive; unknown names get the unknown-command
# error; the RESP2 push mode lets exactly the push_ok commands run; COMMAND
# COUNT / INFO / LIST answer as Redis's do. The normal daemon, then the
# ASan+UBSan one, each on a private socket; raw RESP through socat.
set -u

cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=../lib/octopusd.sh
. tests/lib/octopusd.sh

per_build=16
if ! command -v socat >/dev/null; then
	echo "1..1"
	skip "socat not installed"
	exit 0
fi
# The plan first: a run that stops halfway is then a failure.
echo "1..$((2 * per_build))"

# raw ARG...: one connection, the command ARG... as a RESP array; its
# replies, CRs dropped. raw_cmds CMD...: each CMD an inline command line.
raw() {
	local a
	{
		printf '*%d\r\n' $#
		for a; do printf '$%d\r\n%s\r\n' "${#a}" "$a"; done
	} | timeout 10 socat -t 2 - "UNIX-CONNECT:$sock" 2>&1 | tr -d '\r'
}
raw_cmds() {
	printf '%s\r\n' "$@" | timeout 10 socat -t 2 - "UNIX-CONNECT:$sock" 2>&1 | tr -d '\r'
}
# The strings of a reply (lines that are no RESP header), one a line.
strings() { grep -v '^[*$:~%>+-]'; }
# arity NAME: its arity from COMMAND INFO (the 5th line of the reply).
# get_arity NAME: that in a; else false, and why in bad.
arity() { raw COMMAND INFO "$1" | sed -n '5s/^://p'; }
get_arity() {
	a=$(arity "$1")
	[[ "$a" =~ ^-?[0-9]+$ ]] && return 0
	bad+="$1: COMMAND INFO gives no arity"$'\n'
	return 1
}
upper() { printf '%s' "$1" | tr '[:lower:]' '[:upper:]'; }
# mixed NAME: every other letter uppercase (oct.get: OcT.GeT).
mixed() { printf '%s' "$1" | sed 's/\(.\)\(.\)/\u\1\2/g'; }
# args N: N arguments a1..aN, one a line (for mapfile).
args() { local i; for ((i = 1; i <= $1; i++)); do echo "a$i"; done; }
wrong() { printf -- "-ERR wrong number of arguments for '%s' command" "$1"; }

# verdict DESC BAD: one test that passes when BAD (what went wrong, one
# item a line) is empty.
verdict() {
	if [ -z "$2" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '%s\n' "$2" | head -20 | sed 's/^/# /'
	fi
}

suite() {
	local bin=$1 tag=$2 log=$tmp/$2.log name n bad a got list t
	local -a names argv
	oct_start "$bin" "$log" || { not_ok "$tag: daemon started"; return; }

	# 1, 2: the table's names, asked three ways.
	mapfile -t names < <(raw COMMAND LIST | strings)
	n=$(raw COMMAND COUNT)
	bad=
	[ "${#names[@]}" -gt 0 ] || bad+="COMMAND LIST gave no names"$'\n'
	[ "$n" = ":${#names[@]}" ] || bad+="COMMAND COUNT $n, COMMAND LIST ${#names[@]}"$'\n'
	got=$(raw COMMAND | head -1)
	[ "$got" = "*${#names[@]}" ] || bad+="COMMAND: $got entries"$'\n'
	verdict "$tag: COMMAND COUNT, COMMAND LIST and COMMAND agree (${#names[@]} commands)" "$bad"
	bad=
	for name in "${names[@]}"; do
		[ "$name" = "$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]')" ] || bad+="$name: not lowercase"$'\n'
		got=$(raw COMMAND INFO "$(upper "$name")" | sed -n 4p)
		[ "$got" = "$name" ] || bad+="COMMAND INFO $(upper "$name"): '$got'"$'\n'
	done
	verdict "$tag: every listed command is found by its name in uppercase" "$bad"

	# 3, 4: too few arguments (sent in uppercase), and for an exact
	# arity one too many.
	bad=
	for name in "${names[@]}"; do
		get_arity "$name" || continue
		[ "$a" -eq -1 ] && continue	# no argument count is too few
		n=$(( a > 0 ? a - 2 : -a - 2 ))
		mapfile -t argv < <(args "$n")
		got=$(raw "$(upper "$name")" "${argv[@]+"${argv[@]}"}")
		[ "$got" = "$(wrong "$name")" ] || bad+="$name with $n arguments: $got"$'\n'
	done
	verdict "$tag: every command rejects too few arguments with Redis's error" "$bad"
	bad=
	for name in "${names[@]}"; do
		get_arity "$name" || continue
		[ "$a" -gt 0 ] || continue
		mapfile -t argv < <(args "$a")
		got=$(raw "$(upper "$name")" "${argv[@]}")
		[ "$got" = "$(wrong "$name")" ] || bad+="$name with $a arguments: $got"$'\n'
	done
	verdict "$tag: every exact-arity command rejects one argument too many" "$bad"

	# 5, 6: an upper bound only where a command's optional arguments end.
	bad=
	local cmd argc want
	for t in 'ping 3 -1' 'oct.wait 4 -2' 'oct.watch 5 -3'; do
		read -r cmd argc want <<<"$t"
		a=$(arity "$cmd")
		[ "$a" = "$want" ] || bad+="$cmd: arity $a, want $want"$'\n'
		mapfile -t argv < <(args $((argc - 1)))
		got=$(raw "$cmd" "${argv[@]}")
		[ "$got" = "$(wrong "$cmd")" ] || bad+="$cmd with $((argc - 1)) arguments: $got"$'\n'
	done
	verdict "$tag: PING, OCT.WAIT and OCT.WATCH: one argument past their optional ones is refused" "$bad"
	bad=
	for name in "${names[@]}"; do
		get_arity "$name" || continue
		case "$name" in ping | oct.wait | oct.watch) continue ;; esac
		[ "$a" -lt 0 ] || continue
		mapfile -t argv < <(args $((-a + 5)))
		got=$(raw "$name" "${argv[@]}")
		case "$got" in
		*"wrong number of arguments"*) bad+="$name with $((-a + 5)) arguments: $got"$'\n' ;;
		esac
	done
	verdict "$tag: every other at-least command takes any number past its minimum" "$bad"

	# 7: the error names the command as the table does, whatever the case.
	bad=
	for name in "${names[@]}"; do
		get_arity "$name" || continue
		[ "$a" -eq -1 ] && continue
		n=$(( a > 0 ? a - 2 : -a - 2 ))
		mapfile -t argv < <(args "$n")
		got=$(raw "$(mixed "$name")" "${argv[@]+"${argv[@]}"}")
		[ "$got" = "$(wrong "$name")" ] || bad+="$(mixed "$name"): $got"$'\n'
	done
	verdict "$tag: mixed-case names: the same error, naming the command in lowercase" "$bad"

	# 8: unknown names, near misses of known ones included.
	bad=
	for name in NOSUCH '' GE GETX 'GET ' oct.unsubscribex OCT. OCT.GETX ' PING' 'COMMANDS'; do
		got=$(raw "$name" x)
		[ "$got" = "-ERR unknown command '$name'" ] || bad+="'$name': $got"$'\n'
	done
	got=$(raw COMMAND INFO nosuch get | head -3 | tr '\n' ' ')
	[ "$got" = '*2 $-1 *6 ' ] || bad+="COMMAND INFO nosuch get: $got"$'\n'
	verdict "$tag: unknown commands: the unknown-command error; COMMAND INFO: null" "$bad"

	# 9: names are case-insensitive when the command runs too.
	got=$(raw_cmds 'sEt k1 v1' 'GET k1' 'get k1' 'GeT k1' 'pInG' 'Oct.Set "r1 { a: 1 }"' \
		'oct.GET r1' 'OCT.exists r1' 'dEl k1' 'EXISTS k1' | tr '\n' ' ')
	same "$tag: command names are case-insensitive when they run" \
		'+OK $2 v1 $2 v1 $2 v1 +PONG +OK $11 r1 { a: 1 } :1 :1 :0 ' "$got"

	# 10, 11: COMMAND INFO's entries, Redis's first six fields.
	got=$(raw COMMAND INFO get | tr '\n' ' ')
	same "$tag: COMMAND INFO get (RESP2)" '*1 *6 $3 get :2 *1 +readonly :1 :1 :1 ' "$got"
	got=$(raw_cmds 'HELLO 3' 'COMMAND INFO oct.watch DEL' | sed '1,/^modules$/d' | tr '\n' ' ')
	same "$tag: COMMAND INFO oct.watch DEL (RESP3: flags are a set)" \
		'*0 *2 *6 $9 oct.watch :-3 ~2 +pubsub +push_ok :0 :0 :0 *6 $3 del :-2 ~1 +write :1 :-1 :1 ' "$got"

	# 12: COMMAND's other forms.
	got=$(raw_cmds 'COMMAND COUNT x' 'COMMAND LIST x' 'COMMAND DOCS' 'COMMAND DOCS get' | tr '\n' ' ')
	same "$tag: COMMAND COUNT/LIST with arguments: Redis's arity error; DOCS: the empty array" \
		"$(wrong 'command|count') $(wrong 'command|list') *0 *0 " "$got"

	# 13, 14: the RESP2 push mode: a connection with a trigger runs only
	# the commands flagged push_ok (each alone: QUIT among them).
	bad=
	list=
	for name in "${names[@]}"; do
		got=$(raw_cmds 'OCT.WATCH w ON_SET' "$(upper "$name")" | sed -n 2p)
		if raw COMMAND INFO "$name" | grep -qx '+push_ok'; then
			list+=" / $(upper "$name")"
			case "$got" in "-ERR Can't execute"*) bad+="$name (push_ok) refused: $got"$'\n' ;; esac
		else
			case "$got" in
			"-ERR Can't execute '$(upper "$name")': only "*) ;;
			*) bad+="$name (not push_ok) ran: $got"$'\n' ;;
			esac
		fi
	done
	got=$(raw_cmds 'OCT.WATCH w ON_SET' 'NOSUCH' | sed -n 2p)
	case "$got" in "-ERR Can't execute 'NOSUCH'"*) ;; *) bad+="NOSUCH: $got"$'\n' ;; esac
	verdict "$tag: RESP2 push mode: the push_ok commands run, the others (and unknown ones) are refused" "$bad"
	# The error lists them (in its own order): the same set.
	got=$(raw_cmds 'OCT.WATCH w ON_SET' 'GET x' | sed -n "2s/.*only \(.*\) are allowed.*/\1/p" |
		tr -d ' ' | tr / '\n' | sort | tr '\n' ' ')
	same "$tag: the push-mode error lists exactly the push_ok commands" \
		"$(printf '%s\n' "${list# / }" | tr -d ' ' | tr / '\n' | sort | tr '\n' ' ')" "$got"

	# 15, 16
	oct_term "$tag"
	no_sanitizer_report "$tag" "$log"
}

# Each build's daemon; the ASan one skipped, test by test, when not built.
for b in normal asan; do
	bin=$build/bin/octopusd
	[ "$b" = asan ] && bin=$build/asan/bin/octopusd
	n0=$tap_n
	if [ -x "$bin" ]; then
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} suite "$bin" "$b"
	elif [ "$b" = normal ]; then
		not_ok "$bin built"
	fi
	while [ $((tap_n - n0)) -lt $per_build ]; do
		if [ -x "$bin" ] || [ "$b" = normal ]; then
			not_ok "$b: a test that did not run"
		else
			skip "$bin not built"
		fi
	done
done
[ "$tap_failed" -eq 0 ]

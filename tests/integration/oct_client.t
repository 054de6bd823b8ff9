#!/usr/bin/env bash
# libmk's Octopus client and octctl against a real octopusd (the normal
# build, then the ASan+UBSan build of the daemon with the ASan+UBSan client
# if built), on a private Unix socket. The recipes: oct_recipes.t.
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=../lib/octopusd.sh
. tests/lib/octopusd.sh

# Barrelfish swapped a trigger's mode and binding unnoticed (one C type):
# here the right order compiles and a swapped one does not.
trig() {
	printf '#include <mk/octopus.h>\nint main(void) { struct mk_oct_trigger t = mk_oct_mktrigger(%s); (void)t; return 0; }\n' "$1" |
		${CC:-cc} -std=c11 -Wall -Werror -Ilibmk/include -fsyntax-only -x c -
}
check "mk_oct_mktrigger(cond, mode, persistence, target) compiles" \
	trig "MK_OCT_IF_OK, MK_OCT_ON_SET, MK_OCT_ONCE, MK_OCT_QUEUE"
check "a swapped mode and persistence does not compile" \
	sh -c "! { $(declare -f trig); trig 'MK_OCT_IF_OK, MK_OCT_ONCE, MK_OCT_ON_SET, MK_OCT_QUEUE'; } 2>/dev/null"
check "a swapped condition and target does not compile" \
	sh -c "! { $(declare -f trig); trig 'MK_OCT_QUEUE, MK_OCT_ON_SET, MK_OCT_ONCE, MK_OCT_IF_OK'; } 2>/dev/null"

# client DAEMON TAG DIR: the client programs of build DIR when there are,
# else ours.
client() {
	local daemon=$1 cb=$3
	[ -x "$cb/tests/integration/oct_client" ] || cb=$build
	oct_start "$daemon" "$tmp/daemon.log"
	check "libmk client against $daemon" "$cb/tests/integration/oct_client" "$sock"
	o="$cb/bin/octctl -s $sock"
	check "octctl set --seq prints the new name" \
		sh -c "$o set --seq 'ctl.dev. { v: 1 }' | grep -qx ctl.dev.0"
	check "octctl get prints the record" \
		sh -c "$o get 'ctl.dev.0' | grep -qx \"ctl.dev.0 { v: 1 }\""
	check "octctl exists exits 1 for no match, quietly" \
		sh -c "$o exists nothing; test \$? -eq 1"
	check "octctl reports a parse error with exit 1" \
		sh -c "out=\$($o get 'x {' 2>&1); rc=\$?; echo \"\$out\" | grep -q PARSER_FAIL && test \$rc -eq 1"
	check "octctl --help lists every command" \
		sh -c "h=\$($o --help); for c in get names set del exists wait watch publish subscribe lock barrier; do echo \"\$h\" | grep -q \"^  \$c \" || exit 1; done"

	check "octctl wait --timeout exits 1 when nothing comes" \
		sh -c "$o wait ctl.none --timeout 100; test \$? -eq 1"
	$o wait 'ctl.w { ready: true }' >"$tmp/wait.out" 2>&1 &
	wpid=$!
	sleep 0.1
	$o set 'ctl.w { ready: false }'
	$o set 'ctl.w { ready: true }'
	wait $wpid
	check "octctl wait prints the record once it matches" grep -qx "ctl.w { ready: true }" "$tmp/wait.out"

	$o watch 'ctl.t' --on set -n 5 >"$tmp/watch1.out" 2>"$tmp/watch1.err" &
	wpid=$!
	wait_for grep -qs watching "$tmp/watch1.err"
	$o set 'ctl.t { v: 1 }'
	$o set 'ctl.t { v: 2 }'
	wait $wpid
	check "octctl watch: a one-shot trigger prints one event and ends" \
		sh -c "test \"\$(cat '$tmp/watch1.out')\" = 'ON_SET ctl.t { v: 1 }'"
	$o watch "r'^ctl\\.p'" --persist -n 3 >"$tmp/watch2.out" 2>"$tmp/watch2.err" &
	wpid=$!
	wait_for grep -qs watching "$tmp/watch2.err"
	$o set 'ctl.p1 { v: 1 }'
	$o set 'ctl.q { v: 1 }'
	$o set 'ctl.p2 { v: 2 }'
	$o del 'ctl.p1'
	wait $wpid
	check "octctl watch --persist -n 3: set, set, del" \
		sh -c "printf 'ON_SET ctl.p1 { v: 1 }\nON_SET ctl.p2 { v: 2 }\nON_DEL ctl.p1 { v: 1 }\n' | cmp -s - '$tmp/watch2.out'"

	$o subscribe '_ { topic: _ }' -n 2 >"$tmp/sub.out" 2>"$tmp/sub.err" &
	wpid=$!
	wait_for grep -qs watching "$tmp/sub.err"
	check "octctl publish prints the deliveries" \
		sh -c "test \"\$($o publish 'ctl.news { topic: 1 }')\" = 1 && test \"\$($o publish 'ctl.other { x: 1 }')\" = 0"
	$o publish 'ctl.news { topic: 2 }' >/dev/null
	wait $wpid
	check "octctl subscribe -n 2 prints what was published" \
		sh -c "printf 'ctl.news { topic: 1 }\nctl.news { topic: 2 }\n' | cmp -s - '$tmp/sub.out'"

	check "octctl lock runs the command and exits with its status" \
		sh -c "$o lock ctl.lk -- sh -c 'exit 3'; test \$? -eq 3"
	# mkdir fails when another holder is inside: mutual exclusion.
	for i in 1 2 3 4 5 6; do
		$o lock ctl.lk -- sh -c "mkdir '$tmp/in' || exit 9; sleep 0.05; rmdir '$tmp/in'" &
		lpids="$lpids $!"
	done
	rc=0
	for p in $lpids; do wait "$p" || rc=1; done
	lpids=
	check "octctl lock: 6 concurrent holders never overlap" test $rc -eq 0

	# Each participant is counted in pre before it enters; CMD, after
	# enter, must see all three; leave returns after all left.
	: >"$tmp/pre"
	for i in 1 2 3; do
		echo "$i" >>"$tmp/pre"
		$o barrier ctl.bar 3 -- sh -c "test \$(wc -l <'$tmp/pre') -eq 3" &
		bpids="$bpids $!"
		sleep 0.2
	done
	rc=0
	for p in $bpids; do wait "$p" || rc=1; done
	bpids=
	check "octctl barrier: no participant ran before all 3 entered" test $rc -eq 0
	check "octctl barrier: nothing left behind" \
		sh -c "$o names \"r'^ctl\\.bar'\"; test \$? -eq 1"
	oct_stop_quiet "$daemon" "$tmp/daemon.log"
}

oct_builds client
done_testing

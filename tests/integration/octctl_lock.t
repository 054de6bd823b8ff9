#!/usr/bin/env bash
# octctl lock NAME -- CMD: CMD never outlives the lock. Killing octctl
# with SIGKILL while a second locker waits: the second CMD starts only
# once the first is dead; TERM reaches CMD, which octctl waits for before
# it lets the lock go; what CMD leaves running in its process group is
# killed. Each build's daemon and octctl, on a private socket.
set -u

cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=../lib/octopusd.sh
. tests/lib/octopusd.sh

# alive PID: PID runs (a zombie is dead: it holds nothing any more).
alive() {
	local s
	s=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$s" ] && [ "$s" != Z ]
}

suite() {
	local bin=$1 tag=$2 dir=$3 log=$tmp/$2.log o a b c st apid
	o="$dir/bin/octctl -s $sock"
	oct_start "$bin" "$log" || { not_ok "$tag: daemon started"; return; }
	rm -f "$tmp"/*.pid "$tmp"/*.out

	# 1-3: SIGKILL of the holder while a second locker waits.
	$o lock L -- sh -c "echo \$\$ >'$tmp/a.pid'; exec sleep 30" &
	a=$!
	pids+=("$a")
	wait_for test -s "$tmp/a.pid"
	apid=$(cat "$tmp/a.pid")
	$o lock L -- sh -c "if $(declare -f alive); alive $apid; then echo overlap; else echo alone; fi >'$tmp/b.out'" &
	b=$!
	pids+=("$b")
	sleep 0.3
	check "$tag: a second locker waits while the first CMD runs" \
		sh -c "! test -e '$tmp/b.out'"
	kill -KILL "$a"
	wait "$b" && st=0 || st=$?
	check "$tag: after kill -9 of the holder, the second CMD runs and octctl exits 0 ($st)" \
		test "$st" -eq 0 -a -s "$tmp/b.out"
	check "$tag: ... and the first CMD was dead when it began: $(cat "$tmp/b.out" 2>/dev/null)" \
		grep -qx alone "$tmp/b.out"
	wait "$a" 2>/dev/null

	# 4, 5: TERM goes to CMD, octctl exits with CMD's status, then the
	# lock is free.
	$o lock L2 -- sh -c "trap 'echo term >\"$tmp/t.out\"; exit 3' TERM; echo \$\$ >'$tmp/c.pid'; while :; do sleep 0.05; done" &
	c=$!
	pids+=("$c")
	wait_for test -s "$tmp/c.pid"
	kill -TERM "$c"
	wait "$c" && st=0 || st=$?
	check "$tag: SIGTERM reaches CMD (its trap ran) and octctl exits with CMD's status 3 ($st)" \
		test "$st" -eq 3 -a -s "$tmp/t.out"
	check "$tag: ... and the lock is free afterwards" timeout 5 $o lock L2 -- true

	# 6: leftovers of CMD's process group are killed before the release.
	$o lock L3 -- sh -c "sleep 30 & echo \$! >'$tmp/bg.pid'"
	check "$tag: a background job CMD left behind is killed before the lock is released" \
		sh -c "$(declare -f alive); ! alive \$(cat '$tmp/bg.pid')"

	oct_term "$tag"
	no_sanitizer_report "$tag" "$log"
}

oct_builds suite
done_testing

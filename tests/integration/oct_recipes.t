#!/usr/bin/env bash
# libmk's Octopus recipes (locks, double barriers, semaphores) between
# processes against a real octopusd: the normal build at full counts
# (100,000 lock/unlock alternations), then the ASan+UBSan daemon and client
# (if built) at 10% of them.
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=../lib/octopusd.sh
. tests/lib/octopusd.sh

# recipes DAEMON TAG DIR: the recipes program of build DIR when there is
# one, else ours.
recipes() {
	local daemon=$1 prog=$3/tests/integration/oct_recipes scale=100
	[ -x "$prog" ] || prog=$build/tests/integration/oct_recipes
	[ "$2" = normal ] || scale=10
	oct_start "$daemon" "$tmp/daemon.log"
	check "recipes between processes against $daemon (counts at $scale%)" "$prog" "$sock" $scale
	oct_stop_quiet "$daemon" "$tmp/daemon.log"
}

oct_builds recipes
done_testing

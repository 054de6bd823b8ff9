#!/usr/bin/env bash
# libmk's Octopus recipes (locks, double barriers, semaphores) between
# processes against a real octopusd: the normal build at full counts
# (100,000 lock/unlock alternations), then the ASan+UBSan daemon and client
# (if built) at 10% of them.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
b=${MK_BUILD:-build}
dir=$(mktemp -d)
pid=
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=; }
trap 'stop; rm -rf "$dir"' EXIT

for build in "$b" "$b/asan"; do
	daemon=$build/bin/octopusd
	if [ ! -x "$daemon" ]; then
		skip "$daemon not built"
		continue
	fi
	prog=$build/tests/integration/oct_recipes
	[ -x "$prog" ] || prog=$b/tests/integration/oct_recipes
	scale=100; [ "$build" = "$b" ] || scale=10
	sock=$dir/octopus.sock
	"$daemon" --unix "$sock" 2>"$dir/daemon.log" &
	pid=$!
	for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	check "recipes between processes against $daemon (counts at $scale%)" "$prog" "$sock" $scale
	stop
	check "the daemon ($daemon) stopped cleanly, nothing on its stderr but its banner" \
		sh -c "! grep -v 'listening on' '$dir/daemon.log'"
done
done_testing

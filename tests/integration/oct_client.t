#!/usr/bin/env bash
# libmk's Octopus client and octctl against a real octopusd (the normal and
# the ASan+UBSan build of the daemon), on a private Unix socket.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
b=${MK_BUILD:-build}
dir=$(mktemp -d)
pid=
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=; }
trap 'stop; rm -rf "$dir"' EXIT

for daemon in "$b/bin/octopusd" "$b/asan/bin/octopusd"; do
	if [ ! -x "$daemon" ]; then
		skip "$daemon not built"
		continue
	fi
	sock=$dir/octopus.sock
	"$daemon" --unix "$sock" 2>"$dir/daemon.log" &
	pid=$!
	for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	check "libmk client against $daemon" "$b/tests/integration/oct_client" "$sock"
	o="$b/bin/octctl -s $sock"
	check "octctl set --seq prints the new name" \
		sh -c "$o set --seq 'ctl.dev. { v: 1 }' | grep -qx ctl.dev.0"
	check "octctl get prints the record" \
		sh -c "$o get 'ctl.dev.0' | grep -qx \"ctl.dev.0 { v: 1 }\""
	check "octctl exists exits 1 for no match, quietly" \
		sh -c "$o exists nothing; test \$? -eq 1"
	check "octctl reports a parse error with exit 1" \
		sh -c "out=\$($o get 'x {' 2>&1); rc=\$?; echo \"\$out\" | grep -q PARSER_FAIL && test \$rc -eq 1"
	stop
	check "the daemon ($daemon) stopped cleanly, nothing on its stderr but its banner" \
		sh -c "! grep -v 'listening on' '$dir/daemon.log'"
done
done_testing

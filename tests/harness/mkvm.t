#!/usr/bin/env bash
# Self-test of tools/mkvm on the host: a guest run returns the command's
# status and output, sees the work tree, keeps its writes to itself, and a
# guest crash, kernel warning, lockup or hang is a failure in bounded time.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
b=${MK_BUILD:-build}
mkvm=tools/mkvm
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# expect_run DESC WANT_STATUS MAX_SECONDS [MKVM_OPTIONS...] -- CMD...
expect_run() {
	local desc=$1 want=$2 max=$3 rc t0 t1
	shift 3
	t0=$(date +%s)
	"$mkvm" run -q "$@" >"$scratch/out" 2>"$scratch/err" && rc=0 || rc=$?
	t1=$(date +%s)
	if [ "$rc" -eq "$want" ] && [ $((t1 - t0)) -le "$max" ]; then
		ok "$desc (exit $rc in $((t1 - t0))s)"
	else
		sed 's/^/# /' "$scratch/out" "$scratch/err" | tail -n 40
		not_ok "$desc (exit $rc, wanted $want; $((t1 - t0))s, limit ${max}s)"
	fi
}

expect_run "a command's exit status comes back" 7 60 -- sh -c 'exit 7'

expect_run "output, cwd, environment and CPU count reach the host" 0 60 \
	--smp 3 --env MKVM_T=hello -- sh -c \
	'echo "out:$MKVM_T:$(pwd):$(nproc):$(uname -r)"; echo "err:x" >&2'
check "guest output captured (stdout and stderr)" \
	grep -qx "out:hello:$PWD:3:$(tools/kdir --release)" "$scratch/out"
check "guest stderr captured" grep -qx "err:x" "$scratch/out"

mkdir -p "$scratch/shared"
expect_run "guest writes stay in the guest, --share writes reach the host" 0 60 \
	--share "$scratch/shared" -- sh -c \
	"touch '$scratch/private' && echo from-guest > '$scratch/shared/f'"
check "a write outside --share did not reach the host" test ! -e "$scratch/private"
check "a write inside --share reached the host" grep -qx from-guest "$scratch/shared/f"

expect_run "a guest kernel panic is a failure (125)" 125 60 \
	-- sh -c 'echo c > /proc/sysrq-trigger; sleep 300'
check "the panic is named in the report" grep -q "Kernel panic" "$scratch/err"

expect_run "a kernel WARNING fails a run whose command succeeded (125)" 125 60 \
	-- insmod "$b/tests/kmod/mkvm_selftest.ko" action=warn
check "the warning is named in the report" grep -q "WARNING:" "$scratch/err"

# An expected OOM kill's stack dump is excused between markers; nothing else is.
expect_run "a stack dump between the expect-oom-kill markers is not a crash" 0 60 \
	-- sh -c 'echo "mkvm: expect oom-kill begin" > /dev/kmsg; echo t > /proc/sysrq-trigger;
		  echo "mkvm: expect oom-kill end" > /dev/kmsg'
expect_run "a WARNING between those markers still fails the run (125)" 125 60 \
	-- sh -c "echo 'mkvm: expect oom-kill begin' > /dev/kmsg &&
		  insmod $b/tests/kmod/mkvm_selftest.ko action=warn"

expect_run "a kernel soft lockup is a failure within a minute (125)" 125 60 \
	-- insmod "$b/tests/kmod/mkvm_selftest.ko" action=lockup
check "the lockup is named in the report" grep -qE "soft lockup|stall" "$scratch/err"

expect_run "a guest that never finishes is killed at --timeout (124)" 124 40 \
	--timeout 25 -- sleep 600
check "the hang is named in the report" grep -q "hung" "$scratch/err"

# The monitor socket lets host-side tests hot-plug CPUs and devices.
monitor_test() {
	local sock=$scratch/monitor.sock pid out i
	"$mkvm" run -q --smp 1 --maxcpus 2 --monitor "$sock" -- \
		sh -c 'for i in $(seq 60); do [ -e /sys/devices/system/cpu/cpu1 ] && break; sleep 1; done
		       echo 1 > /sys/devices/system/cpu/cpu1/online && nproc' >"$scratch/mon" 2>&1 &
	pid=$!
	for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.2; done
	sleep 4
	out=$(echo "device_add max-x86_64-cpu,socket-id=1,core-id=0,thread-id=0" |
		socat - "UNIX-CONNECT:$sock" 2>&1)
	wait "$pid" || { echo "$out"; cat "$scratch/mon"; return 1; }
	grep -qx 2 "$scratch/mon" || { echo "$out"; cat "$scratch/mon"; return 1; }
}
check "CPU hot-plug through the monitor socket reaches the guest" monitor_test

done_testing

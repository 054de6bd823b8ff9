#!/usr/bin/env bash
# mkvm-options: --smp 3
# In the guest: cobjvm's clustered-object runtime checks itself (policies,
# misses, invalid and destroyed ids, per-CPU id partitioning, 20,000-object
# churn, the clustered counter), also after a CPU went offline (its reps
# dropped, the counter keeps its counts) and came back; the counter
# benchmark runs and verifies its totals; the module unloads with no
# object left.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
b=${MK_BUILD:-build}
d=/sys/kernel/debug/cobjvm
cpu=/sys/devices/system/cpu/cpu2/online

selftest() {
	echo 1 >"$d/selftest" && cat "$d/selftest" && grep -q '^passed [0-9]* failed 0$' "$d/selftest"
}

check "insmod cobjvm" insmod "$b/modules/cobjvm.ko"
check "runtime selftest on 3 CPUs" selftest
check "CPU 2 offline" sh -c "echo 0 > $cpu"
check "selftest with CPU 2 gone (its counts kept, not lost)" selftest
check "CPU 2 online again" sh -c "echo 1 > $cpu"
check "selftest with CPU 2 back (it misses afresh)" selftest
for n in 1 3; do
	check "Figure 1 counters on $n CPUs, totals verified" \
		sh -c "echo '20000 $n' > $d/counters && cat $d/counters && grep -q verified=yes $d/counters"
done
# live: the selftest's persistent counter and the two page managers
check "objects: only the selftest's counter and the page managers are live" sh -c "cat $d/objects; grep -q '^live 3 ' $d/objects"
check "rmmod cobjvm" rmmod cobjvm
done_testing

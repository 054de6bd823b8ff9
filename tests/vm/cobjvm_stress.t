#!/usr/bin/env bash
# mkvm-options: --smp 3
# In the guest: processes race random attaches, detaches, faults from
# threads, fault ioctls and exits on /dev/cobjvm while CPU 2 goes offline
# and online; no oops, no warning (mkvm checks the kernel log), the page
# counters balance, and the module unloads.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
b=${MK_BUILD:-build}
secs=${MK_STRESS_SECONDS:-15}
cpu=/sys/devices/system/cpu/cpu2/online

check "insmod cobjvm" insmod "$b/modules/cobjvm.ko"
(
	end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		echo 0 >$cpu && sleep 0.5 && echo 1 >$cpu && sleep 0.5 || exit 1
	done
) &
churn=$!
check "random VM operations by 3 workers for ${secs}s while CPU 2 comes and goes" \
	"$b/tests/vm/cobjvm_vm" stress "$secs" 3
wait "$churn" && churned=0 || churned=$?
check "CPU hotplug loop ran without error" test "$churned" -eq 0
check "CPU 2 is back online" grep -qx 1 "$cpu"
check "rmmod cobjvm" rmmod cobjvm
done_testing

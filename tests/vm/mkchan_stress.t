#!/usr/bin/env bash
# mkvm-options: --smp 3
# In the guest: workers race through random mailbox and channel operations
# (connects, shootdowns, kills, garbage ioctls) while CPU 2 goes offline and
# online and the monitors multicast; no oops, no warning (mkvm checks the
# kernel log), no leaked object, and the module unloads.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
b=${MK_BUILD:-build}
secs=${MK_STRESS_SECONDS:-15}
cpu=/sys/devices/system/cpu/cpu2/online

check "insmod mkchan" insmod "$b/modules/mkchan.ko"
(
	end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		echo 0 >$cpu && sleep 0.3 && echo 1 >$cpu && sleep 0.3 &&
			echo "tree 200" >/sys/kernel/debug/mkchan/multicast || exit 1
	done
) &
churn=$!
check "random operations by 4 workers for ${secs}s while CPU 2 comes and goes" \
	"$b/tests/vm/mkchan_stress" "$secs" 4
# wait here: check runs its command in a subshell, which cannot wait for it
wait "$churn" && churned=0 || churned=$?
check "CPU hotplug and multicast loop ran without error" test "$churned" -eq 0
check "CPU 2 is back online" grep -qx 1 "$cpu"
check "rmmod mkchan" rmmod mkchan
done_testing

#!/usr/bin/env bash
# mkvm-options: --smp 3
# In the guest: mkchan's per-CPU monitors and multicast (unicast and tree)
# run every request exactly once per online CPU, also while a CPU goes
# offline and online again and again, and the monitors follow hotplug.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
b=${MK_BUILD:-build}
d=/sys/kernel/debug/mkchan
cpu=/sys/devices/system/cpu/cpu2/online

monitors() { ps -e -o comm= | grep -c '^mkchan/'; }

check "insmod mkchan" insmod "$b/modules/mkchan.ko"
check "one monitor kthread per online CPU ($(nproc))" test "$(monitors)" -eq "$(nproc)"
for mode in ipi unicast tree; do
	check "$mode: 5000 multicasts, each ran once on every CPU" \
		sh -c "echo '$mode 5000' > $d/multicast && grep 'verified=yes' $d/multicast"
done
check "monitors counted their requests" grep -q 'handled [1-9]' "$d/monitors"
check "a bad request is refused" sh -c "! echo 'broadcast 5' > $d/multicast"

check "CPU 2 offline: its monitor goes" \
	sh -c "echo 0 > $cpu && test \$(ps -e -o comm= | grep -c '^mkchan/') -eq 2"
check "CPU 2 online: its monitor comes back" \
	sh -c "echo 1 > $cpu && test \$(ps -e -o comm= | grep -c '^mkchan/') -eq 3"

hotplug() {
	for i in $(seq 15); do echo 0 >$cpu && echo 1 >$cpu || return 1; done
}
multicasts() {
	for i in $(seq 20); do
		for mode in tree unicast; do
			echo "$mode 500" >"$d/multicast" || return 1
			grep -q 'verified=yes' "$d/multicast" || return 1
		done
	done
}
both() {
	hotplug & local hp=$!
	multicasts; local mc=$?
	wait "$hp" && [ "$mc" -eq 0 ]
}
check "20,000 verified multicasts while CPU 2 goes offline and online 15 times" both
check "rmmod mkchan stops every monitor" \
	sh -c "rmmod mkchan && test \$(ps -e -o comm= | grep -c '^mkchan/') -eq 0"
done_testing

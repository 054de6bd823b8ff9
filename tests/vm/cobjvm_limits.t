#!/usr/bin/env bash
# mkvm-options: --smp 3
# In the guest: what bounds one user of /dev/cobjvm (mode 0666): the
# per-user object quota, the id table's limits, memory-cgroup charging
# and memory.max (tests/vm/cobjvm_limits.c); then the module unloads.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
b=${MK_BUILD:-build}

check "insmod cobjvm" insmod "$b/modules/cobjvm.ko"
check "quota, ids and memory cgroups" "$b/tests/vm/cobjvm_limits"
if [ -x "$b/asan/tests/vm/cobjvm_limits" ]; then
	check "the same, built with ASan+UBSan" "$b/asan/tests/vm/cobjvm_limits"
else
	skip "no ASan build at $b/asan"
fi
check "rmmod cobjvm" rmmod cobjvm
done_testing

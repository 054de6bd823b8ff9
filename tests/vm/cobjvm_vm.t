#!/usr/bin/env bash
# mkvm-options: --smp 3
# In the guest: /dev/cobjvm's VM objects (Process, Region, FCM, page
# manager) through real page faults: bad input, every variant set faulted
# from pinned threads, shared FCMs across processes, fork, munmap,
# MADV_DONTNEED, exit; the page counters balance; per-object statistics
# are there; the module unloads.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
b=${MK_BUILD:-build}
d=/sys/kernel/debug/cobjvm

check "insmod cobjvm" insmod "$b/modules/cobjvm.ko"
check "VM objects through page faults" "$b/tests/vm/cobjvm_vm"
if [ -x "$b/asan/tests/vm/cobjvm_vm" ]; then
	check "the same, built with ASan+UBSan" "$b/asan/tests/vm/cobjvm_vm"
else
	skip "no ASan build at $b/asan"
fi
check "per-object statistics: every type destroyed somewhere, locality reported" \
	sh -c "grep -E '^(total|locality)' $d/vmobjects; \
		for t in Process Region FCM; do grep -qE \"^total \$t [1-9]\" $d/vmobjects || exit 1; done"
check "pages: nothing in FCMs" sh -c "cat $d/pages; grep -qx 'in_fcms 0' $d/pages"
check "rmmod cobjvm" rmmod cobjvm
done_testing

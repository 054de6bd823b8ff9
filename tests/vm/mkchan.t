#!/usr/bin/env bash
# In the guest: the mkchan module's mailboxes and channels through its raw
# ABI (tests/vm/mkchan_abi.c), in the normal and the ASan+UBSan build.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
b=${MK_BUILD:-build}

check "insmod mkchan" insmod "$b/modules/mkchan.ko"
for t in "$b/tests/vm/mkchan_abi" "$b/asan/tests/vm/mkchan_abi"; do
	check "mailboxes, channels, wake-ups, shootdown ($t)" "$t"
done
check "rmmod mkchan with nothing left behind" rmmod mkchan
done_testing

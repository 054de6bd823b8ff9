#!/usr/bin/env bash
# In the guest (Debian's stock kernel): mk's modules load, create their
# devices, answer through libmk, refuse hostile input, and unload cleanly.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
b=${MK_BUILD:-build}
mods="mkchan cobjvm"

echo "# guest kernel: $(uname -srv)"
vermagic=$(modinfo -F vermagic "$b/modules/mkchan.ko")
check "guest runs the kernel the modules were built for ($(uname -r))" \
	test "$(uname -r)" = "${vermagic%% *}"

for m in $mods; do
	check "insmod $m" insmod "$b/modules/$m.ko"
	check "/dev/$m is a character device" test -c "/dev/$m"
	check "/sys/module/$m is live" grep -qx live "/sys/module/$m/initstate"
done
check "mkinfo reports both modules" "$b/bin/mkinfo" --require mkchan --require cobjvm
for t in "$b/tests/unit/test_module" "$b/asan/tests/unit/test_module"; do
	check "libmk against the live modules ($t)" env MK_EXPECT_MODULES=1 "$t"
done
check "hostile ioctls, reads, writes and mmaps are refused" "$b/tests/vm/ioctl_abuse"

for m in $mods; do
	check "rmmod $m" rmmod "$m"
	check "/dev/$m is gone" test ! -e "/dev/$m"
done
check "mkinfo --require fails once they are gone" \
	sh -c "! '$b/bin/mkinfo' --require mkchan"

cycles() {
	for i in $(seq 1 25); do
		for m in $mods; do insmod "$b/modules/$m.ko" || return 1; done
		"$b/bin/mkinfo" --require mkchan --require cobjvm >/dev/null || return 1
		for m in $mods; do rmmod "$m" || return 1; done
	done
}
check "25 load / use / unload cycles" cycles

# Out-of-tree (O, 4096) and unsigned (E, 8192) are expected; anything
# else (W warning, D oops, ...) means a module misbehaved.
taint=$(cat /proc/sys/kernel/tainted)
check "kernel taint is only out-of-tree/unsigned (tainted=$taint)" \
	test $((taint & ~(4096 | 8192))) -eq 0
done_testing

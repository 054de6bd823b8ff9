#!/usr/bin/env bash
# In the guest: libmk's channel and waitset test suites (tests/unit/
# test_chan.c, test_waitset.c), normal and ASan+UBSan builds, over the
# mkchan module transport, then a check that the module's object counters
# are back where they started.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
b=${MK_BUILD:-build}
sys=/sys/class/misc/mkchan

counters() {
	local c
	for c in mailboxes channels ring_pages; do
		printf '%s=%s ' "$c" "$(cat "$sys/$c")"
	done
}

check "insmod mkchan" insmod "$b/modules/mkchan.ko"
before=$(counters)
out=$(mktemp)
echo "# counters before: $before"
for suite in test_chan test_waitset; do
	for t in "$b/tests/unit/$suite" "$b/asan/tests/unit/$suite"; do
		check "$suite over the module transport ($t)" \
			env MK_CHAN_TRANSPORT=module CMOCKA_MESSAGE_OUTPUT=TAP \
			ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$t" >"$out"
		cat "$out"
		# Cases the suite skipped inside (fallback-only ones): say so here.
		while IFS= read -r l; do
			[ -n "$l" ] && skip "$suite ${l##*# SKIP }: not for the module transport"
		done <<<"$(grep '# SKIP' "$out")"
	done
done
rm -f "$out"
after=$(counters)
check "mailboxes, channels and ring pages back to their starting values ($after)" \
	test "$before" = "$after"
check "rmmod mkchan" rmmod mkchan
done_testing

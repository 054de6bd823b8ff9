#!/usr/bin/env bash
# libmk.so's ABI: it exports exactly the symbols listed in libmk/libmk.abi
# (each mk_-prefixed, in the version node MK_1 of libmk/libmk.map), needs
# nothing it does not link, and a program written against the public
# headers alone links and runs against it. A symbol added on purpose goes
# into libmk.abi in the same commit; one that appears by accident (a
# helper without `static`, a private header under the public pragma) fails
# here.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh

build=${MK_BUILD:-build}
so=$build/lib/libmk.so.0
want=libmk/libmk.abi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -f "$so" ]; then
	not_ok "$so built"
	done_testing
	exit 1
fi
# NAME@@VERSION for every defined dynamic symbol but the version node's
# own (an absolute symbol named after the node).
nm -D --defined-only --with-symbol-versions "$so" |
	awk '$2 != "A" { print $3 }' | sort >"$tmp/got"
sed 's/[[:space:]]*#.*//; /^$/d' "$want" | sort >"$tmp/want"

if diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
	ok "libmk.so exports the $(wc -l <"$tmp/want") symbols of $want, nothing else"
else
	not_ok "libmk.so exports what $want lists (- listed, not exported; + exported, not listed)"
	sed -n '3,$p' "$tmp/diff" | grep '^[-+]' | head -40 | sed 's/^/# /'
fi
bad=$(grep -v '^mk_[a-z0-9_]*@@MK_1$' "$tmp/got")
if [ -z "$bad" ]; then
	ok "every exported name is mk_... in the node MK_1"
else
	not_ok "every exported name is mk_... in the node MK_1"
	printf '%s\n' "$bad" | head -20 | sed 's/^/# /'
fi
check "libmk.so.0's soname is libmk.so.0" \
	sh -c "objdump -p '$so' | grep -qx '  SONAME               libmk.so.0'"

# A user of the installed library: public headers only, linked against
# the .so (the tests and daemons link libmk.a), one call from each header.
cat >"$tmp/user.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <mk/chan.h>
#include <mk/libmk.h>
#include <mk/octopus.h>
#include <mk/resp.h>
#include <mk/ring.h>
#include <mk/waitset.h>

int main(void)
{
	struct mk_resp_reader *r = mk_resp_reader_new(NULL);
	struct mk_waitset *ws = NULL;

	if (!r || strcmp(mk_module_name(MK_MODULE_MKCHAN), "mkchan"))
		return 1;
	mk_resp_reader_free(r);
	if (mk_waitset_create(&ws) || !ws)
		return 2;
	mk_waitset_destroy(ws);
	if (mk_spin_default_ns() == 0 || !mk_oct_default_socket())
		return 3;
	puts("user of libmk.so: ok");
	return 0;
}
C
check "a program using only the public headers links against libmk.so" \
	"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -Ilibmk/include -Iinclude/uapi \
	"$tmp/user.c" -o "$tmp/user" -L"$build/lib" -l:libmk.so.0
check "... and runs with it" env LD_LIBRARY_PATH="$build/lib" "$tmp/user"
done_testing

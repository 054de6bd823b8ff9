# mk: top-level build. `make` builds user space into build/ and the kernel
# modules with kbuild; `make check` runs every test. See README.md.

BUILD	?= build
KDIR	?= $(shell tools/kdir 2>/dev/null)
CC	?= cc
CFLAGS	?= -O2 -g
# SAN=1 builds user space with ASan+UBSan (make check does, into build/asan).
SAN	?=

MK_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fPIC -MMD -MP \
	     -Iinclude/uapi -Ilibmk/include
MK_LDFLAGS :=
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	     -fno-omit-frame-pointer
MK_CFLAGS += $(SAN_FLAGS)
MK_LDFLAGS += $(SAN_FLAGS)
endif

# Each component's module.mk adds to these.
USER_TARGETS :=
TEST_TARGETS :=
BENCH_TARGETS :=

.PHONY: all user modules test-modules tests check checkpatch demo bench deps clean
all: user modules

include libmk/module.mk
include $(sort $(wildcard daemons/*/module.mk tests/*/module.mk))
include cli/module.mk
include tests/module.mk
include bench/module.mk

user: $(USER_TARGETS)
tests: $(TEST_TARGETS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(MK_CFLAGS) $(CFLAGS) -c $< -o $@

define need_kdir
	@test -n "$(KDIR)" || { echo "no kernel build tree: run 'make deps' or set KDIR" >&2; exit 1; }
endef

modules:
	$(need_kdir)
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
	@mkdir -p $(BUILD)/modules
	cp kmod/mkchan/mkchan.ko kmod/cobjvm/cobjvm.ko $(BUILD)/modules/

# Deliberately misbehaving module for the harness self-test; never shipped.
test-modules:
	$(need_kdir)
	$(MAKE) -C $(KDIR) M=$(CURDIR)/tests/kmod modules
	@mkdir -p $(BUILD)/tests/kmod
	cp tests/kmod/mkvm_selftest.ko $(BUILD)/tests/kmod/

# Both do all set-up first (make deps is fast once done).
check:
	$(MAKE) deps
	$(MAKE) all tests test-modules fuzz
	$(MAKE) BUILD=$(BUILD)/asan SAN=1 user tests
	tests/run --build $(BUILD)

# Benchmarks, each beside its baseline in one run: BENCH_CPUS=A,B picks the
# two cores (default 0,1). Results in bench/results/.
bench: user $(BENCH_TARGETS)
	bench/run --build $(BUILD)

# The kernel's checkpatch.pl over kmod/, tests/kmod/ and the uapi headers
# (make check runs it too, as tests/style/checkpatch.t).
checkpatch:
	tools/checkpatch

demo:
	$(MAKE) deps
	$(MAKE) all
	tools/demo

deps:
	tools/deps

clean:
	-$(if $(KDIR),$(MAKE) -C $(KDIR) M=$(CURDIR) clean)
	-$(if $(KDIR),$(MAKE) -C $(KDIR) M=$(CURDIR)/tests/kmod clean)
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
.SECONDARY:

# libmk: static and shared library in $(BUILD)/lib.
# Every source under libmk/ (and its subfolders) is part of the library,
# but octopus/query.c: it needs PCRE2, which only octopusd links
# (libmk/octopus/README.md); daemons/octopusd/module.mk builds it.
LIBMK_SRCS := $(sort $(filter-out libmk/octopus/query.c, \
	$(wildcard libmk/*.c libmk/*/*.c)))
LIBMK_OBJS := $(LIBMK_SRCS:%.c=$(BUILD)/obj/%.o)
LIBMK_A := $(BUILD)/lib/libmk.a
LIBMK_SO := $(BUILD)/lib/libmk.so.0
LIBMK_MAP := libmk/libmk.map

# Only the public API leaves libmk.so: everything is hidden unless a public
# header (libmk/include/mk/, under `#pragma GCC visibility push(default)`)
# declares it, and the version script puts what is exported in the node
# MK_1. tests/style/abi.t holds the list against libmk/libmk.abi.
$(LIBMK_OBJS): CFLAGS += -fvisibility=hidden

$(LIBMK_A): $(LIBMK_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(LIBMK_SO): $(LIBMK_OBJS) $(LIBMK_MAP)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libmk.so.0 -Wl,--version-script=$(LIBMK_MAP) \
		-Wl,--no-undefined $(MK_LDFLAGS) $(LIBMK_OBJS) -o $@
	ln -sf libmk.so.0 $(BUILD)/lib/libmk.so

USER_TARGETS += $(LIBMK_A) $(LIBMK_SO)

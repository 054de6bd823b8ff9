# libmk: static and shared library in $(BUILD)/lib.
# Every source under libmk/ (and its subfolders) is part of the library.
LIBMK_SRCS := $(sort $(wildcard libmk/*.c libmk/*/*.c))
LIBMK_OBJS := $(LIBMK_SRCS:%.c=$(BUILD)/obj/%.o)
LIBMK_A := $(BUILD)/lib/libmk.a
LIBMK_SO := $(BUILD)/lib/libmk.so.0

$(LIBMK_A): $(LIBMK_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(LIBMK_SO): $(LIBMK_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libmk.so.0 $(MK_LDFLAGS) $^ -o $@
	ln -sf libmk.so.0 $(BUILD)/lib/libmk.so

USER_TARGETS += $(LIBMK_A) $(LIBMK_SO)

# libmk: static and shared library in $(BUILD)/lib.
LIBMK_SRCS := libmk/module.c libmk/ring.c libmk/chan.c
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

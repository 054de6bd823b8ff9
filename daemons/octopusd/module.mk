# octopusd: the Octopus coordination service (issue 4).
# The record store, the watch index and the compiled queries both match
# through (libmk/octopus/query.c, kept out of libmk for PCRE2) are a
# static library, no network code; the daemon and the store's unit tests
# link it with libmk and PCRE2.
PCRE2_CFLAGS := $(shell pkg-config --cflags libpcre2-8 2>/dev/null)
PCRE2_LIBS := $(or $(shell pkg-config --libs libpcre2-8 2>/dev/null),-lpcre2-8)

OCTSTORE_SRCS := daemons/octopusd/store.c daemons/octopusd/watchidx.c \
	libmk/octopus/query.c
OCTSTORE_OBJS := $(OCTSTORE_SRCS:%.c=$(BUILD)/obj/%.o)
OCTSTORE_A := $(BUILD)/lib/liboctstore.a

$(OCTSTORE_OBJS): CFLAGS += $(PCRE2_CFLAGS) -Ilibmk

$(OCTSTORE_A): $(OCTSTORE_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

USER_TARGETS += $(OCTSTORE_A)

# Unit tests of the record language and the store: explicit rules (they
# override tests/module.mk's pattern rule) to add the store and PCRE2.
OCT_UNIT_TESTS := $(BUILD)/tests/unit/test_oct_record \
	$(BUILD)/tests/unit/test_oct_store

$(OCT_UNIT_TESTS): $(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o \
		$(OCTSTORE_A) $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ $(PCRE2_LIBS) -lcmocka -o $@

$(BUILD)/obj/tests/unit/test_oct_store.o: CFLAGS += $(PCRE2_CFLAGS) \
	-Idaemons/octopusd -Ilibmk

TEST_TARGETS += $(OCT_UNIT_TESTS)

# The daemon.
LIBSYSTEMD_CFLAGS := $(shell pkg-config --cflags libsystemd 2>/dev/null)
LIBSYSTEMD_LIBS := $(or $(shell pkg-config --libs libsystemd 2>/dev/null),-lsystemd)
OCTOPUSD_SRCS := daemons/octopusd/octopusd.c daemons/octopusd/server.c \
	daemons/octopusd/commands.c daemons/octopusd/oct_commands.c \
	daemons/octopusd/triggers.c daemons/octopusd/pubsub.c \
	daemons/octopusd/waits.c
OCTOPUSD_OBJS := $(OCTOPUSD_SRCS:%.c=$(BUILD)/obj/%.o)

$(OCTOPUSD_OBJS): CFLAGS += $(PCRE2_CFLAGS) $(LIBSYSTEMD_CFLAGS) -Ilibmk

$(BUILD)/bin/octopusd: $(OCTOPUSD_OBJS) $(OCTSTORE_A) $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ $(PCRE2_LIBS) $(LIBSYSTEMD_LIBS) -o $@

USER_TARGETS += $(BUILD)/bin/octopusd

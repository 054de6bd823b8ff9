# Test programs in $(BUILD)/tests; tests/run finds and runs them.
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ -lcmocka -o $@

TEST_TARGETS += $(UNIT_TESTS)

# Programs the VM tests run inside the guest.
$(BUILD)/tests/vm/%: $(BUILD)/obj/tests/vm/%.o $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ -o $@

TEST_TARGETS += $(BUILD)/tests/vm/ioctl_abuse $(BUILD)/tests/vm/mkchan_abi \
	$(BUILD)/tests/vm/mkchan_stress

# Programs the integration tests run against the daemons.
$(BUILD)/tests/integration/%: $(BUILD)/obj/tests/integration/%.o $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ -o $@

TEST_TARGETS += $(BUILD)/tests/integration/oct_client

# The daemons' hash table is private to the tree (libmk/hashtab.h).
$(BUILD)/obj/tests/unit/test_hashtab.o: CFLAGS += -Ilibmk

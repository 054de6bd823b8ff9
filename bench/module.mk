# Host benchmarks in $(BUILD)/bench (issue 3). They link libmk statically
# and need no kernel module; see the comment atop each source for what it
# measures and its options.
$(BUILD)/bench/chan_pingpong: $(BUILD)/obj/bench/chan_pingpong.o $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ -luring -lm -o $@

BENCH_TARGETS += $(BUILD)/bench/chan_pingpong

# Octopus benchmarks (issue 4): the paper's get-vs-store-size microbenchmark.
$(BUILD)/bench/oct_records: $(BUILD)/obj/bench/oct_records.o $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ -o $@

# ... and lock round trips against etcd's lock recipe.
$(BUILD)/bench/oct_lock: $(BUILD)/obj/bench/oct_lock.o $(BUILD)/obj/bench/etcd_http.o $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ -o $@

# ... and the ceiling any server reaches under redis-benchmark here.
$(BUILD)/bench/resp_ceiling: $(BUILD)/obj/bench/resp_ceiling.o $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ -o $@

BENCH_TARGETS += $(BUILD)/bench/oct_records $(BUILD)/bench/oct_lock \
	$(BUILD)/bench/resp_ceiling

# cobjvm's VM objects against stock faults (issue 5), run in the guest by
# bench/cobjvm_vm.sh.
$(BUILD)/bench/cobjvm_vm: $(BUILD)/obj/bench/cobjvm_vm.o $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ -o $@

BENCH_TARGETS += $(BUILD)/bench/cobjvm_vm

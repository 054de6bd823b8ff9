# Host benchmarks in $(BUILD)/bench (issue 3). They link libmk statically
# and need no kernel module; see the comment atop each source for what it
# measures and its options.
$(BUILD)/bench/chan_pingpong: $(BUILD)/obj/bench/chan_pingpong.o $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ -o $@

BENCH_TARGETS += $(BUILD)/bench/chan_pingpong

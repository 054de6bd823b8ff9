# Command-line tools in $(BUILD)/bin.
$(BUILD)/bin/mkinfo: $(BUILD)/obj/tools/mkinfo.o $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ -o $@

USER_TARGETS += $(BUILD)/bin/mkinfo

$(BUILD)/bin/mkping: $(BUILD)/obj/tools/mkping.o $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ -o $@

USER_TARGETS += $(BUILD)/bin/mkping

$(BUILD)/bin/octctl: $(BUILD)/obj/tools/octctl.o $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ -o $@

USER_TARGETS += $(BUILD)/bin/octctl

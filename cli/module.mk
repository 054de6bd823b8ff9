# The command-line programs mk ships (packaging takes them from $(BUILD)/bin).
$(BUILD)/bin/mkinfo: $(BUILD)/obj/cli/mkinfo.o $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ -o $@

USER_TARGETS += $(BUILD)/bin/mkinfo

$(BUILD)/bin/mkping: $(BUILD)/obj/cli/mkping.o $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ -o $@

USER_TARGETS += $(BUILD)/bin/mkping

$(BUILD)/bin/octctl: $(BUILD)/obj/cli/octctl.o $(LIBMK_A)
	@mkdir -p $(dir $@)
	$(CC) $(MK_LDFLAGS) $^ -o $@

USER_TARGETS += $(BUILD)/bin/octctl

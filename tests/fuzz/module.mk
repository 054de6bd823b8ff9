# libFuzzer targets, built with clang straight from their sources (libmk.a
# is built with gcc); tests/fuzz/run runs each briefly. Not part of `all`.
FUZZ_CC ?= clang
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Iinclude/uapi -Ilibmk/include
FUZZ_TARGETS :=

FUZZ_RESP_SRCS := tests/fuzz/fuzz_resp.c $(sort $(wildcard libmk/resp*.c))
$(BUILD)/fuzz/fuzz_resp: $(FUZZ_RESP_SRCS) libmk/include/mk/resp.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_RESP_SRCS) -lm -o $@

FUZZ_TARGETS += $(BUILD)/fuzz/fuzz_resp

.PHONY: fuzz
fuzz: $(FUZZ_TARGETS)

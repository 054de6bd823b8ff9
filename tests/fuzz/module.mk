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

# The Octopus record and query parser (libmk/octopus).
FUZZ_OCT_SRCS := tests/fuzz/fuzz_oct_parse.c libmk/octopus/record.c libmk/octopus/print.c
$(BUILD)/fuzz/fuzz_oct_parse: $(FUZZ_OCT_SRCS) libmk/include/mk/oct_record.h libmk/octopus/oct_impl.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_OCT_SRCS) -lm -o $@

FUZZ_TARGETS += $(BUILD)/fuzz/fuzz_oct_parse

# Last: the list above is complete only here (prerequisites expand at once).
.PHONY: fuzz
fuzz: $(FUZZ_TARGETS)

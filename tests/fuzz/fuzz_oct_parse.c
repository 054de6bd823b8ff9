// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for the Octopus record and query parser
 * (<mk/oct_record.h>): arbitrary bytes, small limits. Whatever parses must
 * print, and the printed text must parse again and print the same; nothing
 * may crash, leak or read out of bounds (ASan, UBSan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mk/oct_record.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct oct_limits lim = { .max_input = 4096, .max_terms = 64 };
	struct oct_record *rec = NULL, *again = NULL;
	struct oct_parse_error err;
	char *text, *text2;
	size_t len, len2;

	if (oct_parse((const char *)data, size, &lim, &rec, &err) != OCT_OK)
		return 0;
	text = oct_print(rec, &len);
	if (!text)
		abort();	/* a parsed record always prints */
	if (oct_parse(text, len, NULL, &again, &err) != OCT_OK)
		abort();	/* what we print, we read back */
	text2 = oct_print(again, &len2);
	if (!text2 || len2 != len || memcmp(text, text2, len))
		abort();	/* and it prints the same: the canonical form */
	free(text2);
	free(text);
	oct_record_free(again);
	oct_record_free(rec);
	return 0;
}

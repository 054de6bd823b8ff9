/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libmk Octopus records: helpers shared by the files in libmk/octopus/. */
#ifndef MK_OCT_IMPL_H
#define MK_OCT_IMPL_H

#include <stdbool.h>
#include <stddef.h>

/* Bytewise order of two counted strings; <0, 0, >0. */
int oct_key_cmp(const char *a, size_t alen, const char *b, size_t blen);
bool oct_is_key_char(char c);
bool oct_is_name_char(char c);

#endif /* MK_OCT_IMPL_H */

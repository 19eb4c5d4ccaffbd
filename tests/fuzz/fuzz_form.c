/*
 * fuzz_form.c - fuzz target for the form parser (plugin/wire.c
 * tw_form_parse), strict and lenient, over any bytes: the parser every
 * webhook body goes through.
 *
 * Invariants: no crash or leak; the decoded names and values together are
 * no longer than the input; strict fails only at a '%' inside the input;
 * strict success implies lenient success with the same fields; re-encoding
 * the fields with tw_form_add and parsing that strictly gives the same
 * fields back (byte for byte, NULs included in values).
 *
 * With -DTW_LIBFUZZER (make fuzz-sig) a libFuzzer target; without, main()
 * replays tests/fuzz/corpus/form in `make check`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tw_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_fields(const tw_form *a, const tw_form *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (a->fields[i].name_len != b->fields[i].name_len ||
		    a->fields[i].value_len != b->fields[i].value_len ||
		    memcmp(a->fields[i].name, b->fields[i].name,
		           a->fields[i].name_len) != 0 ||
		    memcmp(a->fields[i].value, b->fields[i].value,
		           a->fields[i].value_len) != 0)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	tw_form strict = {0}, lenient = {0}, again = {0};
	tw_buf enc = {0};
	size_t off = (size_t)-1, i, total = 0;
	int rs, rl, names_ok = 1;

	rs = tw_form_parse(body, size, TW_FORM_STRICT, &strict, &off);
	rl = tw_form_parse(body, size, TW_FORM_LENIENT, &lenient, NULL);
	if (rl == TW_FORM_ENOMEM || rs == TW_FORM_ENOMEM)
		goto out; /* allowed; nothing to check */
	if (rl != 0)
		abort(); /* lenient never refuses */
	if (rs == TW_FORM_EMALFORMED && (off >= size || body[off] != '%'))
		abort();
	if (rs == 0 && !same_fields(&strict, &lenient))
		abort();
	for (i = 0; i < lenient.n; i++) {
		const tw_field *f = &lenient.fields[i];
		total += f->name_len + f->value_len;
		if (f->name[f->name_len] != '\0' ||
		    f->value[f->value_len] != '\0')
			abort(); /* NUL-terminated as documented */
		if (strlen(f->name) != f->name_len)
			names_ok = 0; /* tw_form_add takes a C-string name */
	}
	if (total > size)
		abort();
	if (names_ok) {
		for (i = 0; i < lenient.n; i++)
			tw_form_add(&enc, lenient.fields[i].name,
			            lenient.fields[i].value,
			            lenient.fields[i].value_len);
		if (!enc.oom) {
			if (tw_form_parse(enc.data ? enc.data : "", enc.len,
			                  TW_FORM_STRICT, &again, NULL) == 0) {
				/* an empty pair ("=") re-encodes as itself; an
				 * empty field is skipped by both parses */
				if (!same_fields(&lenient, &again))
					abort();
			} else if (!enc.oom) {
				abort(); /* our own encoding must parse */
			}
		}
	}
out:
	tw_buf_free(&enc);
	tw_form_free(&again);
	tw_form_free(&strict);
	tw_form_free(&lenient);
	return 0;
}

#ifndef TW_LIBFUZZER
#include "fuzz_replay.h"
int main(int argc, char **argv)
{
	return tw_fuzz_replay(argc, argv, "form");
}
#endif

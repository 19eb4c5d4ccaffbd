/*
 * fuzz_ftl - libFuzzer target for the template engine (parser and
 * renderer). Input: template text, optionally followed by a NUL byte and a
 * JSON data model. Built by `make fuzz-ftl` (clang, -fsanitize=fuzzer);
 * replay_ftl.c runs the committed corpus in `make check`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugin/ftl/ftl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *src = (const char *)data;
	const char *nul = memchr(data, 0, size);
	size_t tlen = nul ? (size_t)(nul - src) : size;
	ftl_error err;
	ftl_template *t;
	json_object *model = NULL;
	/* A work budget of 1/16 of the default: the same limit paths, and
	 * an input that spends the whole budget (exponential recursion, long
	 * loops) takes ~0.1 s instead of seconds in a sanitized build, under
	 * libFuzzer's timeout. */
	ftl_settings st = {.max_output = 4096, .max_work = 1u << 20};

	t = ftl_compile(src, tlen, &err);
	if (!t)
		return 0;
	if (nul && size - tlen - 1 > 0) {
		json_tokener *tok = json_tokener_new_ex(32);
		if (tok) {
			model = json_tokener_parse_ex(tok, nul + 1,
			                              (int)(size - tlen - 1));
			json_tokener_free(tok);
		}
	}
	for (int i = 0; i < 2; i++) {
		char *out = NULL;
		if (i == 1)
			st.locale = "de_DE";
		if (ftl_render(t, model, &st, &out, NULL, &err) == 0)
			free(out);
	}
	json_object_put(model);
	ftl_template_unref(t);
	return 0;
}

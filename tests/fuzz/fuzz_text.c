/*
 * fuzz_text.c - fuzz target for the JSON-text facade's argument parser
 * (host-api/text.c, compiled here alone with CONNHOST_TEXT_ARGS_ONLY):
 * every text a foreign host passes (inputs, variables, params, options)
 * goes through parse_arg(), and options through check_keys(), opt_int()
 * and opt_string().
 *
 * Invariants: no crash, no leak; a refusal names the argument ("inputs: ...")
 * and says why; an accepted text is a JSON object; an option accepted as an
 * integer lies within its bounds.
 * With -DTW_LIBFUZZER (make fuzz-text) it is a libFuzzer target; without,
 * main() replays tests/fuzz/corpus/text as a TAP test in make check.
 */
#define CONNHOST_TEXT_ARGS_ONLY
#include "../../host-api/text.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const known[] = {"max_calls", "log_level", NULL};
	char err[512], *text = malloc(size + 1);
	json_object *o = NULL;
	int64_t n = -1;
	const char *s = NULL;
	int rc;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* a foreign host's C string: up to the NUL */
	err[0] = '\0';
	rc = parse_arg("inputs", text, json_type_object, &o, err, sizeof(err));
	if (rc == 0 && !json_object_is_type(o, json_type_object))
		abort();
	if (rc == CONN_EINVAL && (strncmp(err, "inputs: ", 8) != 0 || o))
		abort();
	if (rc == 0 && check_keys("options", o, known, err, sizeof(err)) == 0) {
		if (opt_int(o, "max_calls", 1, MAX_BOUND, &n, err,
		            sizeof(err)) == 0 &&
		    n != -1 && (n < 1 || n > MAX_BOUND))
			abort();
		if (opt_string(o, "log_level", &s, err, sizeof(err)) == 0 &&
		    s && strlen(s) > size)
			abort();
	}
	json_object_put(o);
	free(text);
	return 0;
}

#ifndef TW_LIBFUZZER
#include "fuzz_replay.h"
int main(int argc, char **argv)
{
	return tw_fuzz_replay(argc, argv, "text");
}
#endif

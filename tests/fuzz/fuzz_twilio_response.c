/*
 * fuzz_twilio_response.c - fuzz target for Twilio response parsing
 * (plugin/response.c). The first byte picks the HTTP status and the SID
 * prefix expected. Differential: tw_response_parse() (which scans the
 * usual 2xx answer without building a tree) must give exactly what the
 * json-c tree reader tw_response_parse_tree() gives, field by field.
 *
 * With -DTW_LIBFUZZER (make fuzz-plugin) it is a libFuzzer target; without,
 * main() replays the committed corpus (tests/fuzz/corpus/twilio_response).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tw_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_same(const tw_response *a, const tw_response *b)
{
	if (a->err != b->err || a->http != b->http ||
	    strcmp(a->sid, b->sid) != 0 || strcmp(a->status, b->status) != 0 ||
	    a->segments != b->segments || a->code != b->code ||
	    a->retryable != b->retryable || !same_str(a->message, b->message) ||
	    !same_str(a->more_info, b->more_info))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long status[] = {200, 201, 400, 401, 404, 429, 500, 503};
	tw_response r, t;
	long http;
	const char *expect;
	int rc, rt;

	if (size < 1)
		return 0;
	http = status[data[0] % 8];
	expect = data[0] & 8 ? "AC" : "SM";
	rc = tw_response_parse(http, (const char *)data + 1, size - 1, expect,
	                       &r);
	rt = tw_response_parse_tree(http, (const char *)data + 1, size - 1,
	                            expect, &t);
	if (rc == 0) {
		if (r.err != TW_OK && !r.message)
			abort();
		if (r.err == TW_OK && strlen(r.sid) != 34)
			abort();
		/* behind any 5xx the message may exist, whatever the body
		 * says: never a definite failure, never retried */
		if (http >= 500 && (r.err != TW_OUTCOME_UNKNOWN || r.retryable))
			abort();
		if (rt == 0)
			check_same(&r, &t);
		tw_response_clear(&r);
	}
	if (rt == 0)
		tw_response_clear(&t);
	return 0;
}

#ifndef TW_LIBFUZZER
#include "fuzz_replay.h"
int main(int argc, char **argv)
{
	return tw_fuzz_replay(argc, argv, "twilio_response");
}
#endif

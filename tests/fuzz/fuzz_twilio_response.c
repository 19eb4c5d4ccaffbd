/*
 * fuzz_twilio_response.c - fuzz target for Twilio response parsing
 * (plugin/response.c). The first byte picks the HTTP status.
 *
 * With -DTW_LIBFUZZER (make fuzz-plugin) it is a libFuzzer target; without,
 * main() replays the committed corpus (tests/fuzz/corpus/twilio_response).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tw_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long status[] = {200, 201, 400, 401, 404, 429, 500, 503};
	tw_response r;
	long http;

	if (size < 1)
		return 0;
	http = status[data[0] % 8];
	if (tw_response_parse(http, (const char *)data + 1, size - 1,
	                      data[0] & 8 ? "AC" : "SM", &r) == 0) {
		if (r.err != TW_OK && !r.message)
			abort();
		if (r.err == TW_OK && strlen(r.sid) != 34)
			abort();
		tw_response_clear(&r);
	}
	return 0;
}

#ifndef TW_LIBFUZZER
#include "fuzz_replay.h"
int main(int argc, char **argv)
{
	return tw_fuzz_replay(argc, argv, "twilio_response");
}
#endif

/*
 * fuzz_recipients.c - fuzz target for smsTo parsing (plugin/recipients.c).
 *
 * With -DTW_LIBFUZZER (make fuzz-plugin) it is a libFuzzer target; without,
 * main() replays the committed corpus (tests/fuzz/corpus/recipients) as a
 * TAP test in `make check`.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_recipients.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tw_recipients r;
	tw_err e;
	char *m = NULL;
	size_t i;

	if (tw_recipients_parse_text((const char *)data, size, 1000, &r, &e,
	                             &m) == 0) {
		for (i = 0; i < r.n; i++) {
			/* a valid entry is normalised: + and digits only */
			if (r.v[i].err == TW_OK && !strchr(r.v[i].to, '+'))
				abort();
			if (r.v[i].err != TW_OK && !r.v[i].message)
				abort();
		}
		tw_recipients_free(&r);
	} else if (!m) {
		abort();
	}
	free(m);
	return 0;
}

#ifndef TW_LIBFUZZER
#include "fuzz_replay.h"
int main(int argc, char **argv)
{
	return tw_fuzz_replay(argc, argv, "recipients");
}
#endif

/*
 * fuzz_triggers.c - fuzz target for the triggers file of `connector-host
 * serve` (host-api/triggers.c): the parser, then the input mapping of
 * every trigger against a fixed event.
 *
 * Invariants: no crash, no leak; a refusal always says why (a non-empty
 * message naming the origin); a parsed file has 1..SERVE_TRIGGERS_MAX
 * triggers, each with a name, event and action and object params and
 * inputs; mapping either succeeds with an object or explains itself.
 * With -DTW_LIBFUZZER (make fuzz-host) it is a libFuzzer target; without,
 * main() replays tests/fuzz/corpus/triggers as a TAP test in make check.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "triggers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	serve_triggers t;
	char err[1024];
	json_object *ev, *in;
	size_t i;
	int rc;

	err[0] = '\0';
	rc = serve_triggers_parse((const char *)data, size, "fuzz", &t, err,
	                          sizeof(err));
	if (rc != 0) {
		if (strncmp(err, "fuzz", 4) != 0 && rc != CONN_ENOMEM)
			abort();
		return 0;
	}
	if (t.n == 0 || t.n > SERVE_TRIGGERS_MAX)
		abort();
	ev = json_tokener_parse(
	        "{\"matchGroups\":{\"orderNumber\":\"12345\",\"unset\":null},"
	        "\"from\":\"+15005550010\",\"to\":\"+15005550006\","
	        "\"messageSid\":\"SM0123\",\"media\":[],\"optOutType\":null}");
	for (i = 0; i < t.n; i++) {
		if (!t.v[i].name || !t.v[i].event || !t.v[i].action ||
		    !json_object_is_type(t.v[i].params, json_type_object) ||
		    !json_object_is_type(t.v[i].inputs, json_type_object))
			abort();
		in = NULL;
		err[0] = '\0';
		rc = serve_map_inputs(&t.v[i], ev, &in, err, sizeof(err));
		if (rc == 0 && !json_object_is_type(in, json_type_object))
			abort();
		if (rc == CONN_EINVAL && strncmp(err, "inputs", 6) != 0)
			abort();
		json_object_put(in);
	}
	json_object_put(ev);
	serve_triggers_free(&t);
	return 0;
}

#ifndef TW_LIBFUZZER
#include "fuzz_replay.h"
int main(int argc, char **argv)
{
	return tw_fuzz_replay(argc, argv, "triggers");
}
#endif

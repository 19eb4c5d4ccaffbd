/*
 * tw_response.h - reading Twilio's answers: a message resource (201), an
 * account resource (200) or an error body, and mapping Twilio's error
 * codes to the connector's error names.
 */
#ifndef TW_RESPONSE_H
#define TW_RESPONSE_H

#include <stddef.h>

#include "tw_errors.h"

#define TW_RESPONSE_MAX 65536 /* largest body read from Twilio */

typedef struct tw_response {
	tw_err err; /* TW_OK: a usable resource */
	long http;  /* HTTP status */
	/* TW_OK */
	char sid[40];    /* SM/MM/AC + 32 hex */
	char status[32]; /* queued, accepted, active, ... */
	int segments;    /* num_segments, -1 when absent */
	/* otherwise */
	int code; /* Twilio error code, 0 when none */
	int retryable;
	char *message;   /* malloc'd; never NULL when err != TW_OK */
	char *more_info; /* malloc'd or NULL */
} tw_response;

/*
 * Parse BODY (LEN bytes, not NUL-terminated, untrusted) answered with
 * status HTTP. EXPECT is the SID prefix of a success ("SM" for a message,
 * "AC" for an account). Bodies over TW_RESPONSE_MAX, not JSON, or a 2xx
 * without a valid sid give TW_OUTCOME_UNKNOWN (the request was processed
 * but the answer is unusable); error bodies map through tw_response_map().
 * Ownership: OUT is filled; release it with tw_response_clear().
 * Returns 0, or -1 out of memory (OUT cleared).
 */
int tw_response_parse(long http, const char *body, size_t len,
                      const char *expect, tw_response *out);

/*
 * The same, always through the json-c tree (tw_response_parse() scans the
 * usual 2xx answer without one, to the same result): for the tests and the
 * differential fuzz target.
 */
int tw_response_parse_tree(long http, const char *body, size_t len,
                           const char *expect, tw_response *out);

/* Free OUT's strings and reset it. */
void tw_response_clear(tw_response *out);

/*
 * The connector error for Twilio error CODE (0 if none) answered with HTTP
 * status HTTP; *RETRYABLE says whether trying later may help.
 */
tw_err tw_response_map(int code, long http, int *retryable);

#endif /* TW_RESPONSE_H */

/* test_response.c - Twilio response parsing and error mapping
 * (plugin/response.c). */
#include <string.h>

#include "tap.h"
#include "tw_response.h"

static tw_response r;

static void parse(long http, const char *body)
{
	tw_response_clear(&r);
	tw_response_parse(http, body, strlen(body), "SM", &r);
}

static void code(int c, long http, tw_err want)
{
	char body[200];

	snprintf(body, sizeof(body),
	         "{\"code\": %d, \"message\": \"m%d\", \"more_info\": "
	         "\"https://www.twilio.com/docs/errors/%d\", \"status\": %ld}",
	         c, c, c, http);
	parse(http, body);
	is_str(tw_err_name(want), tw_err_name(r.err), "code %d", c);
	is_int(c, r.code, "code %d kept", c);
}

int main(void)
{
	char *big;

	parse(201, "{\"sid\": \"SM0123456789abcdef0123456789abcdef\", "
	           "\"status\": \"queued\", \"num_segments\": \"2\", "
	           "\"error_code\": null}");
	is_int(TW_OK, r.err, "201 parsed");
	is_str("SM0123456789abcdef0123456789abcdef", r.sid, "sid");
	is_str("queued", r.status, "status");
	is_int(2, r.segments, "num_segments from a string");

	parse(201, "{\"sid\": \"SM0123\", \"status\": \"queued\"}");
	is_int(TW_OUTCOME_UNKNOWN, r.err, "bad sid: outcome unknown");
	parse(201, "{\"sid\": \"SM0123456789abcdef01234567");
	is_int(TW_OUTCOME_UNKNOWN, r.err, "truncated: outcome unknown");
	parse(201, "<html><body>Created</body></html>");
	is_int(TW_OUTCOME_UNKNOWN, r.err, "HTML: outcome unknown");
	ok(r.message && strstr(r.message, "do not resend"), "says so: %s",
	   r.message);
	parse(201, "[1,2]");
	is_int(TW_OUTCOME_UNKNOWN, r.err, "array: outcome unknown");

	code(21211, 400, TW_INVALID_TO);
	is_str("https://www.twilio.com/docs/errors/21211", r.more_info,
	       "more_info");
	is_str("m21211", r.message, "message");
	code(21212, 400, TW_INVALID_FROM);
	code(21606, 400, TW_INVALID_FROM);
	code(20003, 401, TW_AUTHENTICATION);
	code(21610, 400, TW_OPTED_OUT);
	code(21611, 400, TW_SENDER_QUEUE_FULL);
	code(21408, 400, TW_PERMISSION_DENIED);
	code(21608, 400, TW_PERMISSION_DENIED);
	code(21612, 400, TW_INVALID_TO);
	code(21614, 400, TW_INVALID_TO);
	code(21617, 400, TW_INVALID_INPUT);
	code(20429, 429, TW_RATE_LIMITED);
	ok(r.retryable, "rate limit retryable");
	code(99999, 400, TW_UNKNOWN);

	parse(500, "Internal Server Error");
	is_int(TW_OUTCOME_UNKNOWN, r.err, "500: outcome unknown");
	ok(!r.retryable, "500 not retryable");
	parse(503, "");
	is_int(TW_CONNECTION, r.err, "503: connection error");
	parse(401, "");
	is_int(TW_AUTHENTICATION, r.err, "401 without body");

	big = malloc(TW_RESPONSE_MAX + 10);
	memset(big, ' ', TW_RESPONSE_MAX + 9);
	big[TW_RESPONSE_MAX + 9] = 0;
	big[0] = '{';
	big[TW_RESPONSE_MAX + 8] = '}';
	parse(201, big);
	is_int(TW_OUTCOME_UNKNOWN, r.err, "oversized body refused");
	free(big);

	tw_response_clear(&r);
	{
		const char *acc =
		        "{\"sid\":\"AC00000000000000000000000000000000\","
		        "\"status\":\"active\"}";

		tw_response_parse(200, acc, strlen(acc), "AC", &r);
	}
	is_int(TW_OK, r.err, "account resource");
	is_str("active", r.status, "account status");
	tw_response_clear(&r);
	return done_testing();
}

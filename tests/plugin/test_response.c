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

/* tw_response_parse() (the scanner for plain 2xx answers) and the json-c
 * tree reader must agree on BODY, field by field. */
static void same(long http, const char *body, const char *what)
{
	tw_response a, b;
	int ra = tw_response_parse(http, body, strlen(body), "SM", &a);
	int rb = tw_response_parse_tree(http, body, strlen(body), "SM", &b);

	ok(ra == 0 && rb == 0 && a.err == b.err && a.http == b.http &&
	           !strcmp(a.sid, b.sid) && !strcmp(a.status, b.status) &&
	           a.segments == b.segments && a.code == b.code &&
	           ((!a.message && !b.message) ||
	            (a.message && b.message && !strcmp(a.message, b.message))),
	   "scanner and tree agree: %s (%s %s %d / %s %s %d)", what, a.sid,
	   a.status, a.segments, b.sid, b.status, b.segments);
	tw_response_clear(&a);
	tw_response_clear(&b);
}

/* Twilio's own example answer (the API reference), nested objects and
 * nulls included. */
static const char twilio_example[] =
        "{\n  \"account_sid\": \"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\n"
        "  \"api_version\": \"2010-04-01\",\n"
        "  \"body\": \"Hi there \\\"friend\\\"\\n\\u00e9\",\n"
        "  \"date_created\": \"Thu, 24 Aug 2023 05:01:45 +0000\",\n"
        "  \"date_sent\": null,\n  \"direction\": \"outbound-api\",\n"
        "  \"error_code\": null,\n  \"error_message\": null,\n"
        "  \"from\": \"+14155552345\",\n  \"num_media\": \"0\",\n"
        "  \"num_segments\": \"1\",\n  \"price\": null,\n"
        "  \"price_unit\": null,\n"
        "  \"messaging_service_sid\": "
        "\"MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\n"
        "  \"sid\": \"SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\n"
        "  \"status\": \"queued\",\n"
        "  \"subresource_uris\": {\"media\": "
        "\"/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages/"
        "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Media.json\"},\n"
        "  \"tags\": [1, -2, true, false, [], {}],\n"
        "  \"to\": \"+14155552345\",\n"
        "  \"uri\": \"/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"
        "Messages/SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json\"\n}\n";

int main(void)
{
	char *big;

	same(201, twilio_example, "Twilio's example");
	parse(201, twilio_example);
	is_str("SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", r.sid, "example: sid");
	is_int(1, r.segments, "example: segments");
	/* the scanner's refusals: each goes the tree's way, same result */
	same(201,
	     "{\"sid\":\"SM0123456789abcdef0123456789abcdef\","
	     "\"sid\":\"SMffffffffffffffffffffffffffffffff\"}",
	     "a key twice (the tree keeps the last)");
	same(201,
	     "{\"sid\":\"SM0123456789abcdef0123456789abcde\\u0066\","
	     "\"status\":\"sent\"}",
	     "a \\u escape in the sid");
	same(201,
	     "{\"sid\":\"SM0123456789abcdef0123456789abcdef\","
	     "\"num_segments\":2.0,\"status\":\"q\\u0075eued\"}",
	     "a fraction, an escaped status");
	same(201,
	     "{\"sid\":\"SM0123456789abcdef0123456789abcdef\","
	     "\"num_segments\":7, \"status\": 3}",
	     "a number for num_segments, a status that is not a string");
	same(201,
	     "{\"sid\":\"SM0123456789abcdef0123456789abcdef\","
	     "\"a\":[[[[[[[[[[1]]]]]]]]]]}",
	     "deeper than the scanner goes");
	same(201, "{'sid':'SM0123456789abcdef0123456789abcdef'}",
	     "single quotes (json-c's leniency)");
	same(201, "{\"sid\":\"SM0123456789abcdef0123456789abcdef\",}",
	     "a trailing comma");
	same(201, "  {\"sid\":\"SM0123456789abcdef0123456789abcdef\"}\f",
	     "a form feed after the object");

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
	/* any 5xx: the message may exist, whatever the body says (a 503
	 * used to read as "nothing was sent" and was retried) */
	parse(503, "");
	is_int(TW_OUTCOME_UNKNOWN, r.err,
	       "503 without a body: outcome unknown");
	ok(!r.retryable, "503 not retryable");
	ok(r.message && strstr(r.message, "may have been created") &&
	           strstr(r.message, "do not resend it blindly"),
	   "503 says the message may exist: %s", r.message);
	parse(503, "{\"code\": 20503, \"message\": \"Service Unavailable\", "
	           "\"status\": 503}");
	is_int(TW_OUTCOME_UNKNOWN, r.err, "503 with Twilio's body: unknown");
	ok(!r.retryable, "503 with a body not retryable");
	ok(r.message && strstr(r.message, "HTTP 503") &&
	           strstr(r.message, "Service Unavailable") &&
	           strstr(r.message, "may have been created"),
	   "503 keeps Twilio's words and says the message may exist: %s",
	   r.message);
	parse(500, "{\"code\": 21211, \"message\": \"The 'To' number is not "
	           "valid\", \"status\": 500}");
	is_int(TW_OUTCOME_UNKNOWN, r.err,
	       "500 carrying a known code: still outcome unknown");
	is_int(21211, r.code, "500: the code is kept");
	ok(!r.retryable, "500 with a code not retryable");
	parse(502, "<html>Bad Gateway</html>");
	is_int(TW_OUTCOME_UNKNOWN, r.err, "502 HTML: outcome unknown");
	{
		int retry = 1;

		is_int(TW_OUTCOME_UNKNOWN, tw_response_map(21212, 503, &retry),
		       "map: 503 with 21212");
		is_int(0, retry, "map: 503 not retryable");
		is_int(TW_AUTHENTICATION, tw_response_map(20005, 401, &retry),
		       "map: 20005 (account not active)");
	}
	parse(500, "Internal Server Error");
	ok(r.message && strstr(r.message, "may have been created"),
	   "500 says the message may exist: %s", r.message);
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

/* test_errors.c - error names and entries (plugin/errors.c). */
#include "tap.h"
#include "tw_errors.h"

int main(void)
{
	json_object *e, *d, *v;
	int i;

	is_str("INVALID_TO_PHONE_NUMBER_ERROR", tw_err_name(TW_INVALID_TO),
	       "name");
	is_str("TWILIO_OUTCOME_UNKNOWN", tw_err_name(TW_OUTCOME_UNKNOWN),
	       "outcome unknown");
	ok(!tw_err_retryable(TW_OUTCOME_UNKNOWN), "unknown not retryable");
	ok(tw_err_retryable(TW_RATE_LIMITED), "rate limited retryable");
	e = tw_err_entry(TW_INVALID_TO, 2, "smsTo", "+1555", 21211, 400, "bad",
	                 "https://www.twilio.com/docs/errors/21211", 0);
	is_str("{\"error\":\"INVALID_TO_PHONE_NUMBER_ERROR\",\"index\":2,"
	       "\"field\":\"smsTo\",\"to\":\"+1555\",\"code\":21211,"
	       "\"httpStatus\":400,\"message\":\"bad\",\"moreInfo\":"
	       "\"https:\\/\\/www.twilio.com\\/docs\\/errors\\/21211\","
	       "\"retryable\":false}",
	       json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN),
	       "entry shape");
	json_object_put(e);
	e = tw_err_entry(TW_MISSING_INPUT, -1, "smsFrom", NULL, 0, 0, "m", NULL,
	                 0);
	ok(json_object_object_get_ex(e, "index", &v) && v == NULL,
	   "index null");
	ok(json_object_object_get_ex(e, "code", &v) && v == NULL, "code null");
	json_object_put(e);
	d = tw_err_describe();
	for (i = 1; i < TW_ERR_COUNT; i++)
		ok(json_object_object_get_ex(d, tw_err_name((tw_err)i), NULL),
		   "describe lists %s", tw_err_name((tw_err)i));
	json_object_put(d);
	return done_testing();
}

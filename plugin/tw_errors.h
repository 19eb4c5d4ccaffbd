/*
 * tw_errors.h - the error names of the Twilio connector (DESIGN §5).
 *
 * One enum for every error a send_sms output can carry, its stable name
 * (what a process model matches on), its meaning (listed by describe()) and
 * whether retrying the same recipient later can help.
 */
#ifndef TW_ERRORS_H
#define TW_ERRORS_H

#include <json-c/json.h>

typedef enum tw_err {
	TW_OK = 0,
	TW_MISSING_INPUT,
	TW_INVALID_INPUT,
	TW_TEMPLATE_SYNTAX_ERROR,
	TW_TEMPLATE_METADATA_ERROR,
	TW_INVALID_TO,
	TW_INVALID_FROM,
	TW_AUTHENTICATION,
	TW_PERMISSION_DENIED,
	TW_CONNECTION,
	TW_UNKNOWN,
	TW_OUTCOME_UNKNOWN,
	TW_OPTED_OUT,
	TW_RATE_LIMITED,
	TW_SENDER_QUEUE_FULL,
	TW_QUEUE_FULL,
	TW_DEADLINE_EXCEEDED,
	TW_CANCELLED,
	TW_ERR_COUNT
} tw_err;

/* The stable name, e.g. "INVALID_TO_PHONE_NUMBER_ERROR"; static storage;
 * "OK" for TW_OK, "UNKNOWN_ERROR" for an out-of-range value. */
const char *tw_err_name(tw_err e);

/* One sentence for a modeller (describe()); static storage. */
const char *tw_err_meaning(tw_err e);

/* Whether trying the same recipient again later may succeed. */
int tw_err_retryable(tw_err e);

/*
 * Build one twilioError entry:
 *   {"error","index","field","to","code","httpStatus","message","moreInfo",
 *    "retryable"}
 * INDEX < 0, CODE <= 0, HTTP <= 0 and NULL strings become JSON null.
 * Ownership: every string is copied; the caller owns the returned object.
 * Returns NULL only when out of memory.
 */
json_object *tw_err_entry(tw_err e, int index, const char *field,
                          const char *to, int code, int http,
                          const char *message, const char *more_info,
                          int retryable);

/* The "errors" object of describe(): {NAME: meaning}; caller owns it. */
json_object *tw_err_describe(void);

#endif /* TW_ERRORS_H */

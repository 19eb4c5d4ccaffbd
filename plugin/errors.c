/*
 * errors.c - error names, their meanings and the twilioError entry shape.
 *
 * The names follow the original product's, plus the ones it lacked
 * (TWILIO_OUTCOME_UNKNOWN, RECIPIENT_OPTED_OUT, ...). They are data in the
 * action's outputs, so they never change once released.
 */
#include "tw_errors.h"

static const struct {
	const char *name;
	const char *meaning;
	int retryable;
} tw_errs[TW_ERR_COUNT] = {
        [TW_OK] = {"OK", "no error", 0},
        [TW_MISSING_INPUT] = {"MISSING_INPUT",
                              "a required input (smsFrom, smsTo or smsBody) "
                              "is missing or empty; nothing was sent",
                              0},
        [TW_INVALID_INPUT] = {"INVALID_INPUT",
                              "an input has the wrong type or an invalid "
                              "value (the field and the reason are in the "
                              "message); nothing was sent for it",
                              0},
        [TW_TEMPLATE_SYNTAX_ERROR] = {"TEMPLATE_SYNTAX_ERROR",
                                      "smsBody is not a valid FreeMarker "
                                      "template (line and column in the "
                                      "message); nothing was sent",
                                      0},
        [TW_TEMPLATE_METADATA_ERROR] = {"TEMPLATE_METADATA_ERROR",
                                        "rendering smsBody failed: a variable "
                                        "is missing or has the wrong type "
                                        "(process variables overlaid by "
                                        "metadata); nothing was sent",
                                        0},
        [TW_INVALID_TO] = {"INVALID_TO_PHONE_NUMBER_ERROR",
                           "this smsTo entry is not a number Twilio can send "
                           "to (no country code, not E.164, not mobile, "
                           "unreachable; Twilio 21211, 21612, 21614)",
                           0},
        [TW_INVALID_FROM] = {"INVALID_FROM_PHONE_NUMBER_ERROR",
                             "smsFrom is not a valid sender for this account "
                             "(Twilio 21212, 21606, 21659, 21660, 2170x); "
                             "the rest of the call is not sent",
                             0},
        [TW_AUTHENTICATION] = {"AUTHENTICATION_CONNECTION_ERROR",
                               "Twilio refused the credentials (20003, HTTP "
                               "401), does not know the account (HTTP 404) or "
                               "the account is not active (20005): check "
                               "TWILIO_ACCOUNT, TWILIO_TOKEN or the API key "
                               "and its region; the rest of the call is not "
                               "sent",
                               0},
        [TW_PERMISSION_DENIED] = {"PERMISSION_DENIED_ERROR",
                                  "the account may not send there (geographic "
                                  "permission 21408, trial account and "
                                  "unverified number 21608, test credentials "
                                  "20008)",
                                  0},
        [TW_CONNECTION] = {"TWILIO_CONNECTION_ERROR",
                           "Twilio could not be reached and the request "
                           "certainly did not arrive (DNS, connection refused, "
                           "TLS handshake); safe to retry",
                           1},
        [TW_UNKNOWN] = {"UNKNOWN_ERROR",
                        "Twilio refused the message with an error code the "
                        "connector does not know; see code and message",
                        0},
        [TW_OUTCOME_UNKNOWN] = {"TWILIO_OUTCOME_UNKNOWN",
                                "the request reached Twilio but no usable "
                                "answer came back (connection lost, timeout, "
                                "malformed response, HTTP 5xx): the message "
                                "may have been sent, do not resend blindly",
                                0},
        [TW_OPTED_OUT] = {"RECIPIENT_OPTED_OUT",
                          "the recipient replied STOP to this sender (21610); "
                          "never retry until they reply START",
                          0},
        [TW_RATE_LIMITED] = {"RATE_LIMITED",
                             "Twilio answered 429 (too many requests) until "
                             "the retries or the deadline ran out; the message "
                             "was not sent, retry later",
                             1},
        [TW_SENDER_QUEUE_FULL] = {"SENDER_QUEUE_FULL",
                                  "Twilio's queue for this sender is full "
                                  "(21611); not sent, retry later or add "
                                  "senders",
                                  1},
        [TW_QUEUE_FULL] = {"QUEUE_FULL",
                           "the connector instance's own queue "
                           "(TWILIO_QUEUE_CAPACITY) or the host's idempotency "
                           "store was full; nothing was sent",
                           1},
        [TW_DEADLINE_EXCEEDED] = {"DEADLINE_EXCEEDED",
                                  "the call's deadline passed before this "
                                  "recipient was done; the message says "
                                  "whether a request had already gone out",
                                  1},
        [TW_CANCELLED] = {"CANCELLED",
                          "the call was cancelled, or the instance shut "
                          "down, before this recipient was done; the "
                          "message says whether a request had already gone "
                          "out (then the message may exist: not retryable)",
                          1},
};

const char *tw_err_name(tw_err e)
{
	if ((unsigned)e >= TW_ERR_COUNT)
		return "UNKNOWN_ERROR";
	return tw_errs[e].name;
}

const char *tw_err_meaning(tw_err e)
{
	if ((unsigned)e >= TW_ERR_COUNT)
		return tw_errs[TW_UNKNOWN].meaning;
	return tw_errs[e].meaning;
}

int tw_err_retryable(tw_err e)
{
	if ((unsigned)e >= TW_ERR_COUNT)
		return 0;
	return tw_errs[e].retryable;
}

static int add_str(json_object *o, const char *k, const char *v)
{
	json_object *s = v ? json_object_new_string(v) : NULL;

	if (v && !s)
		return -1;
	return json_object_object_add(o, k, s);
}

static int add_int(json_object *o, const char *k, int v, int min)
{
	json_object *i = v >= min ? json_object_new_int(v) : NULL;

	if (v >= min && !i)
		return -1;
	return json_object_object_add(o, k, i);
}

json_object *tw_err_entry(tw_err e, int index, const char *field,
                          const char *to, int code, int http,
                          const char *message, const char *more_info,
                          int retryable)
{
	json_object *o = json_object_new_object();
	int rc = 0;

	if (!o)
		return NULL;
	rc |= add_str(o, "error", tw_err_name(e));
	rc |= add_int(o, "index", index, 0);
	rc |= add_str(o, "field", field);
	rc |= add_str(o, "to", to);
	rc |= add_int(o, "code", code, 1);
	rc |= add_int(o, "httpStatus", http, 1);
	rc |= add_str(o, "message", message);
	rc |= add_str(o, "moreInfo", more_info);
	rc |= json_object_object_add(o, "retryable",
	                             json_object_new_boolean(retryable != 0));
	if (rc) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *tw_err_describe(void)
{
	json_object *o = json_object_new_object();
	int i;

	if (!o)
		return NULL;
	for (i = 1; i < TW_ERR_COUNT; i++)
		json_object_object_add(
		        o, tw_errs[i].name,
		        json_object_new_string(tw_errs[i].meaning));
	return o;
}

/*
 * tw_numbers.h - the number_webhook action: compare or set a Twilio
 * number's SMS webhook (sms_url, sms_method of its IncomingPhoneNumber
 * resource) against TWILIO_WEBHOOK_PUBLIC_URL. What `connector-host
 * twilio-webhook` calls, so that HTTP, TLS and secrets stay in the plugin.
 */
#ifndef TW_NUMBERS_H
#define TW_NUMBERS_H

#include <stddef.h>

#include "connector.h"

/*
 * Inputs: {"number": "+1..." (E.164, required), "set": bool (default
 * false)}. GETs IncomingPhoneNumbers.json?PhoneNumber=NUMBER through the
 * instance's sender (its event thread: the host thread never touches the
 * network); with set and a difference, POSTs SmsUrl=PUBLIC_URL and
 * SmsMethod=POST to IncomingPhoneNumbers/PN....json in the same job.
 * Outputs: {number, sid, smsUrl, smsMethod, smsApplicationSid,
 * expectedUrl, matches, updated} on success; {number, expectedUrl, error,
 * message[, httpStatus]} when it could not tell (error names as
 * tw_errors.h, plus NOT_FOUND: no such number on the account). An input
 * error completes inline. A set sms_application_sid overrides sms_url at
 * Twilio: the caller warns about it (matches says only whether sms_url
 * and sms_method are as expected).
 * Threads: a host thread, inside invoke_action. Returns 0 (complete()
 * follows, or already happened), or CONN_ENOMEM with ERR filled.
 */
int tw_number_webhook(conn_instance *inst, const conn_call *call, char *err,
                      size_t errlen);

/* The action's describe() entry, for twilio.c's table:
 *   {"number_webhook", TW_NUMBER_WEBHOOK_JSON, tw_number_webhook} */
/* clang-format off */
#define TW_NUMBER_WEBHOOK_JSON \
	"{\"description\":\"Compare or set the SMS webhook (sms_url, " \
	"sms_method) of a Twilio number against TWILIO_WEBHOOK_PUBLIC_URL " \
	"and POST (used by connector-host twilio-webhook).\"," \
	"\"inputs\":{" \
	"\"number\":{\"type\":\"string\",\"required\":true,\"description\":" \
	"\"The Twilio number, E.164 (+14155550100).\"}," \
	"\"set\":{\"type\":\"boolean\",\"required\":false,\"description\":" \
	"\"true: write sms_url and sms_method when they differ.\"}}," \
	"\"outputs\":{" \
	"\"number\":{\"type\":\"string\",\"required\":false,\"description\":" \
	"\"The number asked about.\"}," \
	"\"sid\":{\"type\":\"string\",\"required\":false,\"description\":" \
	"\"The number's PN sid.\"}," \
	"\"smsUrl\":{\"type\":\"string\",\"required\":false,\"description\":" \
	"\"Its sms_url (after a set: the new one).\"}," \
	"\"smsMethod\":{\"type\":\"string\",\"required\":false,\"description\":" \
	"\"Its sms_method.\"}," \
	"\"smsApplicationSid\":{\"type\":\"string\",\"required\":false," \
	"\"description\":\"Its sms_application_sid, or null; when set it " \
	"overrides sms_url.\"}," \
	"\"expectedUrl\":{\"type\":\"string\",\"required\":false," \
	"\"description\":\"TWILIO_WEBHOOK_PUBLIC_URL.\"}," \
	"\"matches\":{\"type\":\"boolean\",\"required\":false,\"description\":" \
	"\"sms_url is the public URL and sms_method POST.\"}," \
	"\"updated\":{\"type\":\"boolean\",\"required\":false,\"description\":" \
	"\"This call changed the number.\"}," \
	"\"error\":{\"type\":\"string\",\"required\":false,\"description\":" \
	"\"An error name (NOT_FOUND, AUTHENTICATION, INVALID_INPUT, ...).\"}," \
	"\"message\":{\"type\":\"string\",\"required\":false," \
	"\"description\":\"What went wrong and how to fix it.\"}}}"
/* clang-format on */

#endif /* TW_NUMBERS_H */

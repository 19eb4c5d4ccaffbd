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

#endif /* TW_NUMBERS_H */

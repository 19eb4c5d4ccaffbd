/*
 * response.c - Twilio response parsing and error mapping.
 *
 * Bodies come from the network: size-limited, parsed with a depth limit,
 * every field type-checked, strings copied with a length cap.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_response.h"

#define TW_MESSAGE_MAX 1024 /* longest error message kept */
#define TW_DEPTH_MAX   16

tw_err tw_response_map(int code, long http, int *retryable)
{
	tw_err e;

	switch (code) {
	case 20003:
	case 20005:
	case 20404: e = TW_AUTHENTICATION; break;
	case 20008:
	case 21408:
	case 21608:
	case 21215: e = TW_PERMISSION_DENIED; break;
	case 20429: e = TW_RATE_LIMITED; break;
	case 21211:
	case 21265:
	case 21266:
	case 21612:
	case 21614:
	case 21407:
	case 21421: e = TW_INVALID_TO; break;
	case 21212:
	case 21601:
	case 21603:
	case 21606:
	case 21659:
	case 21660:
	case 21661:
	case 21701:
	case 21702:
	case 21703:
	case 21704:
	case 21705: e = TW_INVALID_FROM; break;
	case 21610: e = TW_OPTED_OUT; break;
	case 21611: e = TW_SENDER_QUEUE_FULL; break;
	case 21602:
	case 21604:
	case 21605:
	case 21609:
	case 21617:
	case 21618:
	case 21619:
	case 21620:
	case 21623:
	case 21624:
	case 11200: e = TW_INVALID_INPUT; break;
	default:
		if (http == 401)
			e = TW_AUTHENTICATION;
		else if (http == 403)
			e = TW_PERMISSION_DENIED;
		else if (http == 429)
			e = TW_RATE_LIMITED;
		else if (http == 503)
			e = TW_CONNECTION;
		else if (http >= 500)
			e = TW_OUTCOME_UNKNOWN;
		else
			e = TW_UNKNOWN;
	}
	*retryable = tw_err_retryable(e);
	return e;
}

/* Copy a JSON string field of at most MAX bytes; NULL when absent. */
static char *str_field(json_object *o, const char *k, size_t max)
{
	json_object *v;
	size_t n;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	n = (size_t)json_object_get_string_len(v);
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)json_object_get_string(v)[n] &
		                 0xC0) == 0x80)
			n--;
	}
	return strndup(json_object_get_string(v), n);
}

static int int_field(json_object *o, const char *k, int *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v))
		return -1;
	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);

		if (n < 0 || n > 1000000)
			return -1;
		*out = (int)n;
		return 0;
	}
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		char *end;
		long n;

		if (!isdigit((unsigned char)*s))
			return -1;
		n = strtol(s, &end, 10);
		if (*end || n > 1000000)
			return -1;
		*out = (int)n;
		return 0;
	}
	return -1;
}

static json_object *parse_json(const char *body, size_t len)
{
	json_tokener *tok;
	json_object *o;

	if (len == 0 || len > TW_RESPONSE_MAX)
		return NULL;
	tok = json_tokener_new_ex(TW_DEPTH_MAX);
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (o && (size_t)json_tokener_get_parse_end(tok) != len) {
		/* trailing bytes: allow only white space */
		size_t i;

		for (i = (size_t)json_tokener_get_parse_end(tok); i < len; i++)
			if (!isspace((unsigned char)body[i])) {
				json_object_put(o);
				o = NULL;
				break;
			}
	}
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static int valid_sid(const char *s, const char *expect)
{
	size_t i;

	if (!s || strlen(s) != 34)
		return 0;
	if (expect && strncmp(s, expect, 2) != 0 &&
	    !(strcmp(expect, "SM") == 0 && strncmp(s, "MM", 2) == 0))
		return 0;
	for (i = 2; i < 34; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int valid_status(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n >= 32)
		return 0;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

static int set_message(tw_response *out, const char *fmt_, ...)
        __attribute__((format(printf, 2, 3)));
static int set_message(tw_response *out, const char *fmt_, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt_);
	rc = vasprintf(&out->message, fmt_, ap);
	va_end(ap);
	if (rc < 0) {
		out->message = NULL;
		return -1;
	}
	return 0;
}

static int parse_success(json_object *o, long http, const char *expect,
                         tw_response *out)
{
	char *sid = str_field(o, "sid", 64);
	char *status = str_field(o, "status", 64);

	if (!valid_sid(sid, expect)) {
		free(sid);
		free(status);
		out->err = TW_OUTCOME_UNKNOWN;
		return set_message(out,
		                   "Twilio answered HTTP %ld without a valid "
		                   "sid; the message may have been created: "
		                   "do not resend blindly",
		                   http);
	}
	snprintf(out->sid, sizeof(out->sid), "%s", sid);
	if (valid_status(status))
		snprintf(out->status, sizeof(out->status), "%s", status);
	else
		snprintf(out->status, sizeof(out->status), "unknown");
	if (int_field(o, "num_segments", &out->segments))
		out->segments = -1;
	free(sid);
	free(status);
	return 0;
}

static int parse_error(json_object *o, long http, tw_response *out)
{
	if (o) {
		if (int_field(o, "code", &out->code))
			out->code = 0;
		out->message = str_field(o, "message", TW_MESSAGE_MAX);
		out->more_info = str_field(o, "more_info", 256);
	}
	out->err = tw_response_map(out->code, http, &out->retryable);
	if (!out->message) {
		if (http >= 500)
			return set_message(
			        out,
			        "Twilio answered HTTP %ld; the message may "
			        "or may not have been created: do not resend "
			        "blindly",
			        http);
		return set_message(out, "Twilio answered HTTP %ld", http);
	}
	return 0;
}

int tw_response_parse(long http, const char *body, size_t len,
                      const char *expect, tw_response *out)
{
	json_object *o;
	int rc;

	memset(out, 0, sizeof(*out));
	out->http = http;
	out->segments = -1;
	o = parse_json(body, len);
	if (http >= 200 && http < 300) {
		if (!o) {
			out->err = TW_OUTCOME_UNKNOWN;
			rc = set_message(
			        out,
			        len > TW_RESPONSE_MAX
			                ? "Twilio answered HTTP %ld with an "
			                  "oversized body; the message was "
			                  "probably created: do not resend"
			                : "Twilio answered HTTP %ld with a "
			                  "body "
			                  "that is not a JSON object; the "
			                  "message was probably created: do "
			                  "not "
			                  "resend",
			        http);
		} else {
			rc = parse_success(o, http, expect, out);
		}
	} else {
		rc = parse_error(o, http, out);
	}
	json_object_put(o);
	if (rc)
		tw_response_clear(out);
	return rc;
}

void tw_response_clear(tw_response *out)
{
	free(out->message);
	free(out->more_info);
	memset(out, 0, sizeof(*out));
	out->segments = -1;
}

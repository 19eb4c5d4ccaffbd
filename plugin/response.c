/*
 * response.c - Twilio response parsing and error mapping.
 *
 * Bodies come from the network: size-limited, parsed with a depth limit,
 * every field type-checked, strings copied with a length cap.
 *
 * Two readers give one result. The json-c tree (tw_response_parse_tree)
 * reads anything; the scanner (fast_success) reads only the plain 2xx
 * answer every successful send gets, at a tenth of the cost (json-c
 * spent about 60,000 instructions per message, a third of the
 * connector's CPU per message; see docs/benchmarks.md). The scanner gives
 * up, and the tree decides, whenever it is not certain to agree; the
 * fuzz target tests/fuzz/fuzz_twilio_response.c checks that the two agree
 * on every input.
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

	/* Any 5xx may come after Twilio created the message (a 503 from a
	 * front end says nothing about what happened behind it), whatever
	 * code its body names: never a definite failure, never retried. */
	if (http >= 500 && http <= 599) {
		*retryable = 0;
		return TW_OUTCOME_UNKNOWN;
	}
	switch (code) {
	case 20003:
	case 20005: /* account not active (suspended or closed) */
	case 10001: /* account is not active */
	case 30002: /* account suspended */
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

/* ------------------------------------------------ fast path for 2xx
 *
 * Parsing a Twilio answer into a json-c tree costs a few dozen
 * allocations; the usual answer to a send is a flat object of plain
 * strings, numbers and literals. fast_success() scans such a body without
 * building a tree and extracts sid, status and num_segments. It only
 * accepts bodies whose result is certain to equal the json-c path's:
 * strict JSON, nesting at most FAST_DEPTH, no \u escapes anywhere, no
 * fractions or exponents, no escapes in the three values, each of the three
 * keys at most once at the top level, plain values for them. Anything else
 * returns 0 and the caller takes the json-c path: same outcome, slower.
 */
#define FAST_DEPTH 8

struct fast_scan {
	const char *p, *end;
};

static void fast_ws(struct fast_scan *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' ||
	                         *f->p == '\n' || *f->p == '\r'))
		f->p++;
}

/* Bytes that end a run of plain string bytes: the quote, the backslash and
 * the control characters JSON forbids in a string. */
static const unsigned char fast_stop[256] = {
        [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1,
        [0x06] = 1, [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1,
        [0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1,
        [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
        [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1,
        [0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1,
};

/* A string at f->p (the opening quote): its raw bytes in *S and *N, *ESC set
 * when it holds an escape. 0, or -1 when it is not a plain JSON string. */
static int fast_string(struct fast_scan *f, const char **s, size_t *n, int *esc)
{
	const char *p = f->p + 1;

	*esc = 0;
	*s = p;
	for (;;) {
		while (p < f->end && !fast_stop[(unsigned char)*p])
			p++;
		if (p >= f->end || (unsigned char)*p < 0x20)
			return -1;
		if (*p == '"') {
			*n = (size_t)(p - *s);
			f->p = p + 1;
			return 0;
		}
		/* a backslash: only the one-letter escapes (\u goes the slow
		 * way) */
		*esc = 1;
		if (++p >= f->end || !strchr("\"\\/bfnrt", *p) || *p == '\0')
			return -1;
		p++;
	}
}

/* An integer (no sign, fraction or exponent): 0, or -1. */
static int fast_number(struct fast_scan *f, const char **s, size_t *n)
{
	const char *p = f->p;

	*s = p;
	if (p < f->end && *p == '-')
		p++;
	if (p >= f->end || !isdigit((unsigned char)*p))
		return -1;
	if (*p == '0' && p + 1 < f->end && isdigit((unsigned char)p[1]))
		return -1;
	while (p < f->end && isdigit((unsigned char)*p))
		p++;
	if (p < f->end && (*p == '.' || *p == 'e' || *p == 'E'))
		return -1;
	*n = (size_t)(p - *s);
	if (*n > 18)
		return -1;
	f->p = p;
	return 0;
}

static int fast_literal(struct fast_scan *f, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(f->end - f->p) < n || memcmp(f->p, lit, n) != 0)
		return -1;
	f->p += n;
	return 0;
}

/* Skip one value at f->p; DEPTH: nesting of the value's container. */
static int fast_skip(struct fast_scan *f, int depth)
{
	const char *s;
	size_t n;
	int esc;
	char close;

	if (f->p >= f->end)
		return -1;
	switch (*f->p) {
	case '"': return fast_string(f, &s, &n, &esc);
	case 't': return fast_literal(f, "true");
	case 'f': return fast_literal(f, "false");
	case 'n': return fast_literal(f, "null");
	case '{':
	case '[': break;
	default: return fast_number(f, &s, &n);
	}
	if (depth + 1 > FAST_DEPTH)
		return -1;
	close = *f->p == '{' ? '}' : ']';
	f->p++;
	fast_ws(f);
	if (f->p < f->end && *f->p == close) {
		f->p++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (f->p >= f->end || *f->p != '"' ||
			    fast_string(f, &s, &n, &esc))
				return -1;
			fast_ws(f);
			if (f->p >= f->end || *f->p != ':')
				return -1;
			f->p++;
			fast_ws(f);
		}
		if (fast_skip(f, depth + 1))
			return -1;
		fast_ws(f);
		if (f->p >= f->end)
			return -1;
		if (*f->p == close) {
			f->p++;
			return 0;
		}
		if (*f->p != ',')
			return -1;
		f->p++;
		fast_ws(f);
	}
}

/* A plain string value of at most MAX bytes into BUF (MAX + 1 bytes);
 * 1 copied, 0 not a string (BUF empty), -1 go the slow way. */
static int fast_value_str(struct fast_scan *f, char *buf, size_t max)
{
	const char *s;
	size_t n;
	int esc;

	buf[0] = '\0';
	if (f->p < f->end && *f->p == '"') {
		if (fast_string(f, &s, &n, &esc) || esc || n > max)
			return -1;
		memcpy(buf, s, n);
		buf[n] = '\0';
		return 1;
	}
	return fast_skip(f, 1) ? -1 : 0;
}

/* num_segments as int_field() reads it: 0 with *OUT set or -1 for
 * "absent or unusable", -2 go the slow way. */
static int fast_value_segments(struct fast_scan *f, int *out)
{
	const char *s;
	size_t n, i;
	int esc;
	long v = 0;

	*out = -1;
	if (f->p >= f->end)
		return -2;
	if (*f->p == '"') {
		if (fast_string(f, &s, &n, &esc) || esc)
			return -2;
	} else if (*f->p == '-' || isdigit((unsigned char)*f->p)) {
		if (fast_number(f, &s, &n))
			return -2;
	} else {
		return fast_skip(f, 1) ? -2 : 0;
	}
	if (n < 1 || n > 7)
		return -2;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -2;
		v = v * 10 + (s[i] - '0');
	}
	if (v <= 1000000)
		*out = (int)v;
	return 0;
}

/* 1: OUT filled exactly as parse_json() + parse_success() would; 0: take
 * the json-c path. OUT is untouched when 0. */
static int fast_success(const char *body, size_t len, const char *expect,
                        tw_response *out)
{
	struct fast_scan f = {body, body + len};
	char sid[65], status[65];
	int have_sid = 0, have_status = 0, have_seg = 0, seg = -1;

	status[0] = '\0';
	fast_ws(&f);
	if (f.p >= f.end || *f.p != '{')
		return 0;
	f.p++;
	fast_ws(&f);
	if (f.p < f.end && *f.p == '}') {
		f.p++;
	} else {
		for (;;) {
			const char *k;
			size_t kn;
			int esc;

			if (f.p >= f.end || *f.p != '"' ||
			    fast_string(&f, &k, &kn, &esc))
				return 0;
			fast_ws(&f);
			if (f.p >= f.end || *f.p != ':')
				return 0;
			f.p++;
			fast_ws(&f);
			if (!esc && kn == 3 && memcmp(k, "sid", 3) == 0) {
				if (have_sid++ ||
				    fast_value_str(&f, sid, 64) != 1)
					return 0;
			} else if (!esc && kn == 6 &&
			           memcmp(k, "status", 6) == 0) {
				if (have_status++ ||
				    fast_value_str(&f, status, 64) < 0)
					return 0;
			} else if (!esc && kn == 12 &&
			           memcmp(k, "num_segments", 12) == 0) {
				if (have_seg++ ||
				    fast_value_segments(&f, &seg) < -1)
					return 0;
			} else if (fast_skip(&f, 1)) {
				return 0;
			}
			fast_ws(&f);
			if (f.p >= f.end)
				return 0;
			if (*f.p == '}') {
				f.p++;
				break;
			}
			if (*f.p != ',')
				return 0;
			f.p++;
			fast_ws(&f);
		}
	}
	fast_ws(&f);
	if (f.p != f.end || !have_sid || !valid_sid(sid, expect))
		return 0;
	/* valid_sid: 34 bytes; valid_status: shorter than out->status */
	memcpy(out->sid, sid, 35);
	if (valid_status(status))
		memcpy(out->status, status, strlen(status) + 1);
	else
		memcpy(out->status, "unknown", sizeof("unknown"));
	out->segments = seg;
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
	if (out->err == TW_OUTCOME_UNKNOWN) {
		/* Twilio's own text ("Service Unavailable") would read as
		 * "nothing happened": say what the status means */
		char *twilio = out->message;
		int rc;

		out->message = NULL;
		if (twilio && out->code > 0)
			rc = set_message(
			        out,
			        "Twilio answered HTTP %ld (%d: %s); the "
			        "message may have been created: do not "
			        "resend it blindly, look it up in "
			        "Twilio's Messages log first",
			        http, out->code, twilio);
		else
			rc = set_message(
			        out,
			        "Twilio answered HTTP %ld; the message "
			        "may have been created: do not resend "
			        "it blindly, look it up in Twilio's "
			        "Messages log first",
			        http);
		free(twilio);
		return rc;
	}
	if (!out->message)
		return set_message(out, "Twilio answered HTTP %ld", http);
	return 0;
}

int tw_response_parse_tree(long http, const char *body, size_t len,
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

int tw_response_parse(long http, const char *body, size_t len,
                      const char *expect, tw_response *out)
{
	memset(out, 0, sizeof(*out));
	out->http = http;
	out->segments = -1;
	if (http >= 200 && http < 300 && len > 0 && len <= TW_RESPONSE_MAX &&
	    fast_success(body, len, expect, out))
		return 0;
	return tw_response_parse_tree(http, body, len, expect, out);
}

void tw_response_clear(tw_response *out)
{
	free(out->message);
	free(out->more_info);
	memset(out, 0, sizeof(*out));
	out->segments = -1;
}

/*
 * api.c - Twilio's Messages API as twilio-sandbox serves it: routing, Basic
 * auth, the validation rules and magic test numbers of CONTRACT.md, the
 * message, list and account JSON of the OpenAPI spec, Twilio's error
 * bodies, and a bounded in-memory store of recent messages for GET.
 *
 * Owns the configuration (copied pointers to main's strings) and the store.
 * Thread-safe: the store is a ring under one mutex held only to swap a
 * pointer or copy a page; everything else is per request.
 */
#include "sandbox.h"
#include "segments.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define API_PREFIX   "/2010-04-01/Accounts/"
#define STORE_CAP    8192 /* messages kept for GET; older ones are 404 */
#define MAX_PAGE     1000
#define DEFAULT_PAGE 50
#define SID_MULT     0x9E3779B97F4A7C15ULL /* odd: invertible mod 2^64 */

typedef struct stored {
	uint64_t seq;
	char sid[35];
	char *json;
	size_t len;
} stored;

static struct {
	sb_config cfg;
	uint64_t sid_key;    /* per-process: message SIDs look random */
	char sid_prefix[17]; /* first 16 hex digits of every message SID */
	uint64_t mult_inv;
	atomic_ulong next_seq; /* the next message's sequence number */
	long long started;
	pthread_mutex_t lock;
	stored *ring;
} api;

static uint64_t random64(void)
{
	uint64_t v = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, &v, sizeof v) != (ssize_t)sizeof v)
		v = (uint64_t)time(NULL) * 0x5851F42D4C957F2DULL ^
		    (uint64_t)getpid();
	if (fd >= 0)
		close(fd);
	return v;
}

int sb_api_init(const sb_config *cfg)
{
	uint64_t inv = SID_MULT;
	int i;

	api.cfg = *cfg;
	api.sid_key = random64();
	snprintf(api.sid_prefix, sizeof api.sid_prefix, "%016llx",
	         (unsigned long long)random64());
	for (i = 0; i < 6; i++) /* Newton: inverse of an odd number */
		inv *= 2 - SID_MULT * inv;
	api.mult_inv = inv;
	atomic_init(&api.next_seq, 1);
	api.started = (long long)time(NULL);
	api.ring = calloc(STORE_CAP, sizeof *api.ring);
	if (!api.ring)
		return -1;
	pthread_mutex_init(&api.lock, NULL);
	return 0;
}

void sb_api_fini(void)
{
	size_t i;

	if (!api.ring)
		return;
	for (i = 0; i < STORE_CAP; i++)
		free(api.ring[i].json);
	free(api.ring);
	api.ring = NULL;
	pthread_mutex_destroy(&api.lock);
}

void sb_reply_free(sb_reply *r)
{
	free(r->body);
	free(r->record);
	memset(r, 0, sizeof *r);
}

/* The current time as RFC 2822, cached per thread and second. */
static const char *now_rfc2822(void)
{
	static __thread long long last = -1;
	static __thread char text[40];
	long long t = (long long)time(NULL);

	if (t != last) {
		sb_rfc2822(t, text);
		last = t;
	}
	return text;
}

static bool is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* "XX" + 32 hex digits */
static bool is_sid(const char *s, size_t n, const char *prefix)
{
	return n == 34 && s[0] == prefix[0] && s[1] == prefix[1] &&
	       is_hex(s + 2, 32);
}

static bool has_suffix(const char *s, size_t n, const char *suf, size_t *base)
{
	size_t sl = strlen(suf);

	if (n < sl || memcmp(s + n - sl, suf, sl) != 0)
		return false;
	*base = n - sl;
	return true;
}

sb_route sb_api_route(const char *url, const char **account,
                      size_t *account_len, const char **msg_sid,
                      size_t *msg_sid_len)
{
	size_t pl = sizeof API_PREFIX - 1, n, base;
	const char *rest, *slash;

	if (strncmp(url, API_PREFIX, pl) != 0)
		return SB_R_NOT_FOUND;
	rest = url + pl;
	n = strlen(rest);
	slash = memchr(rest, '/', n);
	if (!slash) {
		if (!has_suffix(rest, n, ".json", &base) || base == 0)
			return SB_R_NOT_FOUND;
		*account = rest;
		*account_len = base;
		return SB_R_ACCOUNT;
	}
	*account = rest;
	*account_len = (size_t)(slash - rest);
	if (*account_len == 0)
		return SB_R_NOT_FOUND;
	rest = slash + 1;
	if (strcmp(rest, "Messages.json") == 0)
		return SB_R_MESSAGES;
	if (strncmp(rest, "Messages/", 9) != 0)
		return SB_R_NOT_FOUND;
	rest += 9;
	n = strlen(rest);
	if (!has_suffix(rest, n, ".json", &base) || base == 0 ||
	    memchr(rest, '/', base))
		return SB_R_NOT_FOUND;
	*msg_sid = rest;
	*msg_sid_len = base;
	return SB_R_MESSAGE;
}

/* Whether GIVEN (the client's) is SECRET, in time that does not depend on
 * where they differ; an empty secret never matches. */
static bool secret_ok(const char *given, const char *secret)
{
	return secret[0] != '\0' &&
	       tw_ct_equal(given, strlen(given), secret, strlen(secret));
}

bool sb_api_auth_ok(const char *authorization)
{
	char *dec, *colon;
	size_t len, room;
	bool ok = false;

	if (!authorization || strncasecmp(authorization, "Basic ", 6) != 0)
		return false;
	authorization += 6;
	while (*authorization == ' ')
		authorization++;
	len = strlen(authorization);
	if (len > 1024)
		return false;
	room = len / 4 * 3 + 3; /* what tw_base64_decode() asks for */
	dec = malloc(room);
	if (!dec)
		return false;
	if (tw_base64_decode(authorization, len, (unsigned char *)dec) >= 0 &&
	    (colon = strchr(dec, ':')) != NULL) {
		*colon = '\0';
		if (strcmp(dec, api.cfg.account) == 0)
			ok = secret_ok(colon + 1, api.cfg.token);
		else if (api.cfg.api_key && strcmp(dec, api.cfg.api_key) == 0)
			ok = secret_ok(colon + 1, api.cfg.api_secret);
	}
	/* the decoded secret must not linger in freed memory */
	memset(dec, 0, room);
	free(dec);
	return ok;
}

bool sb_api_account_ok(const char *account, size_t len)
{
	return strlen(api.cfg.account) == len &&
	       memcmp(account, api.cfg.account, len) == 0;
}

int sb_api_error(sb_reply *r, unsigned status, int code, const char *message)
{
	tw_buf b = {0};

	tw_buf_printf(&b, "{\"code\": %d, \"message\": ", code);
	sb_json_str(&b, message);
	tw_buf_printf(
	        &b,
	        ", \"more_info\": \"https://www.twilio.com/docs/errors/%d\", "
	        "\"status\": %u}",
	        code, status);
	r->status = status;
	r->body = tw_buf_take(&b, &r->len);
	return r->body ? 0 : -1;
}

/* An error whose message quotes a value (a number, a path). */
static int error_fmt(sb_reply *r, unsigned status, int code, const char *fmt,
                     const char *value, size_t value_len)
{
	tw_buf m = {0};
	char *msg;
	int rc;

	/* FMT is always one of this file's constant messages with one %.*s */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	tw_buf_printf(&m, fmt, (int)value_len, value);
#pragma GCC diagnostic pop
	msg = tw_buf_take(&m, NULL);
	if (!msg)
		return -1;
	rc = sb_api_error(r, status, code, msg);
	free(msg);
	return rc;
}

/* ---- validation ------------------------------------------------------ */

/* '+' and 7 to 15 digits, the first not 0 */
static bool is_e164(const char *s, size_t n)
{
	size_t i;

	if (n < 8 || n > 16 || s[0] != '+' || s[1] == '0')
		return false;
	for (i = 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* E.164, or a channel address: whatsapp:+E.164, messenger:ID, rcs:ID */
static bool is_address(const char *s, size_t n)
{
	size_t i;

	if (n > 9 && memcmp(s, "whatsapp:", 9) == 0)
		return is_e164(s + 9, n - 9);
	if (n > 10 && memcmp(s, "messenger:", 10) == 0)
		s += 10, n -= 10;
	else if (n > 4 && memcmp(s, "rcs:", 4) == 0)
		s += 4, n -= 4;
	else
		return is_e164(s, n);
	if (n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
		            "YZ"
		            "0123456789_+.-",
		            s[i]) ||
		    s[i] == '\0')
			return false;
	return true;
}

/* An address, a short code (3-8 digits) or an alphanumeric sender ID
 * (1-11 letters, digits and spaces, at least one letter). */
static bool is_sender(const char *s, size_t n)
{
	size_t i, digits = 0, letters = 0;

	if (is_address(s, n))
		return true;
	if (n == 0 || n > 11)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			digits++;
		else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			letters++;
		else if (c != ' ')
			return false;
	}
	if (letters == 0)
		return digits == n && n >= 3 && n <= 8;
	return true;
}

static bool is_http_url(const char *s, size_t n)
{
	return (n > 7 && strncmp(s, "http://", 7) == 0) ||
	       (n > 8 && strncmp(s, "https://", 8) == 0);
}

static bool text_eq(const tw_field *f, const char *s)
{
	return f && strlen(s) == f->value_len &&
	       memcmp(f->value, s, f->value_len) == 0;
}

/* The magic test numbers: 0 when V is none of them. */
static int magic_from(const tw_field *f, const char **msg)
{
	if (text_eq(f, "+15005550001")) {
		*msg = "The 'From' number %.*s is not a valid phone number, "
		       "shortcode, or alphanumeric sender ID.";
		return 21212;
	}
	if (text_eq(f, "+15005550007")) {
		*msg = "The 'From' phone number provided (%.*s) is not yet "
		       "verified or is not a valid message-capable Twilio "
		       "phone number for this account.";
		return 21606;
	}
	if (text_eq(f, "+15005550008")) {
		*msg = "This 'From' number (%.*s) has exceeded the maximum "
		       "number of queued messages.";
		return 21611;
	}
	return 0;
}

static int magic_to(const tw_field *f, const char **msg)
{
	static const struct {
		const char *number;
		int code;
		const char *msg;
	} m[] = {
	        {"+15005550001", 21211,
	         "The 'To' number %.*s is not a valid "
	         "phone number."},
	        {"+15005550002", 21612,
	         "The 'To' phone number: %.*s, is not currently reachable "
	         "using the 'From' phone number via SMS."},
	        {"+15005550003", 21408,
	         "Permission to send an SMS has not been enabled for the "
	         "region indicated by the 'To' number: %.*s."},
	        {"+15005550004", 21610,
	         "Attempt to send to unsubscribed recipient %.*s."},
	        {"+15005550009", 21614,
	         "'To' number %.*s is not a valid "
	         "mobile number."},
	};
	size_t i;

	for (i = 0; i < sizeof m / sizeof m[0]; i++)
		if (text_eq(f, m[i].number)) {
			*msg = m[i].msg;
			return m[i].code;
		}
	return 0;
}

/* Validate the addresses (To, From, MessagingServiceSid) as Twilio does:
 * 0 when valid, else 1 with R filled (-1 on OOM). */
static int validate_addresses(sb_reply *r, const tw_form *form)
{
	const tw_field *to = tw_form_get(form, "To");
	const tw_field *from = tw_form_get(form, "From");
	const tw_field *mg = tw_form_get(form, "MessagingServiceSid");
	const char *msg;
	int code;

	if (!to || to->value_len == 0)
		return sb_api_error(r, 400, 21604,
		                    "A 'To' phone number is required.")
		               ?: 1;
	if ((!from || from->value_len == 0) && (!mg || mg->value_len == 0))
		return sb_api_error(r, 400, 21603,
		                    "A 'From' phone number is required.")
		               ?: 1;
	if (mg && mg->value_len && !is_sid(mg->value, mg->value_len, "MG"))
		return error_fmt(r, 400, 21701,
		                 "The Messaging Service Sid %.*s is invalid.",
		                 mg->value, mg->value_len)
		               ?: 1;
	if (from && from->value_len) {
		if ((code = magic_from(from, &msg)) != 0)
			return error_fmt(r, 400, code, msg, from->value,
			                 from->value_len)
			               ?: 1;
		if (!is_sender(from->value, from->value_len))
			return error_fmt(r, 400, 21212,
			                 "The 'From' number %.*s is not a "
			                 "valid phone number, shortcode, or "
			                 "alphanumeric sender ID.",
			                 from->value, from->value_len)
			               ?: 1;
	}
	if ((code = magic_to(to, &msg)) != 0)
		return error_fmt(r, 400, code, msg, to->value, to->value_len)
		               ?: 1;
	if (!is_address(to->value, to->value_len))
		return error_fmt(r, 400, 21211,
		                 "The 'To' number %.*s is not a valid phone "
		                 "number.",
		                 to->value, to->value_len)
		               ?: 1;
	return 0;
}

/* Validate the content (Body, MediaUrl, ContentSid, StatusCallback):
 * 0 when valid, else 1 with R filled (-1 on OOM). */
static int validate_content(sb_reply *r, const tw_form *form)
{
	const tw_field *body = tw_form_get(form, "Body");
	const tw_field *content = tw_form_get(form, "ContentSid");
	const tw_field *cb = tw_form_get(form, "StatusCallback");
	size_t nmedia = tw_form_count(form, "MediaUrl"), i, units;

	if ((!body || body->value_len == 0) && nmedia == 0 && !content)
		return sb_api_error(r, 400, 21602, "Message body is required.")
		               ?: 1;
	if (content && !is_sid(content->value, content->value_len, "HX"))
		return error_fmt(r, 400, 21655,
		                 "The ContentSid %.*s is invalid.",
		                 content->value, content->value_len)
		               ?: 1;
	if (body) {
		units = tw_utf16_length(body->value, body->value_len);
		if (units == (size_t)-1)
			return sb_api_error(r, 400, 21602,
			                    "Message body is not valid "
			                    "UTF-8.")
			               ?: 1;
		if (units > 1600)
			return sb_api_error(r, 400, 21617,
			                    "The concatenated message body "
			                    "exceeds the 1600 character "
			                    "limit.")
			               ?: 1;
	}
	if (nmedia > SB_MAX_MEDIA)
		return sb_api_error(r, 400, 21623,
		                    "Number of media files exceeds allowed "
		                    "limit (10).")
		               ?: 1;
	for (i = 0; i < form->n; i++) {
		const tw_field *f = &form->fields[i];

		if (strcmp(f->name, "MediaUrl") == 0 &&
		    !is_http_url(f->value, f->value_len))
			return sb_api_error(r, 400, 21620,
			                    "Invalid media URL(s).")
			               ?: 1;
	}
	if (cb && cb->value_len && !is_http_url(cb->value, cb->value_len))
		return sb_api_error(r, 400, 21609,
		                    "The StatusCallback URL is not a valid "
		                    "URL.")
		               ?: 1;
	return 0;
}

/* Validate FORM in Twilio's order: 0 when valid, else 1 with R filled
 * (-1 on OOM). */
static int validate(sb_reply *r, const tw_form *form)
{
	int rc = validate_addresses(r, form);

	return rc ? rc : validate_content(r, form);
}

/* ---- message JSON and store ------------------------------------------ */

static void make_sid(uint64_t seq, char sid[35])
{
	snprintf(sid, 35, "SM%s%016llx", api.sid_prefix,
	         (unsigned long long)(seq * SID_MULT ^ api.sid_key));
}

/* The sequence number SID stands for, 0 when it is not one of ours. */
static uint64_t sid_seq(const char *sid, size_t len)
{
	char low[17];
	uint64_t x;

	if (!is_sid(sid, len, "SM") ||
	    strncasecmp(sid + 2, api.sid_prefix, 16) != 0)
		return 0;
	memcpy(low, sid + 18, 16);
	low[16] = '\0';
	x = strtoull(low, NULL, 16);
	return (x ^ api.sid_key) * api.mult_inv;
}

static void store_put(uint64_t seq, const char *sid, char *json, size_t len)
{
	stored *s = &api.ring[seq % STORE_CAP];
	char *old;

	pthread_mutex_lock(&api.lock);
	/* a slower thread must not overwrite a newer message in the slot */
	if (s->json && s->seq > seq) {
		pthread_mutex_unlock(&api.lock);
		free(json);
		return;
	}
	old = s->json;
	s->seq = seq;
	memcpy(s->sid, sid, 35);
	s->json = json;
	s->len = len;
	pthread_mutex_unlock(&api.lock);
	free(old);
}

static void put_field_or_null(tw_buf *b, const tw_field *f)
{
	if (f && f->value_len)
		sb_json_strn(b, f->value, f->value_len);
	else
		tw_buf_puts(b, "null");
}

/* An accepted message, as both JSON documents need it. */
typedef struct message {
	const tw_field *to, *from, *mg, *body, *cb;
	size_t nmedia, segments;
	const char *status, *date;
	char sid[35];
} message;

/* Twilio's message resource (the OpenAPI fields, Twilio's order). */
static void message_json(tw_buf *b, const message *m)
{
	const char *a = api.cfg.account;

	tw_buf_puts(b, "{\"body\": ");
	sb_json_strn(b, m->body ? m->body->value : "",
	             m->body ? m->body->value_len : 0);
	tw_buf_printf(b,
	              ", \"num_segments\": \"%zu\", \"direction\": "
	              "\"outbound-api\", \"from\": ",
	              m->segments);
	put_field_or_null(b, m->from);
	tw_buf_puts(b, ", \"to\": ");
	sb_json_strn(b, m->to->value, m->to->value_len);
	tw_buf_printf(b,
	              ", \"date_updated\": \"%s\", \"price\": null, "
	              "\"error_message\": null, \"uri\": \"" API_PREFIX
	              "%s/Messages/%s.json\", \"account_sid\": \"%s\", "
	              "\"num_media\": \"%zu\", \"status\": \"%s\", "
	              "\"messaging_service_sid\": ",
	              m->date, a, m->sid, a, m->nmedia, m->status);
	put_field_or_null(b, m->mg);
	/* date_sent stays null: a queued message is not sent yet */
	tw_buf_printf(
	        b,
	        ", \"sid\": \"%s\", \"date_sent\": null, \"date_created\": "
	        "\"%s\", \"error_code\": null, \"price_unit\": \"USD\", "
	        "\"api_version\": \"2010-04-01\", \"subresource_uris\": "
	        "{\"media\": \"" API_PREFIX "%s/Messages/%s/Media.json\"}}",
	        m->sid, m->date, a, m->sid);
}

/* The --record line of M, without its closing brace (http.c appends the
 * connection fields). */
static void record_json(tw_buf *b, const message *m, const tw_form *form)
{
	size_t i, n = 0;

	tw_buf_printf(b,
	              "{\"sid\":\"%s\",\"account_sid\":\"%s\",\"to\":", m->sid,
	              api.cfg.account);
	sb_json_strn(b, m->to->value, m->to->value_len);
	tw_buf_puts(b, ",\"from\":");
	put_field_or_null(b, m->from);
	tw_buf_puts(b, ",\"messaging_service_sid\":");
	put_field_or_null(b, m->mg);
	tw_buf_puts(b, ",\"body\":");
	put_field_or_null(b, m->body);
	tw_buf_puts(b, ",\"media_url\":[");
	for (i = 0; i < form->n; i++) {
		const tw_field *f = &form->fields[i];

		if (strcmp(f->name, "MediaUrl") != 0)
			continue;
		if (n++)
			tw_buf_puts(b, ",");
		sb_json_strn(b, f->value, f->value_len);
	}
	tw_buf_puts(b, "],\"status_callback\":");
	put_field_or_null(b, m->cb);
	tw_buf_printf(b, ",\"num_segments\":%zu,\"status\":\"%s\"", m->segments,
	              m->status);
}

static const tw_field *nonempty(const tw_field *f)
{
	return f && f->value_len ? f : NULL;
}

int sb_api_create(sb_reply *r, const tw_form *form)
{
	message m = {0};
	tw_buf b = {0}, rec = {0};
	tw_segments seg;
	uint64_t seq;
	char *copy;
	int rc;

	if ((rc = validate(r, form)) != 0)
		return rc < 0 ? -1 : 0;
	m.to = tw_form_get(form, "To");
	m.from = nonempty(tw_form_get(form, "From"));
	m.mg = nonempty(tw_form_get(form, "MessagingServiceSid"));
	m.body = tw_form_get(form, "Body");
	m.cb = tw_form_get(form, "StatusCallback");
	m.nmedia = tw_form_count(form, "MediaUrl");
	m.segments = 1; /* an MMS without text is billed as one */
	if (m.body && m.body->value_len &&
	    tw_segments_count(m.body->value, m.body->value_len, &seg) == 0)
		m.segments = seg.segments;
	m.status = m.mg && !m.from ? "accepted" : "queued";
	m.date = now_rfc2822();
	seq = atomic_fetch_add(&api.next_seq, 1);
	make_sid(seq, m.sid);

	message_json(&b, &m);
	record_json(&rec, &m, form);
	r->status = 201;
	r->body = tw_buf_take(&b, &r->len);
	r->record = tw_buf_take(&rec, &r->record_len);
	if (!r->body || !r->record)
		return -1;
	copy = malloc(r->len + 1);
	if (!copy)
		return -1;
	memcpy(copy, r->body, r->len + 1);
	store_put(seq, m.sid, copy, r->len);
	return 0;
}

int sb_api_get_message(sb_reply *r, const char *sid, size_t len)
{
	uint64_t seq = sid_seq(sid, len);
	stored *s;

	if (seq != 0) {
		pthread_mutex_lock(&api.lock);
		s = &api.ring[seq % STORE_CAP];
		if (s->json && s->seq == seq) {
			r->body = malloc(s->len + 1);
			if (r->body) {
				memcpy(r->body, s->json, s->len + 1);
				r->len = s->len;
			}
		}
		pthread_mutex_unlock(&api.lock);
		if (r->body) {
			r->status = 200;
			return 0;
		}
	}
	return 1;
}

int sb_api_not_found(sb_reply *r, const char *url)
{
	return error_fmt(r, 404, 20404,
	                 "The requested resource %.*s was not found", url,
	                 strlen(url));
}

static long parse_query_num(const char *v, long def, long min, long max)
{
	char *end;
	long n;

	if (!v || !*v)
		return def;
	n = strtol(v, &end, 10);
	if (*end || n < min)
		return -1;
	return n > max ? max : n;
}

int sb_api_list(sb_reply *r, const char *page_s, const char *size_s)
{
	long page = parse_query_num(page_s, 0, 0, 1000000L);
	long size = parse_query_num(size_s, DEFAULT_PAGE, 1, MAX_PAGE);
	const char *base = API_PREFIX;
	uint64_t newest, seq, skip;
	long count = 0;
	tw_buf b = {0};

	if (page < 0 || size < 0)
		return sb_api_error(r, 400, 20001,
		                    "Page and PageSize must be "
		                    "non-negative integers (PageSize "
		                    "1-1000).");
	tw_buf_puts(&b, "{\"messages\": [");
	newest = atomic_load(&api.next_seq) - 1;
	skip = (uint64_t)page * (uint64_t)size;
	pthread_mutex_lock(&api.lock);
	for (seq = newest > skip ? newest - skip : 0;
	     seq >= 1 && count < size && newest - seq < STORE_CAP; seq--) {
		stored *s = &api.ring[seq % STORE_CAP];

		if (!s->json || s->seq != seq)
			continue; /* not stored yet, or evicted */
		if (count++)
			tw_buf_puts(&b, ", ");
		tw_buf_append(&b, s->json, s->len);
	}
	pthread_mutex_unlock(&api.lock);
	tw_buf_printf(&b,
	              "], \"end\": %ld, \"first_page_uri\": "
	              "\"%s%s/Messages.json?PageSize=%ld&Page=0\", "
	              "\"next_page_uri\": ",
	              count ? page * size + count - 1 : 0, base,
	              api.cfg.account, size);
	if (count == size && newest > skip + (uint64_t)size)
		tw_buf_printf(&b,
		              "\"%s%s/Messages.json?PageSize=%ld&Page=%ld\"",
		              base, api.cfg.account, size, page + 1);
	else
		tw_buf_puts(&b, "null");
	tw_buf_printf(&b, ", \"page\": %ld, \"page_size\": %ld, ", page, size);
	tw_buf_puts(&b, "\"previous_page_uri\": ");
	if (page > 0)
		tw_buf_printf(&b,
		              "\"%s%s/Messages.json?PageSize=%ld&Page=%ld\"",
		              base, api.cfg.account, size, page - 1);
	else
		tw_buf_puts(&b, "null");
	tw_buf_printf(&b,
	              ", \"start\": %ld, \"uri\": "
	              "\"%s%s/Messages.json?PageSize=%ld&Page=%ld\"}",
	              page * size, base, api.cfg.account, size, page);
	r->status = 200;
	r->body = tw_buf_take(&b, &r->len);
	return r->body ? 0 : -1;
}

int sb_api_account(sb_reply *r)
{
	const char *a = api.cfg.account;
	char created[40];
	tw_buf b = {0};

	sb_rfc2822(api.started, created);
	/* auth_token is null: the sandbox never echoes a secret */
	tw_buf_printf(
	        &b,
	        "{\"auth_token\": null, \"date_created\": \"%s\", "
	        "\"date_updated\": \"%s\", \"friendly_name\": \"Sandbox "
	        "account\", \"owner_account_sid\": \"%s\", \"sid\": \"%s\", "
	        "\"status\": \"active\", \"subresource_uris\": {"
	        "\"messages\": \"" API_PREFIX "%s/Messages.json\", "
	        "\"balance\": \"" API_PREFIX "%s/Balance.json\"}, "
	        "\"type\": \"Full\", \"uri\": \"" API_PREFIX "%s.json\"}",
	        created, created, a, a, a, a, a);
	r->status = 200;
	r->body = tw_buf_take(&b, &r->len);
	return r->body ? 0 : -1;
}

/*
 * numbers.c - the sandbox's IncomingPhoneNumbers resource (the subset of
 * openapi-api-v2010.json's IncomingPhoneNumber that a connector needs to
 * check or set a number's SMS webhook):
 *   GET  /2010-04-01/Accounts/{AC}/IncomingPhoneNumbers.json[?PhoneNumber=]
 *        the list page (paging fields as the spec shows);
 *   POST /2010-04-01/Accounts/{AC}/IncomingPhoneNumbers/{PN}.json
 *        SmsUrl, SmsMethod (GET or POST, as Twilio validates),
 *        SmsFallbackUrl, SmsFallbackMethod, SmsApplicationSid: the resource.
 * Authentication and the account check are http.c's, as for Messages.
 *
 * The numbers: one per magic valid From number (+15005550006) and each
 * --number +1...[:application=AP...] of the command line. A fixed table,
 * made at start (sb_numbers_init) and guarded by one mutex; updates are
 * small and rare (a test or an operator), so contention does not matter.
 */
#define _GNU_SOURCE
#include "config.h"
#include "sandbox.h"
#include "tw_wire.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_NUMBERS 64
#define MAX_URL_LEN 4096 /* Twilio's URLs are at most 4000-odd characters */

typedef struct number {
	char sid[35];
	char phone[20];
	char *sms_url, *sms_fallback_url; /* NULL: null */
	char sms_method[5], sms_fallback_method[5];
	char sms_application_sid[35]; /* "" null */
	long long created, updated;
} number;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static number numbers[MAX_NUMBERS];
static size_t nnumbers;
static char account[35];

static bool e164(const char *s, size_t n)
{
	return n >= 4 && n <= 16 && s[0] == '+' && s[1] >= '1' && s[1] <= '9' &&
	       strspn(s + 1, "0123456789") >= n - 1;
}

static bool is_sid(const char *s, size_t n, const char *prefix)
{
	size_t i;

	if (n != 34 || strncmp(s, prefix, 2) != 0)
		return false;
	for (i = 2; i < 34; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
			return false;
	return true;
}

/* Add one number: SPEC is "+1...[:application=AP...]". */
static int add(const char *spec, char *err, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	size_t plen = colon ? (size_t)(colon - spec) : strlen(spec);
	number *n;
	size_t i;

	if (!e164(spec, plen)) {
		snprintf(err, errlen,
		         "--number '%s': not an E.164 number (+ and 3 to 15 "
		         "digits), optionally :application=AP...",
		         spec);
		return -1;
	}
	for (i = 0; i < nnumbers; i++)
		if (strlen(numbers[i].phone) == plen &&
		    strncmp(numbers[i].phone, spec, plen) == 0) {
			snprintf(err, errlen, "--number '%s': given twice",
			         spec);
			return -1;
		}
	if (nnumbers == MAX_NUMBERS) {
		snprintf(err, errlen, "--number: at most %d numbers",
		         MAX_NUMBERS - 1);
		return -1;
	}
	n = &numbers[nnumbers];
	memset(n, 0, sizeof *n);
	if (colon) {
		const char *v = colon + 1;
		if (strncmp(v, "application=", 12) != 0 ||
		    !is_sid(v + 12, strlen(v + 12), "AP")) {
			snprintf(err, errlen,
			         "--number '%s': after the number only "
			         ":application=AP followed by 32 hex digits",
			         spec);
			return -1;
		}
		memcpy(n->sms_application_sid, v + 12, 34);
	}
	memcpy(n->phone, spec, plen);
	/* a stable SID per number, so tests can name it */
	snprintf(n->sid, sizeof n->sid, "PN%032zx", nnumbers + 1);
	strcpy(n->sms_method, "POST");
	strcpy(n->sms_fallback_method, "POST");
	n->created = n->updated = (long long)time(NULL);
	nnumbers++;
	return 0;
}

int sb_numbers_init(const char *acct, const char *const *specs, size_t nspecs,
                    char *err, size_t errlen)
{
	size_t i;

	snprintf(account, sizeof account, "%s", acct);
	nnumbers = 0;
	if (add("+15005550006", err, errlen) < 0)
		return -1;
	for (i = 0; i < nspecs; i++)
		if (add(specs[i], err, errlen) < 0)
			return -1;
	return 0;
}

void sb_numbers_fini(void)
{
	size_t i;

	for (i = 0; i < nnumbers; i++) {
		free(numbers[i].sms_url);
		free(numbers[i].sms_fallback_url);
	}
	nnumbers = 0;
}

/* S as a JSON string, or null when NULL or empty. (A local writer: the
 * sandbox's sb_json_str takes the sandbox buffer until it moves to tw_buf.) */
static void json_nullable(tw_buf *b, const char *s)
{
	if (!s || !*s) {
		tw_buf_puts(b, "null");
		return;
	}
	tw_buf_append(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			tw_buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			tw_buf_printf(b, "\\u%04x", c);
		else
			tw_buf_append(b, s, 1);
	}
	tw_buf_append(b, "\"", 1);
}

/* One resource as the spec's api.v2010.account.incoming_phone_number. */
static void resource(tw_buf *b, const number *n)
{
	char created[40], updated[40];

	sb_rfc2822(n->created, created);
	sb_rfc2822(n->updated, updated);
	tw_buf_printf(b,
	              "{\"account_sid\": \"%s\", \"address_sid\": null, "
	              "\"address_requirements\": \"none\", \"api_version\": "
	              "\"2010-04-01\", \"beta\": false, \"capabilities\": "
	              "{\"voice\": true, \"sms\": true, \"mms\": true, "
	              "\"fax\": false}, \"date_created\": \"%s\", "
	              "\"date_updated\": \"%s\", \"friendly_name\": \"%s\", "
	              "\"identity_sid\": null, \"phone_number\": \"%s\", "
	              "\"origin\": \"twilio\", \"sid\": \"%s\", "
	              "\"sms_application_sid\": ",
	              account, created, updated, n->phone, n->phone, n->sid);
	json_nullable(b, n->sms_application_sid);
	tw_buf_printf(b,
	              ", \"sms_fallback_method\": \"%s\", "
	              "\"sms_fallback_url\": ",
	              n->sms_fallback_method);
	json_nullable(b, n->sms_fallback_url);
	tw_buf_printf(b,
	              ", \"sms_method\": \"%s\", \"sms_url\": ", n->sms_method);
	json_nullable(b, n->sms_url);
	tw_buf_printf(
	        b,
	        ", \"status_callback\": null, \"status_callback_method\": "
	        "\"POST\", \"trunk_sid\": null, \"uri\": "
	        "\"/2010-04-01/Accounts/%s/IncomingPhoneNumbers/%s.json\", "
	        "\"voice_receive_mode\": \"voice\", "
	        "\"voice_application_sid\": null, "
	        "\"voice_caller_id_lookup\": false, "
	        "\"voice_fallback_method\": \"POST\", "
	        "\"voice_fallback_url\": null, \"voice_method\": \"POST\", "
	        "\"voice_url\": null, \"emergency_status\": \"Inactive\", "
	        "\"emergency_address_sid\": null, "
	        "\"emergency_address_status\": \"unregistered\", "
	        "\"bundle_sid\": null, \"status\": \"in-use\", "
	        "\"type\": \"local\"}",
	        account, n->sid);
}

static int finish(sb_reply *r, unsigned status, tw_buf *b)
{
	size_t len;
	char *body = tw_buf_take(b, &len);

	if (!body)
		return -1;
	r->status = status;
	r->body = body;
	r->len = len;
	return 0;
}

int sb_numbers_list(sb_reply *r, const char *phone)
{
	tw_buf b = {0};
	size_t i, count = 0;

	tw_buf_puts(&b, "{\"incoming_phone_numbers\": [");
	pthread_mutex_lock(&lock);
	for (i = 0; i < nnumbers; i++) {
		if (phone && strcmp(phone, numbers[i].phone) != 0)
			continue;
		if (count++)
			tw_buf_puts(&b, ", ");
		resource(&b, &numbers[i]);
	}
	pthread_mutex_unlock(&lock);
	/* one page holds them all (at most MAX_NUMBERS) */
	tw_buf_printf(&b,
	              "], \"end\": %zu, \"first_page_uri\": "
	              "\"/2010-04-01/Accounts/%s/IncomingPhoneNumbers.json?"
	              "PageSize=50&Page=0\", \"next_page_uri\": null, "
	              "\"page\": 0, \"page_size\": 50, \"previous_page_uri\": "
	              "null, \"start\": 0, \"uri\": "
	              "\"/2010-04-01/Accounts/%s/IncomingPhoneNumbers.json?"
	              "PageSize=50&Page=0\"}",
	              count ? count - 1 : 0, account, account);
	return finish(r, 200, &b);
}

/* A URL parameter: absolute http(s), bounded. NULL when fine, else why. */
static const char *url_problem(const tw_field *f)
{
	if (f->value_len > MAX_URL_LEN)
		return "is longer than 4096 characters";
	if (memchr(f->value, '\0', f->value_len))
		return "holds a NUL byte";
	if (f->value_len == 0)
		return NULL; /* clears it */
	if (strncasecmp(f->value, "http://", 7) != 0 &&
	    strncasecmp(f->value, "https://", 8) != 0)
		return "is not a valid http or https URL";
	return NULL;
}

static int param_error(sb_reply *r, const char *name, const char *why)
{
	char msg[256];

	snprintf(msg, sizeof msg, "%s %s.", name, why);
	return sb_api_error(r, 400, 21502, msg);
}

int sb_numbers_update(sb_reply *r, const char *sid, size_t sid_len,
                      const char *body, size_t len)
{
	tw_form form = {0};
	const tw_field *url, *method, *furl, *fmethod, *app;
	const char *why;
	number *n = NULL;
	size_t i;
	tw_buf b = {0};
	int rc;

	if ((rc = tw_form_parse(body, len, TW_FORM_LENIENT, &form, NULL)) < 0)
		return -1;
	url = tw_form_get(&form, "SmsUrl");
	method = tw_form_get(&form, "SmsMethod");
	furl = tw_form_get(&form, "SmsFallbackUrl");
	fmethod = tw_form_get(&form, "SmsFallbackMethod");
	app = tw_form_get(&form, "SmsApplicationSid");
	if (method && strcmp(method->value, "GET") != 0 &&
	    strcmp(method->value, "POST") != 0) {
		rc = sb_api_error(r, 400, 21502,
		                  "SmsMethod must be GET or POST.");
		goto out;
	}
	if (fmethod && strcmp(fmethod->value, "GET") != 0 &&
	    strcmp(fmethod->value, "POST") != 0) {
		rc = sb_api_error(r, 400, 21502,
		                  "SmsFallbackMethod must be GET or POST.");
		goto out;
	}
	if (url && (why = url_problem(url))) {
		rc = param_error(r, "SmsUrl", why);
		goto out;
	}
	if (furl && (why = url_problem(furl))) {
		rc = param_error(r, "SmsFallbackUrl", why);
		goto out;
	}
	if (app && app->value_len &&
	    !is_sid(app->value, app->value_len, "AP")) {
		rc = sb_api_error(r, 400, 21502,
		                  "SmsApplicationSid must be AP followed by 32 "
		                  "hex digits.");
		goto out;
	}
	pthread_mutex_lock(&lock);
	for (i = 0; i < nnumbers; i++)
		if (strlen(numbers[i].sid) == sid_len &&
		    memcmp(numbers[i].sid, sid, sid_len) == 0)
			n = &numbers[i];
	if (n) {
		char *nu = url ? strndup(url->value, url->value_len) : NULL;
		char *nf = furl ? strndup(furl->value, furl->value_len) : NULL;

		if ((url && !nu) || (furl && !nf)) {
			free(nu);
			free(nf);
			pthread_mutex_unlock(&lock);
			rc = -1;
			goto out;
		}
		if (url) {
			free(n->sms_url);
			n->sms_url = nu;
		}
		if (furl) {
			free(n->sms_fallback_url);
			n->sms_fallback_url = nf;
		}
		if (method)
			snprintf(n->sms_method, sizeof n->sms_method, "%s",
			         method->value);
		if (fmethod)
			snprintf(n->sms_fallback_method,
			         sizeof n->sms_fallback_method, "%s",
			         fmethod->value);
		if (app)
			snprintf(n->sms_application_sid,
			         sizeof n->sms_application_sid, "%.*s",
			         (int)app->value_len, app->value);
		n->updated = (long long)time(NULL);
		resource(&b, n);
	}
	pthread_mutex_unlock(&lock);
	if (!n) {
		rc = 1; /* unknown: the caller answers 404 */
		goto out;
	}
	rc = finish(r, 200, &b);
out:
	tw_buf_free(&b);
	tw_form_free(&form);
	return rc;
}

int sb_numbers_route(const char *url, const char **acct, size_t *acct_len,
                     const char **sid, size_t *len)
{
	static const char prefix[] = "/2010-04-01/Accounts/";
	const char *rest, *slash;
	size_t n;

	if (strncmp(url, prefix, sizeof prefix - 1) != 0)
		return SB_N_NONE;
	url += sizeof prefix - 1;
	if (!(slash = strchr(url, '/')) || slash == url)
		return SB_N_NONE;
	rest = slash + 1;
	if (strcmp(rest, "IncomingPhoneNumbers.json") == 0) {
		*acct = url;
		*acct_len = (size_t)(slash - url);
		return SB_N_LIST;
	}
	if (strncmp(rest, "IncomingPhoneNumbers/", 21) != 0)
		return SB_N_NONE;
	rest += 21;
	n = strlen(rest);
	if (n <= 5 || strcmp(rest + n - 5, ".json") != 0 ||
	    memchr(rest, '/', n - 5))
		return SB_N_NONE;
	*acct = url;
	*acct_len = (size_t)(slash - url);
	*sid = rest;
	*len = n - 5;
	return SB_N_ONE;
}

/*
 * send_sms.c - the send_sms and check_connection actions.
 *
 * On the host thread: validate the inputs, render smsBody once, count
 * segments, claim each recipient in the host's idempotency store, and hand
 * the call to the sender. Everything that goes wrong here is data in the
 * outputs; the call completes exactly once either way (inline here when
 * nothing needs the network).
 */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segments.h"
#include "tw_errors.h"
#include "tw_wire.h"
#include "tw_instance.h"
#include "tw_mask.h"
#include "tw_recipients.h"

#define TW_TEMPLATE_MAX 65536 /* longest smsBody template */
#define TW_BODY_MAX     1600  /* Twilio's limit, in UTF-16 units */
#define TW_URL_MAX      2048
#define TW_MEDIA_MAX    10

/* What the validation of one call collects. */
typedef struct req {
	json_object *errors; /* call-level twilioError entries */
	const char *from;    /* borrowed from the inputs */
	char *from_clean;
	int from_is_service;
	tw_recipients rcpt;
	char *body;
	size_t body_len;
	tw_segments seg;
	json_object *media; /* borrowed: string or array of strings */
	const char *status_callback;
	int dry_run;
} req;

static void add_error(req *r, tw_err e, const char *field, char *message)
{
	json_object *o = tw_err_entry(e, -1, field, NULL, 0, 0,
	                              message ? message : "out of memory", NULL,
	                              tw_err_retryable(e));

	free(message);
	if (o)
		json_object_array_add(r->errors, o);
}

static json_object *get_input(json_object *inputs, const char *k)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(inputs, k, &v))
		return NULL;
	return v;
}

/* ------------------------------------------------------------ smsFrom */

static int is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int alnum_sender(const char *s)
{
	size_t i, n = strlen(s);
	int letter = 0;

	if (n == 0 || n > 11)
		return 0;
	for (i = 0; i < n; i++) {
		if (isalpha((unsigned char)s[i]))
			letter = 1;
		else if (!isdigit((unsigned char)s[i]) && s[i] != ' ')
			return 0;
	}
	return letter;
}

static void check_from(req *r, json_object *v)
{
	const char *s;
	char *c, *p;
	size_t i, n, digits;
	int plus;

	if (!v || (json_object_is_type(v, json_type_string) &&
	           json_object_get_string_len(v) == 0)) {
		add_error(r, TW_MISSING_INPUT, "smsFrom",
		          strdup("smsFrom: missing; give a Twilio number "
		                 "(+14155550100), a short code, an "
		                 "alphanumeric sender ID or a messaging "
		                 "service SID (MG...)"));
		return;
	}
	if (!json_object_is_type(v, json_type_string)) {
		add_error(r, TW_INVALID_INPUT, "smsFrom",
		          strdup("smsFrom: must be a string"));
		return;
	}
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	r->from = s;
	if (n == 34 && strncmp(s, "MG", 2) == 0 && is_hex(s + 2, 32)) {
		r->from_is_service = 1;
		r->from_clean = strdup(s);
		if (!r->from_clean)
			add_error(r, TW_UNKNOWN, "smsFrom",
			          strdup("smsFrom: out of memory"));
		return;
	}
	if (memchr(s, '\0', n)) {
		add_error(r, TW_INVALID_FROM, "smsFrom",
		          strdup("smsFrom: contains a NUL byte (\\u0000); "
		                 "write the sender as plain text"));
		return;
	}
	if (n > 64) {
		add_error(r, TW_INVALID_FROM, "smsFrom",
		          strdup("smsFrom: longer than 64 characters"));
		return;
	}
	c = malloc(n + 1);
	if (!c) {
		add_error(r, TW_UNKNOWN, "smsFrom",
		          strdup("smsFrom: out of memory"));
		return;
	}
	p = c;
	for (i = 0; i < n; i++)
		if (!strchr(" \t-.()", s[i]))
			*p++ = s[i];
	*p = '\0';
	p = strncasecmp(c, "whatsapp:", 9) == 0 ? c + 9 : c;
	plus = *p == '+';
	for (i = plus, digits = 0; p[i] && isdigit((unsigned char)p[i]); i++)
		digits++;
	if (p[i] == '\0' && plus && digits >= 3 && digits <= 15 &&
	    p[1] == '0') {
		/* no country code starts with 0: refused here rather than
		 * by Twilio, with the fix */
		add_error(r, TW_INVALID_FROM, "smsFrom",
		          tw_e164_zero_hint("smsFrom", -1, s, p));
		free(c);
		return;
	}
	if (p[i] == '\0' && ((plus && digits >= 3 && digits <= 15) ||
	                     (!plus && p == c && digits >= 3 && digits <= 8))) {
		r->from_clean = c; /* E.164 or a short code */
		return;
	}
	free(c);
	if (alnum_sender(s)) {
		r->from_clean = strdup(s);
		if (!r->from_clean)
			add_error(r, TW_UNKNOWN, "smsFrom",
			          strdup("smsFrom: out of memory"));
		return;
	}
	add_error(
	        r, TW_INVALID_FROM, "smsFrom",
	        tw_strdupf("smsFrom '%s': expected a number with + and the "
	                   "country "
	                   "code (+14155550100), a short code, an alphanumeric "
	                   "sender ID (at most 11 letters, digits and spaces) "
	                   "or a "
	                   "messaging service SID (MG + 32 hex digits)",
	                   s));
}

/* ------------------------------------------------- media and callback */

static int check_url(const char *s, size_t n)
{
	return n > 0 && n <= TW_URL_MAX && strlen(s) == n &&
	       (strncasecmp(s, "https://", 8) == 0 ||
	        strncasecmp(s, "http://", 7) == 0) &&
	       !strpbrk(s, " \t\r\n");
}

static void check_media(req *r, json_object *v)
{
	size_t i, n;

	if (!v || json_object_is_type(v, json_type_null))
		return;
	if (json_object_is_type(v, json_type_string)) {
		if (json_object_get_string_len(v) == 0)
			return;
		if (!check_url(json_object_get_string(v),
		               (size_t)json_object_get_string_len(v))) {
			add_error(r, TW_INVALID_INPUT, "mediaUrl",
			          strdup("mediaUrl: not an http(s) URL of at "
			                 "most 2048 characters"));
			return;
		}
		r->media = v;
		return;
	}
	if (!json_object_is_type(v, json_type_array)) {
		add_error(r, TW_INVALID_INPUT, "mediaUrl",
		          strdup("mediaUrl: must be a URL or a list of URLs"));
		return;
	}
	n = json_object_array_length(v);
	if (n > TW_MEDIA_MAX) {
		add_error(r, TW_INVALID_INPUT, "mediaUrl",
		          tw_strdupf(
		                  "mediaUrl: %zu URLs; Twilio takes at most %d",
		                  n, TW_MEDIA_MAX));
		return;
	}
	for (i = 0; i < n; i++) {
		json_object *u = json_object_array_get_idx(v, i);

		if (!json_object_is_type(u, json_type_string) ||
		    !check_url(json_object_get_string(u),
		               (size_t)json_object_get_string_len(u))) {
			add_error(
			        r, TW_INVALID_INPUT, "mediaUrl",
			        tw_strdupf(
			                "mediaUrl[%zu]: not an http(s) URL of "
			                "at most 2048 characters",
			                i));
			return;
		}
	}
	if (n)
		r->media = v;
}

static void check_callback(req *r, json_object *v)
{
	if (!v || json_object_is_type(v, json_type_null))
		return;
	if (!json_object_is_type(v, json_type_string) ||
	    (json_object_get_string_len(v) > 0 &&
	     !check_url(json_object_get_string(v),
	                (size_t)json_object_get_string_len(v)))) {
		add_error(r, TW_INVALID_INPUT, "statusCallback",
		          strdup("statusCallback: not an http(s) URL of at "
		                 "most 2048 characters"));
		return;
	}
	if (json_object_get_string_len(v) > 0)
		r->status_callback = json_object_get_string(v);
}

static void check_dry_run(req *r, json_object *v)
{
	const char *s;
	size_t n;

	if (!v || json_object_is_type(v, json_type_null))
		return;
	if (json_object_is_type(v, json_type_boolean)) {
		r->dry_run = json_object_get_boolean(v);
		return;
	}
	if (json_object_is_type(v, json_type_string)) {
		/* compared with its length: "true\u0000x" is not "true" */
		s = json_object_get_string(v);
		n = (size_t)json_object_get_string_len(v);
		if ((n == 4 && memcmp(s, "true", 4) == 0) ||
		    (n == 5 && memcmp(s, "false", 5) == 0)) {
			r->dry_run = s[0] == 't';
			return;
		}
	}
	add_error(r, TW_INVALID_INPUT, "dryRun",
	          strdup("dryRun: must be true or false"));
}

/* ------------------------------------------------------------- smsBody */

/* The template model: the variables overlaid by metadata (deep copies:
 * the borrowed inputs are never shared or modified). */
static json_object *make_model(req *r, json_object *vars, json_object *meta)
{
	json_object *model = NULL;

	if (vars && json_object_is_type(vars, json_type_object)) {
		if (json_object_deep_copy(vars, &model, NULL) != 0)
			return NULL;
	} else {
		model = json_object_new_object();
	}
	if (model && meta) {
		json_object_object_foreach(meta, k, v)
		{
			json_object *copy = NULL;

			if (v && json_object_deep_copy(v, &copy, NULL) != 0) {
				json_object_put(model);
				return NULL;
			}
			json_object_object_add(model, k, copy);
		}
	}
	(void)r;
	return model;
}

/* The checks of smsBody and metadata that need no rendering, run with
 * every other input's so one call reports every missing or invalid input
 * (render_body() repeats them for its own sake; they pass there). */
static void check_body(req *r, json_object *tpl, json_object *meta)
{
	if (!tpl || (json_object_is_type(tpl, json_type_string) &&
	             json_object_get_string_len(tpl) == 0 && !r->media))
		add_error(r, TW_MISSING_INPUT, "smsBody",
		          strdup("smsBody: missing; the message text (a "
		                 "FreeMarker template)"));
	else if (!json_object_is_type(tpl, json_type_string))
		add_error(r, TW_INVALID_INPUT, "smsBody",
		          strdup("smsBody: must be a string (a template)"));
	else if (json_object_get_string_len(tpl) > TW_TEMPLATE_MAX)
		add_error(r, TW_INVALID_INPUT, "smsBody",
		          tw_strdupf("smsBody: longer than %d bytes",
		                     TW_TEMPLATE_MAX));
	if (meta && !json_object_is_type(meta, json_type_null) &&
	    !json_object_is_type(meta, json_type_object))
		add_error(r, TW_INVALID_INPUT, "metadata",
		          strdup("metadata: must be a JSON object"));
}

static void render_body(conn_instance *inst, req *r, json_object *tpl,
                        json_object *vars, json_object *meta,
                        int64_t deadline_ms)
{
	ftl_template *t;
	ftl_error fe;
	ftl_settings fs = inst->fs; /* this call's copy: its deadline */
	json_object *model;
	size_t units;
	int rc;

	if (!tpl || (json_object_is_type(tpl, json_type_string) &&
	             json_object_get_string_len(tpl) == 0 && !r->media)) {
		add_error(r, TW_MISSING_INPUT, "smsBody",
		          strdup("smsBody: missing; the message text (a "
		                 "FreeMarker template)"));
		return;
	}
	if (!json_object_is_type(tpl, json_type_string)) {
		add_error(r, TW_INVALID_INPUT, "smsBody",
		          strdup("smsBody: must be a string (a template)"));
		return;
	}
	if (json_object_get_string_len(tpl) > TW_TEMPLATE_MAX) {
		add_error(r, TW_INVALID_INPUT, "smsBody",
		          tw_strdupf("smsBody: longer than %d bytes",
		                     TW_TEMPLATE_MAX));
		return;
	}
	if (meta && !json_object_is_type(meta, json_type_null) &&
	    !json_object_is_type(meta, json_type_object)) {
		add_error(r, TW_INVALID_INPUT, "metadata",
		          strdup("metadata: must be a JSON object"));
		return;
	}
	if (meta && json_object_is_type(meta, json_type_null))
		meta = NULL;
	memset(&fe, 0, sizeof(fe));
	t = ftl_cache_get(inst->cache, json_object_get_string(tpl),
	                  (size_t)json_object_get_string_len(tpl), &fe);
	if (!t) {
		add_error(r,
		          fe.kind == FTL_PARSE   ? TW_TEMPLATE_SYNTAX_ERROR
		          : fe.kind == FTL_NOMEM ? TW_UNKNOWN
		                                 : TW_INVALID_INPUT,
		          "smsBody",
		          tw_strdupf("smsBody: line %d, column %d: %s", fe.line,
		                     fe.column, fe.message));
		return;
	}
	model = make_model(r, vars, meta);
	if (!model) {
		ftl_template_unref(t);
		add_error(r, TW_UNKNOWN, "smsBody",
		          strdup("smsBody: out of memory"));
		return;
	}
	/* a template stops at the call's deadline, not after it (its work
	 * is bounded too: FTL_LIMIT) */
	fs.deadline_ms = deadline_ms;
	rc = ftl_render(t, model, &fs, &r->body, &r->body_len, &fe);
	json_object_put(model);
	ftl_template_unref(t);
	if (rc && fe.kind == FTL_DEADLINE) {
		r->body = NULL;
		add_error(r, TW_DEADLINE_EXCEEDED, "smsBody",
		          strdup("smsBody: rendering did not finish before the "
		                 "call's deadline"));
		return;
	}
	if (rc) {
		r->body = NULL;
		add_error(r,
		          fe.kind == FTL_RUNTIME ? TW_TEMPLATE_METADATA_ERROR
		          : fe.kind == FTL_PARSE ? TW_TEMPLATE_SYNTAX_ERROR
		          : fe.kind == FTL_NOMEM ? TW_UNKNOWN
		                                 : TW_INVALID_INPUT,
		          "smsBody",
		          tw_strdupf("smsBody: line %d, column %d: %s", fe.line,
		                     fe.column, fe.message));
		return;
	}
	if (r->body_len == 0 && !r->media) {
		add_error(r, TW_INVALID_INPUT, "smsBody",
		          strdup("smsBody: the template rendered an empty "
		                 "message; nothing to send"));
		return;
	}
	if (tw_segments_count(r->body, r->body_len, &r->seg) != 0) {
		add_error(r, TW_INVALID_INPUT, "smsBody",
		          strdup("smsBody: the rendered text is not valid "
		                 "UTF-8"));
		return;
	}
	units = tw_utf16_length(r->body, r->body_len);
	if (units > TW_BODY_MAX)
		add_error(r, TW_INVALID_INPUT, "smsBody",
		          tw_strdupf("smsBody: %zu characters after rendering; "
		                     "Twilio accepts at most %d",
		                     units, TW_BODY_MAX));
}

/* ------------------------------------------------------------- outputs */

static json_object *outputs_of(json_object *result, json_object *errors)
{
	json_object *o = json_object_new_object();

	if (!o) {
		json_object_put(result);
		json_object_put(errors);
		return NULL;
	}
	if (errors && json_object_array_length(errors) == 0) {
		json_object_put(errors);
		errors = NULL;
	}
	json_object_object_add(o, "twilioResult",
	                       result ? result : json_object_new_array());
	json_object_object_add(o, "twilioError", errors);
	return o;
}

static json_object *send_outputs(tw_call *c)
{
	json_object *res = json_object_new_array();
	json_object *errs = json_object_new_array();
	size_t i;

	for (i = 0; i < c->njobs && res && errs; i++) {
		tw_job *j = &c->jobs[i];

		if (j->result) {
			json_object_array_add(res, j->result);
			j->result = NULL;
		} else if (j->error) {
			json_object_array_add(errs, j->error);
			j->error = NULL;
		}
	}
	return outputs_of(res, errs);
}

static json_object *check_outputs(tw_call *c)
{
	tw_job *j = &c->jobs[0];
	json_object *o, *v;

	if (j->result) {
		o = j->result;
		j->result = NULL;
		return o;
	}
	o = json_object_new_object();
	if (!o)
		return NULL;
	if (j->error && json_object_object_get_ex(j->error, "error", &v))
		json_object_object_add(o, "error", json_object_get(v));
	else
		json_object_object_add(o, "error",
		                       json_object_new_string("UNKNOWN_ERROR"));
	if (j->error && json_object_object_get_ex(j->error, "message", &v))
		json_object_object_add(o, "message", json_object_get(v));
	if (j->error && json_object_object_get_ex(j->error, "httpStatus", &v))
		json_object_object_add(o, "httpStatus", json_object_get(v));
	return o;
}

/* A JSON string of S, "" for NULL (json_object_new_string(NULL) crashes). */
static json_object *str_or_empty(const char *s)
{
	return json_object_new_string(s ? s : "");
}

/*
 * The dryRun object. Reads the jobs, never takes from them: it selects
 * the recipients by their state (a refused entry is DONE from
 * fill_jobs() on), not by their error, which send_outputs() moves out of
 * the job. Call it before send_outputs() all the same. NULL out of memory.
 */
static json_object *dry_run_outputs(req *r, const tw_call *call)
{
	json_object *d = json_object_new_object();
	json_object *list = json_object_new_array();
	size_t i;

	if (!d || !list) {
		json_object_put(d);
		json_object_put(list);
		return NULL;
	}
	for (i = 0; i < call->njobs; i++) {
		const tw_job *j = &call->jobs[i];
		json_object *e;

		if (j->state == TW_JOB_DONE || !j->to)
			continue;
		e = json_object_new_object();
		if (!e)
			continue;
		json_object_object_add(e, "index",
		                       json_object_new_int(j->index));
		json_object_object_add(e, "input", str_or_empty(j->input));
		json_object_object_add(e, "to", str_or_empty(j->to));
		json_object_array_add(list, e);
	}
	json_object_object_add(d, "recipients", list);
	json_object_object_add(
	        d, r->from_is_service ? "messagingServiceSid" : "from",
	        str_or_empty(r->from_clean));
	json_object_object_add(
	        d, "body",
	        r->body ? json_object_new_string_len(r->body, (int)r->body_len)
	                : json_object_new_string(""));
	json_object_object_add(d, "encoding",
	                       json_object_new_string(r->seg.encoding == TW_UCS2
	                                                      ? "UCS-2"
	                                                      : "GSM-7"));
	json_object_object_add(d, "segments",
	                       json_object_new_int((int)r->seg.segments));
	json_object_object_add(d, "characters",
	                       json_object_new_int((int)tw_utf16_length(
	                               r->body, r->body_len)));
	/* the first character outside GSM-7 (U+0000 included, which
	 * ucs2_char cannot tell from "none"), and where it is, counted as
	 * "characters" counts: UTF-16 units; both null for GSM-7 */
	if (r->seg.encoding == TW_UCS2 && r->body &&
	    r->seg.ucs2_offset < r->body_len) {
		size_t n, off = r->seg.ucs2_offset;
		unsigned char b = (unsigned char)r->body[off];

		n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
		if (off + n > r->body_len)
			n = 1;
		json_object_object_add(
		        d, "ucs2Character",
		        json_object_new_string_len(r->body + off, (int)n));
		json_object_object_add(d, "ucs2Offset",
		                       json_object_new_int((int)tw_utf16_length(
		                               r->body, off)));
	} else {
		json_object_object_add(d, "ucs2Character", NULL);
		json_object_object_add(d, "ucs2Offset", NULL);
	}
	return d;
}

/* ---------------------------------------------------------- the call */

static int build_form(req *r, tw_buf *f)
{
	size_t i, n;

	if (tw_form_add(f, r->from_is_service ? "MessagingServiceSid" : "From",
	                r->from_clean, strlen(r->from_clean)))
		return -1;
	if (r->body_len && tw_form_add(f, "Body", r->body, r->body_len))
		return -1;
	if (r->media && json_object_is_type(r->media, json_type_string)) {
		if (tw_form_add(f, "MediaUrl", json_object_get_string(r->media),
		                (size_t)json_object_get_string_len(r->media)))
			return -1;
	} else if (r->media) {
		n = json_object_array_length(r->media);
		for (i = 0; i < n; i++) {
			json_object *u = json_object_array_get_idx(r->media, i);

			if (tw_form_add(f, "MediaUrl",
			                json_object_get_string(u),
			                (size_t)json_object_get_string_len(u)))
				return -1;
		}
	}
	if (r->status_callback &&
	    tw_form_add(f, "StatusCallback", r->status_callback,
	                strlen(r->status_callback)))
		return -1;
	return 0;
}

/* Move the parsed recipients into the call's jobs. */
static void fill_jobs(req *r, tw_call *call)
{
	size_t i;

	for (i = 0; i < r->rcpt.n; i++) {
		tw_recipient *e = &r->rcpt.v[i];
		tw_job *j = &call->jobs[i];

		j->call = call;
		j->index = e->index;
		j->input = e->input;
		j->to = e->to;
		e->input = e->to = NULL;
		if (e->err != TW_OK) {
			j->state = TW_JOB_DONE;
			j->error = tw_err_entry(e->err, e->index, "smsTo", NULL,
			                        0, 0, e->message, NULL, 0);
		} else {
			j->state = TW_JOB_WAITING;
		}
	}
}

static json_object *prior_result(tw_job *j, json_object *prior)
{
	json_object *o = json_object_new_object(), *v;
	const char *keys[] = {"to", "sid", "status", "segments"};
	size_t i;

	if (!o)
		return NULL;
	json_object_object_add(o, "index", json_object_new_int(j->index));
	json_object_object_add(o, "input", str_or_empty(j->input));
	for (i = 0; i < 4; i++)
		if (json_object_object_get_ex(prior, keys[i], &v))
			json_object_object_add(o, keys[i], json_object_get(v));
	return o;
}

uint32_t tw_claim_ttl(int64_t deadline_ms, int64_t now_ms)
{
	/* in 64 bits: a far deadline must not wrap to a short TTL (the claim
	 * would expire while its request is in flight, and a retry of the
	 * task would send a second SMS); a deadline in the past still gets
	 * the margin */
	uint64_t left = deadline_ms > now_ms
	                        ? (uint64_t)deadline_ms - (uint64_t)now_ms
	                        : 0; /* exact for any two int64 values */

	if (left > UINT32_MAX - (uint64_t)TW_CLAIM_MARGIN_MS)
		return UINT32_MAX;
	return (uint32_t)(left + TW_CLAIM_MARGIN_MS);
}

/* Claim each waiting job under KEY. Host thread, no lock held. */
static void claim_jobs(conn_instance *inst, tw_call *call, const char *key)
{
	const conn_host *h = inst->host;
	uint32_t ttl = tw_claim_ttl(call->deadline_ms, conn_now_ms());
	size_t i;

	for (i = 0; i < call->njobs; i++) {
		tw_job *j = &call->jobs[i];
		json_object *prior = NULL, *v;
		uint64_t owner = 0;
		char *k;
		int rc;

		if (j->state != TW_JOB_WAITING)
			continue;
		k = tw_strdupf(TW_CLAIM_NS "%s|%s", key, j->to);
		if (!k) {
			rc = CONN_ENOMEM;
		} else {
			rc = conn_host_claim(h, k, ttl, &owner, &prior);
		}
		if (rc == CONN_CLAIM_OWNED) {
			j->claim_key = k;
			j->claim_owner = owner;
			continue;
		}
		free(k);
		j->state = TW_JOB_DONE;
		if (rc == CONN_CLAIM_DONE && prior &&
		    json_object_object_get_ex(prior, "sid", &v)) {
			j->result = prior_result(j, prior);
		} else if (rc == CONN_CLAIM_DONE) {
			j->error = tw_err_entry(
			        TW_OUTCOME_UNKNOWN, j->index, "smsTo", j->to, 0,
			        0,
			        "an earlier call with the same idempotency key "
			        "may have sent this message (its outcome was "
			        "unknown); not sent again",
			        NULL, 0);
		} else if (rc == CONN_CLAIM_IN_PROGRESS) {
			j->error = tw_err_entry(
			        TW_OUTCOME_UNKNOWN, j->index, "smsTo", j->to, 0,
			        0,
			        "another call with the same idempotency key is "
			        "sending to this recipient right now; not sent "
			        "again (retry after it ended to get its "
			        "result)",
			        NULL, 1);
		} else if (rc == CONN_EFULL) {
			j->error = tw_err_entry(TW_QUEUE_FULL, j->index,
			                        "smsTo", j->to, 0, 0,
			                        "the host's idempotency store "
			                        "is full; not sent",
			                        NULL, 1);
		} else {
			j->error = tw_err_entry(
			        TW_UNKNOWN, j->index, "smsTo", j->to, 0, 0,
			        "the host's idempotency store refused the key; "
			        "not sent",
			        NULL, 0);
		}
		json_object_put(prior);
	}
}

static void complete_now(conn_instance *inst, uint64_t id, json_object *out)
{
	if (!out)
		out = json_object_new_object();
	inst->host->complete(inst->host->ctx, id, out);
}

static void req_free(req *r)
{
	json_object_put(r->errors);
	free(r->from_clean);
	tw_recipients_free(&r->rcpt);
	free(r->body);
}

static void log_call(conn_instance *inst, const conn_call *call, req *r)
{
	json_object *f;
	char msg[160];

	if (!conn_host_log_enabled(inst->host, CONN_LOG_DEBUG))
		return;
	f = json_object_new_object();
	if (!f)
		return;
	json_object_object_add(f, "call_id",
	                       json_object_new_uint64(call->call_id));
	json_object_object_add(f, "recipients",
	                       json_object_new_int((int)r->rcpt.n));
	json_object_object_add(f, "segments",
	                       json_object_new_int((int)r->seg.segments));
	/* json-c takes an int length: never truncated, so never cut */
	if (inst->cfg.log_bodies && r->body && r->body_len <= INT_MAX)
		json_object_object_add(
		        f, "body",
		        json_object_new_string_len(r->body, (int)r->body_len));
	snprintf(msg, sizeof(msg), "send_sms: %zu recipient(s)%s", r->rcpt.n,
	         r->dry_run ? " (dry run)" : "");
	tw_log(inst->host, CONN_LOG_DEBUG, f, msg);
}

int tw_send_sms(conn_instance *inst, const conn_call *call, char *err,
                size_t errlen)
{
	json_object *in = call->inputs, *v;
	tw_call *c = NULL;
	req r;
	tw_err e;
	char *m = NULL;
	size_t i, waiting = 0;
	int rc;

	if (!in || !json_object_is_type(in, json_type_object)) {
		snprintf(err, errlen, "send_sms: inputs must be a JSON object");
		return CONN_EINVAL;
	}
	memset(&r, 0, sizeof(r));
	r.errors = json_object_new_array();
	if (!r.errors)
		goto oom;
	/* every input is checked, so one answer lists every fix */
	check_from(&r, get_input(in, "smsFrom"));
	if (tw_recipients_parse(get_input(in, "smsTo"),
	                        (size_t)inst->cfg.max_recipients, &r.rcpt, &e,
	                        &m))
		add_error(&r, e, "smsTo", m);
	check_media(&r, get_input(in, "mediaUrl"));
	check_body(&r, get_input(in, "smsBody"), get_input(in, "metadata"));
	check_callback(&r, get_input(in, "statusCallback"));
	check_dry_run(&r, get_input(in, "dryRun"));
	if (json_object_array_length(r.errors) == 0)
		render_body(inst, &r, get_input(in, "smsBody"), call->variables,
		            get_input(in, "metadata"), call->deadline_ms);
	log_call(inst, call, &r);
	if (json_object_array_length(r.errors) > 0) {
		v = r.errors;
		r.errors = NULL;
		req_free(&r);
		complete_now(inst, call->call_id, outputs_of(NULL, v));
		return 0;
	}
	c = tw_call_new(r.rcpt.n);
	if (!c || build_form(&r, &c->form))
		goto oom;
	c->call_id = call->call_id;
	c->deadline_ms = call->deadline_ms;
	c->kind = TW_CALL_SEND;
	c->segments = (int)r.seg.segments;
	c->outputs = send_outputs;
	fill_jobs(&r, c);
	if (r.dry_run) {
		/* the dry-run part first: send_outputs() moves the jobs'
		 * results and errors into the outputs */
		json_object *d = dry_run_outputs(&r, c);
		json_object *out = send_outputs(c);

		if (out)
			json_object_object_add(out, "dryRun",
			                       d ? d
			                         : json_object_new_object());
		else
			json_object_put(d);
		req_free(&r);
		tw_call_free(c);
		complete_now(inst, call->call_id, out);
		return 0;
	}
	req_free(&r);
	rc = tw_sender_reserve(inst->sender);
	if (rc != 0) {
		for (i = 0; i < c->njobs; i++) {
			tw_job *j = &c->jobs[i];

			if (j->state != TW_JOB_WAITING)
				continue;
			j->state = TW_JOB_DONE;
			j->error =
			        rc == -1 ? tw_err_entry(TW_QUEUE_FULL, j->index,
			                                "smsTo", j->to, 0, 0,
			                                "the connector's queue "
			                                "is full "
			                                "(TWILIO_QUEUE_"
			                                "CAPACITY); not "
			                                "sent",
			                                NULL, 1)
			                 : tw_err_entry(
			                           TW_CANCELLED, j->index,
			                           "smsTo", j->to, 0, 0,
			                           "the connector is shutting "
			                           "down; not sent",
			                           NULL, 1);
		}
		complete_now(inst, call->call_id, send_outputs(c));
		tw_call_free(c);
		return 0;
	}
	if (call->idempotency_key && call->idempotency_key[0])
		claim_jobs(inst, c, call->idempotency_key);
	for (i = 0; i < c->njobs; i++)
		waiting += c->jobs[i].state == TW_JOB_WAITING;
	if (waiting == 0) {
		tw_sender_unreserve(inst->sender);
		complete_now(inst, call->call_id, send_outputs(c));
		tw_call_free(c);
		return 0;
	}
	tw_sender_submit(inst->sender, c);
	return 0;
oom:
	req_free(&r);
	tw_call_free(c);
	r.errors = json_object_new_array();
	if (r.errors)
		json_object_array_add(
		        r.errors, tw_err_entry(TW_UNKNOWN, -1, NULL, NULL, 0, 0,
		                               "out of memory", NULL, 1));
	complete_now(inst, call->call_id, outputs_of(NULL, r.errors));
	return 0;
}

int tw_check_connection(conn_instance *inst, const conn_call *call, char *err,
                        size_t errlen)
{
	tw_call *c = tw_call_new(1);
	json_object *o;
	int rc;

	(void)err;
	(void)errlen;
	if (!c || !(c->jobs[0].input = strdup("")) ||
	    !(c->jobs[0].to = strdup(""))) {
		tw_call_free(c);
		snprintf(err, errlen, "check_connection: out of memory");
		return CONN_ENOMEM;
	}
	c->call_id = call->call_id;
	c->deadline_ms = call->deadline_ms;
	c->kind = TW_CALL_CHECK;
	c->outputs = check_outputs;
	c->jobs[0].state = TW_JOB_WAITING;
	rc = tw_sender_reserve(inst->sender);
	if (rc != 0 && !(o = json_object_new_object())) {
		tw_call_free(c);
		complete_now(inst, call->call_id, NULL);
		return 0;
	}
	if (rc != 0) {
		json_object_object_add(
		        o, "error",
		        json_object_new_string(rc == -1 ? "QUEUE_FULL"
		                                        : "CANCELLED"));
		json_object_object_add(
		        o, "message",
		        json_object_new_string(
		                rc == -1 ? "the connector's queue is full "
		                           "(TWILIO_QUEUE_CAPACITY)"
		                         : "the connector is shutting down"));
		tw_call_free(c);
		complete_now(inst, call->call_id, o);
		return 0;
	}
	tw_sender_submit(inst->sender, c);
	return 0;
}

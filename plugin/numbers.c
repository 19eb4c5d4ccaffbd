/*
 * numbers.c - the number_webhook action (tw_numbers.h): one TW_CALL_HTTP
 * job on the instance's sender, a GET of the number's IncomingPhoneNumber
 * and, when asked to set it and it differs, a POST of SmsUrl and
 * SmsMethod. The answers are read on the sender's event thread
 * (on_http); the call is completed by the sender, exactly once, by its
 * deadline. Owns its per-call state (struct nw), freed with the call.
 * Failure: every error is data in the outputs (error, message), scrubbed
 * of secrets; the host thread never blocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tw_errors.h"
#include "tw_instance.h"
#include "tw_mask.h"
#include "tw_numbers.h"
#include "tw_response.h"
#include "tw_wire.h"

struct nw {
	const tw_config *cfg;
	char *number, *expected;
	int set, posted;
};

static void nw_free(void *p)
{
	struct nw *n = p;

	if (!n)
		return;
	free(n->number);
	free(n->expected);
	free(n);
}

/* {number, expectedUrl, error, message} */
static json_object *error_out(const char *number, const char *expected,
                              const char *error, const char *message)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "number",
	                       number ? json_object_new_string(number) : NULL);
	json_object_object_add(o, "expectedUrl",
	                       expected ? json_object_new_string(expected)
	                                : NULL);
	json_object_object_add(o, "error", json_object_new_string(error));
	json_object_object_add(o, "message", json_object_new_string(message));
	return o;
}

static const char *str_field(json_object *o, const char *key)
{
	json_object *v;

	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* Twilio's own words for an error answer, scrubbed; the job's error. */
static void http_error(struct nw *n, tw_job *j, long http, json_object *doc)
{
	const char *m = doc ? str_field(doc, "message") : NULL;
	char *clean = tw_config_scrub(n->cfg, m, 0);
	char *msg = tw_strdupf(
	        "Twilio answered HTTP %ld%s%s%s", http, clean ? ": " : "",
	        clean ? clean : "",
	        http == 401   ? " (check TWILIO_ACCOUNT and TWILIO_TOKEN)"
	        : http == 404 ? " (check TWILIO_ACCOUNT: the account or number "
	                        "was not found)"
	                      : "");
	tw_err e = http == 401   ? TW_AUTHENTICATION
	           : http == 403 ? TW_PERMISSION_DENIED
	                         : TW_UNKNOWN;

	free(clean);
	j->error = error_out(n->number, n->expected, tw_err_name(e),
	                     msg ? msg : "out of memory");
	if (j->error)
		json_object_object_add(j->error, "httpStatus",
		                       json_object_new_int((int)http));
	free(msg);
}

/* The resource R (an IncomingPhoneNumber) as the job's result. */
static void result_of(struct nw *n, tw_job *j, json_object *r)
{
	const char *url = str_field(r, "sms_url");
	const char *method = str_field(r, "sms_method");
	const char *app = str_field(r, "sms_application_sid");
	int matches = url && strcmp(url, n->expected) == 0 && method &&
	              strcasecmp(method, "POST") == 0;
	json_object *o = json_object_new_object();

	if (!o)
		return;
	json_object_object_add(o, "number", json_object_new_string(n->number));
	json_object_object_add(o, "sid", str_or_null(str_field(r, "sid")));
	json_object_object_add(o, "smsUrl", str_or_null(url));
	json_object_object_add(o, "smsMethod", str_or_null(method));
	json_object_object_add(o, "smsApplicationSid",
	                       str_or_null(app && *app ? app : NULL));
	json_object_object_add(o, "expectedUrl",
	                       json_object_new_string(n->expected));
	json_object_object_add(o, "matches", json_object_new_boolean(matches));
	json_object_object_add(o, "updated",
	                       json_object_new_boolean(n->posted));
	j->result = o;
}

/* Sender's event thread: one answer. 1: send the next request. */
static int on_http(tw_call *c, tw_job *j, long http, const char *body,
                   size_t len)
{
	struct nw *n = c->data;
	json_object *doc = NULL, *list, *r;
	json_tokener *tok;
	const char *sid, *url, *method;

	if (len > TW_RESPONSE_MAX) {
		j->error = error_out(n->number, n->expected,
		                     tw_err_name(TW_UNKNOWN),
		                     "Twilio's answer is larger than the "
		                     "connector reads (64 KiB)");
		return 0;
	}
	tok = json_tokener_new_ex(32);
	if (tok)
		doc = json_tokener_parse_ex(tok, body, (int)len);
	json_tokener_free(tok);
	if (http < 200 || http > 299) {
		http_error(n, j, http, doc);
		json_object_put(doc);
		return 0;
	}
	if (!doc || !json_object_is_type(doc, json_type_object)) {
		j->error = error_out(n->number, n->expected,
		                     tw_err_name(TW_UNKNOWN),
		                     "Twilio's answer is not a JSON object");
		json_object_put(doc);
		return 0;
	}
	if (n->posted) { /* the updated resource */
		result_of(n, j, doc);
		json_object_put(doc);
		return 0;
	}
	if (!json_object_object_get_ex(doc, "incoming_phone_numbers", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		j->error = error_out(n->number, n->expected,
		                     tw_err_name(TW_UNKNOWN),
		                     "Twilio's answer has no "
		                     "incoming_phone_numbers list");
		json_object_put(doc);
		return 0;
	}
	if (json_object_array_length(list) == 0) {
		j->error = error_out(
		        n->number, n->expected, "NOT_FOUND",
		        "the account has no such number: check --number "
		        "(E.164, e.g. +14155550100) and TWILIO_ACCOUNT");
		json_object_put(doc);
		return 0;
	}
	r = json_object_array_get_idx(list, 0);
	sid = str_field(r, "sid");
	url = str_field(r, "sms_url");
	method = str_field(r, "sms_method");
	if (!n->set || (url && strcmp(url, n->expected) == 0 && method &&
	                strcasecmp(method, "POST") == 0)) {
		result_of(n, j, r);
		json_object_put(doc);
		return 0;
	}
	if (!sid || strncmp(sid, "PN", 2) != 0 ||
	    strspn(sid + 2, "0123456789abcdef"
	                    "ABCDEF") != 32 ||
	    sid[34]) {
		j->error = error_out(n->number, n->expected,
		                     tw_err_name(TW_UNKNOWN),
		                     "Twilio's answer has no valid number sid "
		                     "(PN...)");
		json_object_put(doc);
		return 0;
	}
	/* set: POST the two fields to the number's own resource */
	free(c->url);
	c->url = tw_strdupf("%s/2010-04-01/Accounts/%s/IncomingPhoneNumbers/"
	                    "%s.json",
	                    n->cfg->base_url, n->cfg->account, sid);
	json_object_put(doc);
	tw_buf_clear(&c->form);
	tw_form_add(&c->form, "SmsUrl", n->expected, strlen(n->expected));
	tw_form_add(&c->form, "SmsMethod", "POST", 4);
	if (!c->url || c->form.oom) {
		j->error = error_out(n->number, n->expected,
		                     tw_err_name(TW_UNKNOWN), "out of memory");
		return 0;
	}
	n->posted = 1;
	return 1;
}

/* The outputs of the finished call: the result, or an error object. */
static json_object *nw_outputs(tw_call *c)
{
	struct nw *n = c->data;
	tw_job *j = &c->jobs[0];
	json_object *o, *v;

	if (j->result) {
		o = j->result;
		j->result = NULL;
		return o;
	}
	if (j->error &&
	    json_object_object_get_ex(j->error, "expectedUrl", NULL)) {
		o = j->error; /* built by on_http */
		j->error = NULL;
		return o;
	}
	/* a sender error entry (connection, deadline, cancelled) */
	o = error_out(n->number, n->expected, "UNKNOWN_ERROR", "");
	if (!o)
		return NULL;
	if (j->error && json_object_object_get_ex(j->error, "error", &v))
		json_object_object_add(o, "error", json_object_get(v));
	if (j->error && json_object_object_get_ex(j->error, "message", &v))
		json_object_object_add(o, "message", json_object_get(v));
	return o;
}

/* "+" and 8 to 15 digits */
static int e164(const char *s)
{
	size_t n;

	if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return 0;
	n = strspn(s + 1, "0123456789");
	return s[1 + n] == '\0' && n >= 8 && n <= 15;
}

static void complete_inline(conn_instance *inst, uint64_t call_id,
                            json_object *o)
{
	inst->host->complete(inst->host->ctx, call_id,
	                     o ? o : json_object_new_object());
}

int tw_number_webhook(conn_instance *inst, const conn_call *call, char *err,
                      size_t errlen)
{
	const char *number = NULL, *expected = inst->cfg.webhook_public_url;
	json_object *v;
	struct nw *n;
	tw_call *c;
	tw_buf q = {0};
	int set = 0, rc;

	if (!call->inputs ||
	    !json_object_is_type(call->inputs, json_type_object)) {
		snprintf(err, errlen,
		         "number_webhook: inputs: expected an "
		         "object");
		return CONN_EINVAL;
	}
	if (json_object_object_get_ex(call->inputs, "number", &v) &&
	    json_object_is_type(v, json_type_string))
		number = json_object_get_string(v);
	if (json_object_object_get_ex(call->inputs, "set", &v) && v) {
		if (!json_object_is_type(v, json_type_boolean)) {
			complete_inline(
			        inst, call->call_id,
			        error_out(number, expected,
			                  tw_err_name(TW_INVALID_INPUT),
			                  "set: expected true or false"));
			return 0;
		}
		set = json_object_get_boolean(v);
	}
	if (!e164(number)) {
		complete_inline(
		        inst, call->call_id,
		        error_out(number ? "(invalid)" : NULL, expected,
		                  tw_err_name(number ? TW_INVALID_INPUT
		                                     : TW_MISSING_INPUT),
		                  "number: expected the Twilio number "
		                  "in E.164 form, e.g. +14155550100"));
		return 0;
	}
	if (!expected || !*expected) {
		complete_inline(inst, call->call_id,
		                error_out(number, NULL,
		                          tw_err_name(TW_INVALID_INPUT),
		                          "TWILIO_WEBHOOK_PUBLIC_URL is not "
		                          "set: set it to the public https "
		                          "URL Twilio calls for this "
		                          "connector's webhook"));
		return 0;
	}
	c = tw_call_new(1);
	n = calloc(1, sizeof(*n));
	if (c && n) {
		c->data = n;
		c->free_data = nw_free;
		n->cfg = &inst->cfg;
		n->set = set;
		n->number = strdup(number);
		n->expected = strdup(expected);
		tw_buf_printf(&q,
		              "%s/2010-04-01/Accounts/%s/"
		              "IncomingPhoneNumbers.json?",
		              inst->cfg.base_url, inst->cfg.account);
		tw_form_add(&q, "PhoneNumber", number, strlen(number));
		c->url = tw_buf_take(&q, NULL);
		c->jobs[0].input = strdup("");
		c->jobs[0].to = strdup("");
	} else {
		free(n);
	}
	if (!c || !n || !n->number || !n->expected || !c->url ||
	    !c->jobs[0].input || !c->jobs[0].to) {
		tw_call_free(c);
		snprintf(err, errlen, "number_webhook: out of memory");
		return CONN_ENOMEM;
	}
	c->call_id = call->call_id;
	c->deadline_ms = call->deadline_ms;
	c->kind = TW_CALL_HTTP;
	c->outputs = nw_outputs;
	c->on_http = on_http;
	c->jobs[0].state = TW_JOB_WAITING;
	rc = tw_sender_reserve(inst->sender);
	if (rc != 0) {
		json_object *o = error_out(
		        number, expected,
		        tw_err_name(rc == -1 ? TW_QUEUE_FULL : TW_CANCELLED),
		        rc == -1 ? "the connector's queue is full "
		                   "(TWILIO_QUEUE_CAPACITY)"
		                 : "the connector is shutting down");
		tw_call_free(c);
		complete_inline(inst, call->call_id, o);
		return 0;
	}
	tw_sender_submit(inst->sender, c);
	return 0;
}

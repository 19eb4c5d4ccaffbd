/*
 * fuzz_webhook.c - fuzz target for the webhook's whole request path
 * (plugin/webhook.c without sockets: tw_webhook_check_head, then
 * tw_webhook_check_body with the signature check, then tw_inbound_handle as
 * a worker runs it).
 *
 * Input: one flag byte, then six lines (method, path, raw query,
 * Content-Type, Content-Length, X-Twilio-Webhooks-Signature-Settings; an
 * empty line is an absent header, except method and path), then the body.
 * Flags: bit 0 validates signatures; bit 1 signs the request correctly
 * (tw_sig_base + tw_sig_sign over the URL the webhook checks), else it
 * carries a wrong signature; bit 2 sends no signature at all.
 *
 * Checks: every refusal has a status from the documented set and a text;
 * with validation on, an unsigned or wrongly signed request never reaches
 * the handler, and a correctly signed, well-formed one always does; the
 * handler answers 200 TwiML or 400/503 with a reason.
 *
 * With -DTW_LIBFUZZER (make fuzz-plugin) it is a libFuzzer target; without,
 * main() replays tests/fuzz/corpus/webhook as a TAP test.
 */
#include "connector.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_config.h"
#include "tw_inbound.h"
#include "tw_signature.h"
#include "tw_webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_TOKEN "fuzz-token-0123456789"
#define FZ_PUB   "https://sms.example.com/twilio/sms"

static void fz_log(void *ctx, conn_log_level lv, json_object *f,
                   const char *msg)
{
	(void)ctx;
	(void)lv;
	(void)msg;
	if (f)
		(void)json_object_to_json_string(f);
}

static void fz_complete(void *ctx, uint64_t id, json_object *o)
{
	(void)ctx;
	(void)id;
	json_object_put(o);
}

static int fz_publish(void *ctx, uint64_t sub, json_object *ev, char *err,
                      size_t errlen)
{
	(void)ctx;
	(void)sub;
	(void)err;
	(void)errlen;
	(void)json_object_to_json_string(ev);
	json_object_put(ev);
	return 0;
}

static int fz_claim(void *ctx, const char *key, uint32_t ttl,
                    json_object **prior)
{
	(void)ctx;
	(void)key;
	(void)ttl;
	*prior = NULL;
	return CONN_CLAIM_NEW;
}

static int fz_settle(void *ctx, const char *key, json_object *res, uint32_t ttl)
{
	(void)ctx;
	(void)key;
	(void)ttl;
	json_object_put(res);
	return 0;
}

static const conn_host fz_host = {
        .struct_size = sizeof(conn_host),
        .abi_major = CONN_ABI_MAJOR,
        .abi_minor = CONN_ABI_MINOR,
        .log = fz_log,
        .complete = fz_complete,
        .publish = fz_publish,
        .claim = fz_claim,
        .settle = fz_settle,
};

/* Built once per process, as an instance would be: two configurations
 * (signatures validated or not), one engine, one worker. */
static struct {
	int ready;
	tw_config cfg[2];
	tw_inbound *in[2];
	tw_webhook *wh[2];
	tw_inbound_worker *w;
} fz;

static void setup(void)
{
	static const char *const json[2] = {
	        "{\"TWILIO_ACCOUNT\":\"AC0123456789abcdef0123456789abcdef\","
	        "\"TWILIO_TOKEN\":\"" FZ_TOKEN "\","
	        "\"TWILIO_WEBHOOK_LISTEN\":\"127.0.0.1:0\","
	        "\"TWILIO_VALIDATE_SIGNATURE\":\"false\","
	        "\"TWILIO_WEBHOOK_BODY_LIMIT\":\"2048\"}",
	        "{\"TWILIO_ACCOUNT\":\"AC0123456789abcdef0123456789abcdef\","
	        "\"TWILIO_TOKEN\":\"" FZ_TOKEN "\","
	        "\"TWILIO_WEBHOOK_LISTEN\":\"127.0.0.1:0\","
	        "\"TWILIO_WEBHOOK_PUBLIC_URL\":\"" FZ_PUB "\","
	        "\"TWILIO_WEBHOOK_BODY_LIMIT\":\"2048\"}"};
	char err[512];
	int i;

	for (i = 0; i < 2; i++) {
		json_object *o = json_tokener_parse(json[i]);
		json_object *p =
		        json_tokener_parse("{\"pattern\":\"(?<word>\\\\w+)\","
		                           "\"echo\":\"${word}\"}");

		if (tw_config_parse(o, &fz.cfg[i], err, sizeof(err)))
			abort();
		json_object_put(o);
		fz.in[i] = tw_inbound_new(&fz_host, &fz.cfg[i], NULL, err,
		                          sizeof(err));
		fz.wh[i] = fz.in[i] ? tw_webhook_new(&fz_host, &fz.cfg[i],
		                                     fz.in[i], err, sizeof(err))
		                    : NULL;
		if (!fz.wh[i] ||
		    tw_inbound_subscribe(fz.in[i], 1, p, err, sizeof(err)))
			abort();
		json_object_put(p);
	}
	fz.w = tw_inbound_worker_new();
	if (!fz.w)
		abort();
	fz.ready = 1;
}

/* The next line of [*P, END) as a NUL-terminated copy in BUF. */
static char *line(const char **p, const char *end, char *buf, size_t cap)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);

	if (n >= cap)
		n = cap - 1;
	memcpy(buf, *p, n);
	buf[n] = 0;
	buf[strcspn(buf, "\r")] = 0;
	*p = nl ? nl + 1 : end;
	return buf;
}

static int one_of(int status, const int *set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (status == set[i])
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int head_set[] = {0, 404, 405, 413, 415};
	static const int body_set[] = {0, 400, 403, 413, 503};
	char method[64], path[256], query[512], ctype[256], clen[64],
	        settings[256];
	const char *p = (const char *)data, *end = p + size;
	tw_webhook_request rq;
	tw_buf text = {0}, sig = {0}, twiml = {0};
	tw_form form;
	int flags, v, status, strict_ok;
	size_t bad;

	if (!fz.ready)
		setup();
	if (size < 1)
		return 0;
	flags = (unsigned char)*p++;
	v = flags & 1;
	memset(&rq, 0, sizeof(rq));
	rq.method = line(&p, end, method, sizeof(method));
	rq.path = line(&p, end, path, sizeof(path));
	rq.query = *line(&p, end, query, sizeof(query)) ? query : NULL;
	rq.content_type = *line(&p, end, ctype, sizeof(ctype)) ? ctype : NULL;
	rq.content_length = *line(&p, end, clen, sizeof(clen)) ? clen : NULL;
	rq.settings =
	        *line(&p, end, settings, sizeof(settings)) ? settings : NULL;
	rq.body = p;
	rq.body_len = (size_t)(end - p);

	/* the signature: right (computed as Twilio would), wrong or none */
	strict_ok = tw_form_parse(rq.body, rq.body_len, TW_FORM_STRICT, &form,
	                          &bad) == 0;
	if (!(flags & 4)) {
		if ((flags & 2) && strict_ok) {
			tw_buf url = {0}, base = {0};

			tw_buf_puts(&url, FZ_PUB);
			if (rq.query) {
				tw_buf_puts(&url, "?");
				tw_buf_puts(&url, rq.query);
			}
			if (tw_sig_base(&base, url.data, &form) == 0)
				tw_sig_sign(&sig, TW_SIG_HMAC_SHA1, FZ_TOKEN,
				            strlen(FZ_TOKEN), base.data,
				            base.len);
			tw_buf_free(&url);
			tw_buf_free(&base);
		} else {
			tw_buf_puts(&sig, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
		}
		rq.signature = sig.data;
	}
	if (strict_ok)
		tw_form_free(&form);

	status = tw_webhook_check_head(fz.wh[v], &rq, &text);
	if (!one_of(status, head_set, 5) || (status && !text.len))
		abort();
	if (status == 0) {
		tw_buf_clear(&text);
		status = tw_webhook_check_body(fz.wh[v], &rq, &form, &text);
		if (!one_of(status, body_set, 5) || (status && !text.len))
			abort();
		/* a forged or missing signature never gets through */
		if (v && status == 0 && !(flags & 2 && !(flags & 4)))
			abort();
		/* a correctly signed, well-formed body always does */
		if (v && strict_ok && (flags & 2) && !(flags & 4) &&
		    rq.body_len <= 2048 && status != 0 && status != 503)
			abort();
		if (status == 0) {
			status = tw_inbound_handle(fz.in[v], fz.w, &form,
			                           &twiml);
			if (status != 200 && status != 400 && status != 503)
				abort();
			if (status == 200 &&
			    (!twiml.data ||
			     strncmp(twiml.data, "<?xml", 5) != 0))
				abort();
			tw_form_free(&form);
		}
	}
	tw_webhook_count(fz.wh[v], status);
	tw_buf_free(&text);
	tw_buf_free(&sig);
	tw_buf_free(&twiml);
	return 0;
}

#ifndef TW_LIBFUZZER
#include "fuzz_replay.h"
int main(int argc, char **argv)
{
	int rc = tw_fuzz_replay(argc, argv, "webhook"), i;

	for (i = 0; fz.ready && i < 2; i++) {
		tw_webhook_free(fz.wh[i]);
		tw_inbound_free(fz.in[i]);
		tw_config_free(&fz.cfg[i]);
	}
	tw_inbound_worker_free(fz.w);
	return rc;
}
#endif

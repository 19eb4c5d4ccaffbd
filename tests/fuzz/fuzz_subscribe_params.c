/*
 * fuzz_subscribe_params.c - fuzz target for SMS_RECEIVED subscriptions and
 * messages (plugin/inbound.c): subscribe params, then a webhook form.
 *
 * Input: SMS_RECEIVED params as JSON text, a NUL byte, then a form body
 * (application/x-www-form-urlencoded, decoded leniently); without a NUL
 * the whole input is the params and the form is "Body=hello". A valid
 * MessageSid is put in front of the form (tw_form_get() takes the first,
 * so matching and replies are reached); a form starting with '!' is
 * used as it is, so the sid checks are fuzzed too.
 *
 * Checks: subscribe either succeeds or fills ERR; handle answers 200 with
 * a TwiML document within the size bound, or 400/503 with a reason;
 * unsubscribe of a subscribed id succeeds. A fake host accepts every
 * event and every claim.
 *
 * With -DTW_LIBFUZZER (make fuzz-plugin) it is a libFuzzer target; without,
 * main() replays tests/fuzz/corpus/subscribe_params as a TAP test.
 */
#include "connector.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_inbound.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_log(void *ctx, conn_log_level lv, json_object *f,
                   const char *msg)
{
	(void)ctx;
	(void)lv;
	(void)msg;
	/* serialise as a host would (it writes json-c's cache) */
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
	(void)err;
	(void)errlen;
	(void)json_object_to_json_string(ev);
	json_object_put(ev);
	return sub == 2 ? CONN_EREFUSED : 0; /* sub 2 drives echoError */
}

static int fz_claim(void *ctx, const char *key, uint32_t ttl,
                    json_object **prior)
{
	(void)ctx;
	(void)ttl;
	*prior = NULL;
	if (strncmp(key, "inbound/", 8))
		abort(); /* the namespace is part of the contract */
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

#define TWIML_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response"

static void run_form(tw_inbound *in, tw_inbound_worker *w, const char *body,
                     size_t len)
{
	tw_buf b = {0}, out = {0};
	tw_form f;
	int status;

	if (len && body[0] == '!') { /* the sid is the fuzzer's */
		tw_buf_append(&b, body + 1, len - 1);
	} else {
		tw_buf_puts(&b,
		            "MessageSid=SM0123456789abcdef0123456789abcdef&");
		tw_buf_append(&b, body, len);
	}
	if (b.oom || tw_form_parse(b.data ? b.data : "", b.len, TW_FORM_LENIENT,
	                           &f, NULL)) {
		tw_buf_free(&b);
		return;
	}
	status = tw_inbound_handle(in, w, &f, &out);
	if (status == 200) {
		if (!out.data ||
		    strncmp(out.data, TWIML_HEAD, sizeof(TWIML_HEAD) - 1) ||
		    out.len > TW_INBOUND_TWIML_MAX)
			abort();
	} else if ((status != 400 && status != 503) || !out.len) {
		abort();
	}
	tw_buf_free(&out);
	tw_form_free(&f);
	tw_buf_free(&b);
}

/* one worker for the process, as one worker thread would keep it */
static tw_inbound_worker *w;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *nul = memchr(p, '\0', size);
	size_t plen = nul ? (size_t)(nul - p) : size;
	json_tokener *tok;
	json_object *params;
	tw_config cfg;
	tw_inbound *in;
	char err[512];
	int rc, rc2;

	if (!w && !(w = tw_inbound_worker_new()))
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	cfg.reply_mode = (char *)(size % 3 == 0   ? "all"
	                          : size % 3 == 1 ? "first"
	                                          : "none");
	cfg.publish_deadline_ms = 5000;
	in = tw_inbound_new(&fz_host, &cfg, NULL, err, sizeof(err));
	if (!in)
		abort();
	tok = json_tokener_new_ex(32);
	params = tok ? json_tokener_parse_ex(tok, p, (int)plen) : NULL;
	json_tokener_free(tok);
	err[0] = '\0';
	rc = tw_inbound_subscribe(in, 1, params, err, sizeof(err));
	if (rc && !err[0] && rc != CONN_ENOMEM)
		abort(); /* every refusal says why */
	/* the same params again: EEXIST when the first was accepted */
	rc2 = tw_inbound_subscribe(in, 1, params, err, sizeof(err));
	if (!rc && rc2 != CONN_EEXIST)
		abort();
	/* sub 2 (always accepted) has its publishes refused: echoError */
	{
		json_object *p2 = json_tokener_parse(
		        "{\"pattern\":\"(?<first>\\\\S+)?\",\"echoError\":"
		        "\"${first!'-'} ${from!} ${originalMessage}\"}");

		if (tw_inbound_subscribe(in, 2, p2, err, sizeof(err)))
			abort();
		json_object_put(p2);
	}
	json_object_put(params);
	if (nul)
		run_form(in, w, nul + 1, size - plen - 1);
	else
		run_form(in, w, "Body=hello", 10);
	if (!rc && tw_inbound_unsubscribe(in, 1))
		abort();
	if (tw_inbound_unsubscribe(in, 1) != CONN_ENOENT)
		abort();
	tw_inbound_free(in);
	return 0;
}

#ifndef TW_LIBFUZZER
#include "fuzz_replay.h"
int main(int argc, char **argv)
{
	int rc = tw_fuzz_replay(argc, argv, "subscribe_params");

	tw_inbound_worker_free(w);
	return rc;
}
#endif

/*
 * inbound_stub.c - TEMPORARY stand-in for plugin/inbound.c (the "inbound"
 * part, written in parallel), so that the webhook's branch builds and its
 * tests run end to end before that branch is merged. DELETE at the merge of
 * in-inbound (and its line in plugin/local.mk).
 *
 * It keeps the subscription ids, publishes {originalMessage, from, to,
 * messageSid} to each on every message (no matching, no dedupe) and
 * answers an empty TwiML <Response/>; 400 without MessageSid.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tw_inbound.h"

#define STUB_SUBS 64

struct tw_inbound {
	const conn_host *host;
	pthread_mutex_t mu;
	uint64_t subs[STUB_SUBS];
	size_t n;
	long received;
};

struct tw_inbound_worker {
	int unused;
};

tw_inbound *tw_inbound_new(const conn_host *host, const tw_config *cfg,
                           const ftl_settings *fs, char *err, size_t errlen)
{
	tw_inbound *in = calloc(1, sizeof(*in));

	(void)cfg;
	(void)fs;
	(void)err;
	(void)errlen;
	if (!in)
		return NULL;
	in->host = host;
	pthread_mutex_init(&in->mu, NULL);
	return in;
}

void tw_inbound_free(tw_inbound *in)
{
	if (!in)
		return;
	pthread_mutex_destroy(&in->mu);
	free(in);
}

int tw_inbound_subscribe(tw_inbound *in, uint64_t sub_id, json_object *params,
                         char *err, size_t errlen)
{
	(void)params;
	(void)err;
	(void)errlen;
	pthread_mutex_lock(&in->mu);
	if (in->n == STUB_SUBS) {
		pthread_mutex_unlock(&in->mu);
		return CONN_EINVAL;
	}
	in->subs[in->n++] = sub_id;
	pthread_mutex_unlock(&in->mu);
	return 0;
}

int tw_inbound_unsubscribe(tw_inbound *in, uint64_t sub_id)
{
	size_t i;

	pthread_mutex_lock(&in->mu);
	for (i = 0; i < in->n; i++)
		if (in->subs[i] == sub_id) {
			in->subs[i] = in->subs[--in->n];
			pthread_mutex_unlock(&in->mu);
			return 0;
		}
	pthread_mutex_unlock(&in->mu);
	return CONN_ENOENT;
}

tw_inbound_worker *tw_inbound_worker_new(void)
{
	return calloc(1, sizeof(tw_inbound_worker));
}

void tw_inbound_worker_free(tw_inbound_worker *w)
{
	free(w);
}

static json_object *field(const tw_form *f, const char *name)
{
	const tw_field *x = tw_form_get(f, name);

	return x ? json_object_new_string_len(x->value, (int)x->value_len)
	         : NULL;
}

int tw_inbound_handle(tw_inbound *in, tw_inbound_worker *w, const tw_form *form,
                      tw_buf *twiml)
{
	uint64_t subs[STUB_SUBS];
	size_t i, n;

	(void)w;
	if (!tw_form_get(form, "MessageSid")) {
		tw_buf_puts(twiml, "MessageSid missing\n");
		return 400;
	}
	pthread_mutex_lock(&in->mu);
	n = in->n;
	memcpy(subs, in->subs, n * sizeof(subs[0]));
	in->received++;
	pthread_mutex_unlock(&in->mu);
	for (i = 0; i < n; i++) {
		json_object *ev = json_object_new_object();
		char err[256];

		json_object_object_add(ev, "originalMessage",
		                       field(form, "Body"));
		json_object_object_add(ev, "from", field(form, "From"));
		json_object_object_add(ev, "to", field(form, "To"));
		json_object_object_add(ev, "messageSid",
		                       field(form, "MessageSid"));
		in->host->publish(in->host->ctx, subs[i], ev, err, sizeof(err));
	}
	tw_buf_puts(twiml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	                   "<Response/>");
	return 200;
}

json_object *tw_inbound_stats(tw_inbound *in)
{
	json_object *o = json_object_new_object();

	pthread_mutex_lock(&in->mu);
	json_object_object_add(o, "received",
	                       json_object_new_int64(in->received));
	json_object_object_add(o, "subscriptions",
	                       json_object_new_int64((int64_t)in->n));
	pthread_mutex_unlock(&in->mu);
	return o;
}

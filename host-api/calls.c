/*
 * calls.c - the call registry of a connhost_instance and the invoke paths:
 * asynchronous (a callback), synchronous (a waiter on the caller's stack,
 * bounded by the call's deadline plus a margin), the complete() host
 * service that routes a completion to its caller exactly once, and the
 * cleanup of calls a plugin left behind at shutdown.
 * Owns the call records (one per call in flight). Each record names the
 * generation (struct connhost__gen) that accepted it, so that during a hot
 * swap a completion, a cancel and the cleanup after a shutdown reach the
 * plugin instance that has the call, and the old generation's count of
 * calls says when it has finished them. Everything under the instance's
 * lock; the plugin is called without it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "connhost-int.h"

#define DEFAULT_DEADLINE_MS 30000

static size_t bucket(uint64_t id)
{
	return (size_t)(id % CONNHOST__CALL_BUCKETS);
}

struct connhost__call *connhost__call_take(connhost_instance *inst, uint64_t id)
{
	struct connhost__call **pp = &inst->calls[bucket(id)], *c;

	for (; (c = *pp) != NULL; pp = &c->next) {
		if (c->id == id) {
			*pp = c->next;
			inst->ncalls--;
			c->gen->calls--;
			if (c->gen->state != CONNHOST__GEN_SERVING)
				pthread_cond_broadcast(&inst->cond);
			return c;
		}
	}
	return NULL;
}

void connhost__complete(void *ctx, uint64_t call_id, json_object *outputs)
{
	struct connhost__gen *g = ctx;
	connhost_instance *inst = g->owner;
	struct connhost__call *c;

	pthread_mutex_lock(&inst->lock);
	c = connhost__call_take(inst, call_id);
	if (c)
		inst->calls_completed++;
	else
		inst->completions_dropped++;
	pthread_mutex_unlock(&inst->lock);
	if (!c) {
		json_object *f = json_object_new_object();
		json_object_object_add(f, "call_id",
		                       json_object_new_int64((int64_t)call_id));
		connhost__log_from(&inst->log, CONN_LOG_WARN,
		                   connhost_plugin_name(g->plugin), f,
		                   "completion for an unknown or already "
		                   "completed call dropped");
		json_object_put(f);
		json_object_put(outputs);
		return;
	}
	if (!outputs) {
		connhost__logf(
		        &inst->log, CONN_LOG_ERROR, NULL,
		        "plugin %s completed call %llu with NULL outputs",
		        connhost_plugin_name(g->plugin),
		        (unsigned long long)call_id);
		outputs = json_object_new_object();
		json_object_object_add(
		        outputs, "error",
		        json_object_new_string("host: the plugin completed "
		                               "the call without outputs"));
	}
	c->done(c->arg, call_id, outputs);
	free(c);
}

void connhost__calls_fail_gen(connhost_instance *inst, struct connhost__gen *g,
                              const char *why)
{
	size_t i;

	for (;;) {
		struct connhost__call *c = NULL, *p;
		json_object *o;

		pthread_mutex_lock(&inst->lock);
		for (i = 0; i < CONNHOST__CALL_BUCKETS && !c && g->calls; i++)
			for (p = inst->calls[i]; p && !c; p = p->next)
				if (p->gen == g)
					c = connhost__call_take(inst, p->id);
		pthread_mutex_unlock(&inst->lock);
		if (!c)
			return;
		o = json_object_new_object();
		json_object_object_add(o, "error", json_object_new_string(why));
		c->done(c->arg, c->id, o);
		free(c);
	}
}

int connhost_invoke(connhost_instance *inst, const char *action,
                    json_object *inputs, json_object *variables,
                    const char *idempotency_key, int64_t deadline_ms,
                    connhost_done_fn done, void *arg, uint64_t *call_id,
                    char *err, size_t errlen)
{
	struct connhost__call *c, *late;
	struct connhost__gen *g;
	json_object *empty = NULL;
	conn_call call;
	int rc;

	if (!inst || !action || !done) {
		connhost__err(err, errlen, "invoke: missing argument");
		return CONN_EINVAL;
	}
	if (inputs && !json_object_is_type(inputs, json_type_object)) {
		connhost__err(err, errlen, "inputs: not a JSON object");
		return CONN_EINVAL;
	}
	if (variables && !json_object_is_type(variables, json_type_object)) {
		connhost__err(err, errlen, "variables: not a JSON object");
		return CONN_EINVAL;
	}
	if (!inputs && !(inputs = empty = json_object_new_object()))
		return CONN_ENOMEM;
	c = calloc(1, sizeof(*c));
	if (!c) {
		json_object_put(empty);
		return CONN_ENOMEM;
	}
	c->done = done;
	c->arg = arg;
	pthread_mutex_lock(&inst->lock);
	g = connhost__gen_enter(inst); /* waits out a swap pause */
	if (!g) {
		pthread_mutex_unlock(&inst->lock);
		free(c);
		json_object_put(empty);
		connhost__err(err, errlen,
		              "invoke: the instance is shutting "
		              "down");
		return CONN_ESTATE;
	}
	c->id = ++inst->next_call;
	c->gen = g;
	g->calls++;
	c->next = inst->calls[bucket(c->id)];
	inst->calls[bucket(c->id)] = c;
	inst->ncalls++;
	inst->calls_started++;
	pthread_mutex_unlock(&inst->lock);

	if (call_id)
		*call_id = c->id;
	call = (conn_call){
	        .struct_size = sizeof(conn_call),
	        .call_id = c->id,
	        .action = action,
	        .inputs = inputs,
	        .variables = variables,
	        .idempotency_key = idempotency_key,
	        .deadline_ms = deadline_ms
	                               ? deadline_ms
	                               : conn_now_ms() + DEFAULT_DEADLINE_MS,
	};
	if (err && errlen)
		err[0] = '\0';
	/* C may be completed and freed from here on: use call.call_id. */
	rc = g->t->invoke_action(g->pi, &call, err, errlen);

	pthread_mutex_lock(&inst->lock);
	late = NULL;
	if (rc != 0) {
		late = connhost__call_take(inst, call.call_id);
		inst->calls_started--;
	}
	pthread_mutex_unlock(&inst->lock);
	json_object_put(empty);
	if (rc != 0 && !late) {
		/* Refused, yet completed: DONE already ran, so for the caller
		 * the call happened. (G stays entered while its name is
		 * used: a swap may free it once we leave.) */
		connhost__logf(&inst->log, CONN_LOG_ERROR, NULL,
		               "plugin %s refused call %llu (%s) but completed "
		               "it; treating it as accepted",
		               connhost_plugin_name(g->plugin),
		               (unsigned long long)call.call_id,
		               conn_strerror(rc));
		rc = 0;
	}
	pthread_mutex_lock(&inst->lock);
	connhost__gen_leave(inst, g);
	pthread_mutex_unlock(&inst->lock);
	if (rc == 0)
		return 0;
	free(late);
	if (rc != 0 && err && errlen && !err[0])
		connhost__err(err, errlen, "action '%s' not accepted: %s",
		              action, conn_strerror(rc));
	return rc;
}

struct waiter {
	pthread_mutex_t m;
	pthread_cond_t c;
	int done;
	json_object *out;
};

static void waiter_done(void *arg, uint64_t call_id, json_object *outputs)
{
	struct waiter *w = arg;

	(void)call_id;
	pthread_mutex_lock(&w->m);
	w->out = outputs;
	w->done = 1;
	pthread_cond_signal(&w->c);
	pthread_mutex_unlock(&w->m);
}

int connhost_invoke_sync(connhost_instance *inst, const char *action,
                         json_object *inputs, json_object *variables,
                         const char *idempotency_key, int64_t deadline_ms,
                         json_object **outputs, char *err, size_t errlen)
{
	struct waiter w = {.done = 0, .out = NULL};
	pthread_condattr_t ca;
	struct timespec ts;
	uint64_t id = 0;
	int64_t until;
	int rc, timed_out = 0;

	*outputs = NULL;
	if (!deadline_ms)
		deadline_ms = conn_now_ms() + DEFAULT_DEADLINE_MS;
	until = conn_deadline_add(deadline_ms, CONNHOST_SYNC_MARGIN_MS);
	pthread_mutex_init(&w.m, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.c, &ca);
	pthread_condattr_destroy(&ca);
	rc = connhost_invoke(inst, action, inputs, variables, idempotency_key,
	                     deadline_ms, waiter_done, &w, &id, err, errlen);
	if (rc)
		goto out;
	ts.tv_sec = (time_t)(until / 1000);
	ts.tv_nsec = (long)(until % 1000) * 1000000L;
	pthread_mutex_lock(&w.m);
	while (!w.done && !timed_out)
		timed_out =
		        pthread_cond_timedwait(&w.c, &w.m, &ts) == ETIMEDOUT;
	pthread_mutex_unlock(&w.m);
	if (!w.done) {
		struct connhost__call *c;

		pthread_mutex_lock(&inst->lock);
		c = connhost__call_take(inst, id);
		if (c)
			inst->calls_abandoned++;
		pthread_mutex_unlock(&inst->lock);
		if (c) {
			free(c);
			connhost__err(err, errlen,
			              "action '%s': no completion by the "
			              "deadline + %d ms",
			              action, CONNHOST_SYNC_MARGIN_MS);
			rc = CONN_ETIMEDOUT;
			goto out;
		}
		/* The completion is being delivered right now. */
		pthread_mutex_lock(&w.m);
		while (!w.done)
			pthread_cond_wait(&w.c, &w.m);
		pthread_mutex_unlock(&w.m);
	}
	*outputs = w.out;
out:
	pthread_cond_destroy(&w.c);
	pthread_mutex_destroy(&w.m);
	return rc;
}

int connhost_cancel(connhost_instance *inst, uint64_t call_id)
{
	struct connhost__call *c;
	struct connhost__gen *g;
	int rc;

	pthread_mutex_lock(&inst->lock);
	/* Entering the serving generation waits out a swap pause, so that
	 * no cancel runs into a plugin instance being quiesced. */
	g = connhost__gen_enter(inst);
	if (!g) { /* shutdown() completes every call anyway */
		pthread_mutex_unlock(&inst->lock);
		return CONN_ESTATE;
	}
	connhost__gen_leave(inst, g);
	for (c = inst->calls[bucket(call_id)]; c && c->id != call_id;
	     c = c->next)
		;
	if (!c) {
		pthread_mutex_unlock(&inst->lock);
		return CONN_ENOENT;
	}
	/* The call's own generation has it, even after a swap. */
	g = c->gen;
	if (g->state != CONNHOST__GEN_SERVING &&
	    g->state != CONNHOST__GEN_DRAINING) {
		pthread_mutex_unlock(&inst->lock);
		return CONN_ESTATE; /* its shutdown completes it */
	}
	g->inflight++;
	pthread_mutex_unlock(&inst->lock);
	rc = g->t->cancel ? g->t->cancel(g->pi, call_id) : CONN_ENOTSUP;
	pthread_mutex_lock(&inst->lock);
	connhost__gen_leave(inst, g);
	pthread_mutex_unlock(&inst->lock);
	return rc;
}

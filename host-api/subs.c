/*
 * subs.c - the subscription registry of a connhost_instance and the
 * publish() host service. The registry is the host's (not the plugin's) so
 * that a hot swap can subscribe the new plugin instance to the same ids.
 * Owns the subscription records and their copies of the params.
 * Swap: connhost_instance_swap() subscribes the new generation to every
 * record here (same ids) while SUBS_FROZEN holds new subscribes and
 * unsubscribes; a publish through any generation, old or new, reaches the
 * same callback. Everything under the instance's lock; the plugin and the
 * callbacks are called without it.
 */
#include <stdlib.h>
#include <string.h>

#include "connhost-int.h"

static struct connhost__sub **find(connhost_instance *inst, uint64_t id)
{
	struct connhost__sub **pp = &inst->subs;

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id)
			return pp;
	return pp;
}

static void sub_free(struct connhost__sub *s)
{
	json_object_put(s->params);
	free(s->event);
	free(s);
}

void connhost__subs_free(connhost_instance *inst)
{
	struct connhost__sub *s, *n;

	for (s = inst->subs; s; s = n) {
		n = s->next;
		sub_free(s);
	}
	inst->subs = NULL;
}

int connhost__publish(void *ctx, uint64_t sub_id, json_object *event, char *err,
                      size_t errlen)
{
	struct connhost__gen *g = ctx;
	connhost_instance *inst = g->owner;
	struct connhost__sub *s;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	pthread_mutex_lock(&inst->lock);
	s = *find(inst, sub_id);
	if (!s || s->dead) {
		pthread_mutex_unlock(&inst->lock);
		json_object_put(event);
		connhost__err(err, errlen, "unknown subscription %llu",
		              (unsigned long long)sub_id);
		return CONN_ENOENT;
	}
	if (inst->refuse) {
		inst->publish_refused++;
		connhost__err(err, errlen, "%s", inst->refuse);
		pthread_mutex_unlock(&inst->lock);
		json_object_put(event);
		return CONN_EREFUSED;
	}
	s->busy++;
	g->publishing++;
	pthread_mutex_unlock(&inst->lock);
	if (!event)
		event = json_object_new_object();
	rc = s->fn(s->arg, sub_id, event, err, errlen);
	pthread_mutex_lock(&inst->lock);
	s->busy--;
	g->publishing--;
	if (rc == 0)
		inst->published++;
	else
		inst->publish_refused++;
	pthread_cond_broadcast(&inst->cond);
	pthread_mutex_unlock(&inst->lock);
	if (rc != 0 && err && errlen && !err[0])
		connhost__err(err, errlen, "refused by the host: %s",
		              conn_strerror(rc));
	return rc;
}

int connhost_subscribe(connhost_instance *inst, const char *event,
                       json_object *params, connhost_event_fn fn, void *arg,
                       uint64_t *sub_id, char *err, size_t errlen)
{
	struct connhost__sub *s, **pp;
	struct connhost__gen *g;
	json_object *empty = NULL;
	int rc;

	if (!inst || !event || !fn) {
		connhost__err(err, errlen, "subscribe: missing argument");
		return CONN_EINVAL;
	}
	if (params && !json_object_is_type(params, json_type_object)) {
		connhost__err(err, errlen, "params: not a JSON object");
		return CONN_EINVAL;
	}
	if (!params && !(params = empty = json_object_new_object()))
		return CONN_ENOMEM;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->event = strdup(event)) ||
	    json_object_deep_copy(params, &s->params, NULL) != 0) {
		if (s)
			sub_free(s);
		json_object_put(empty);
		return CONN_ENOMEM;
	}
	s->fn = fn;
	s->arg = arg;
	pthread_mutex_lock(&inst->lock);
	while (inst->subs_frozen && !inst->closing)
		pthread_cond_wait(&inst->cond, &inst->lock);
	g = connhost__gen_enter(inst);
	if (!g) {
		pthread_mutex_unlock(&inst->lock);
		sub_free(s);
		json_object_put(empty);
		connhost__err(err, errlen,
		              "subscribe: the instance is "
		              "shutting down");
		return CONN_ESTATE;
	}
	inst->sub_ops++;
	s->id = ++inst->next_sub;
	s->next = inst->subs;
	inst->subs = s;
	pthread_mutex_unlock(&inst->lock);

	if (err && errlen)
		err[0] = '\0';
	rc = g->t->subscribe_event(g->pi, s->id, event, params, err, errlen);
	json_object_put(empty);

	pthread_mutex_lock(&inst->lock);
	connhost__gen_leave(inst, g);
	inst->sub_ops--;
	if (rc == 0) {
		*sub_id = s->id;
	} else {
		/* Nothing may publish to a refused subscription; wait for a
		 * misbehaving plugin's publish to return anyway. */
		s->dead = 1;
		while (s->busy)
			pthread_cond_wait(&inst->cond, &inst->lock);
		pp = find(inst, s->id);
		*pp = s->next;
		sub_free(s);
	}
	pthread_cond_broadcast(&inst->cond);
	pthread_mutex_unlock(&inst->lock);
	if (rc != 0 && err && errlen && !err[0])
		connhost__err(err, errlen, "event '%s' refused: %s", event,
		              conn_strerror(rc));
	return rc;
}

int connhost_unsubscribe(connhost_instance *inst, uint64_t sub_id)
{
	struct connhost__sub *s, **pp;
	struct connhost__gen *g;
	int rc;

	pthread_mutex_lock(&inst->lock);
	while (inst->subs_frozen && !inst->closing)
		pthread_cond_wait(&inst->cond, &inst->lock);
	s = *find(inst, sub_id);
	if (!s || s->dead) {
		pthread_mutex_unlock(&inst->lock);
		return CONN_ENOENT;
	}
	s->dead = 1;
	/* shutting down: the host's registry only */
	g = connhost__gen_enter(inst);
	inst->sub_ops++;
	pthread_mutex_unlock(&inst->lock);

	/* Only the serving generation is told: an old one still draining
	 * is refused by the registry (DEAD) and drops its copy at its
	 * shutdown. */
	rc = g ? g->t->unsubscribe(g->pi, sub_id) : 0;
	if (rc)
		connhost__logf(&inst->log, CONN_LOG_WARN, NULL,
		               "plugin %s: unsubscribe(%llu): %s",
		               connhost_plugin_name(g->plugin),
		               (unsigned long long)sub_id, conn_strerror(rc));

	pthread_mutex_lock(&inst->lock);
	if (g)
		connhost__gen_leave(inst, g);
	inst->sub_ops--;
	while (s->busy)
		pthread_cond_wait(&inst->cond, &inst->lock);
	pp = find(inst, sub_id);
	*pp = s->next;
	pthread_cond_broadcast(&inst->cond);
	pthread_mutex_unlock(&inst->lock);
	sub_free(s);
	return 0;
}

/*
 * instance.c - connhost_instance: creation from a configuration, the host
 * services table a plugin instance receives (log, claim, settle; complete
 * and publish live in calls.c and subs.c), start, stats and shutdown.
 * Owns the instance, its generation (struct connhost__gen) and, unless a
 * shared one was given, the idempotency store.
 */
#include <stdlib.h>
#include <string.h>

#include "connhost-int.h"

static connhost_instance *owner_of(void *ctx)
{
	return ((struct connhost__gen *)ctx)->owner;
}

static void svc_log(void *ctx, conn_log_level level, json_object *fields,
                    const char *message)
{
	struct connhost__gen *g = ctx;

	connhost__log_from(&g->owner->log, level,
	                   connhost_plugin_name(g->plugin), fields, message);
}

static int svc_claim(void *ctx, const char *key, uint32_t ttl_ms,
                     json_object **prior)
{
	return connhost_store_claim(owner_of(ctx)->store, key, ttl_ms, prior);
}

static int svc_settle(void *ctx, const char *key, json_object *result,
                      uint32_t ttl_ms)
{
	return connhost_store_settle(owner_of(ctx)->store, key, result, ttl_ms);
}

static struct connhost__gen *gen_new(connhost_instance *inst,
                                     connhost_plugin *p)
{
	struct connhost__gen *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->owner = inst;
	g->plugin = connhost_plugin_ref(p);
	g->t = connhost_plugin_table(p);
	g->host = (conn_host){
	        .struct_size = sizeof(conn_host),
	        .abi_major = CONN_ABI_MAJOR,
	        .abi_minor = CONN_ABI_MINOR,
	        .ctx = g,
	        .log = svc_log,
	        .complete = connhost__complete,
	        .publish = connhost__publish,
	        .claim = svc_claim,
	        .settle = svc_settle,
	};
	return g;
}

static void gen_free(struct connhost__gen *g)
{
	if (!g)
		return;
	connhost_plugin_unref(g->plugin);
	free(g);
}

static void instance_free(connhost_instance *inst)
{
	connhost__subs_free(inst);
	if (inst->own_store)
		connhost_store_free(inst->store);
	gen_free(inst->cur);
	free(inst->refuse);
	json_object_put(inst->config);
	pthread_cond_destroy(&inst->cond);
	pthread_mutex_destroy(&inst->lock);
	free(inst);
}

static connhost_instance *instance_alloc(const connhost_instance_opts *opts)
{
	connhost_instance *inst = calloc(1, sizeof(*inst));

	if (!inst)
		return NULL;
	pthread_mutex_init(&inst->lock, NULL);
	pthread_cond_init(&inst->cond, NULL);
	inst->log.level = CONN_LOG_WARN;
	if (opts) {
		if (opts->log.write || opts->log.level)
			inst->log = opts->log;
		inst->store = opts->store;
		if (opts->refuse_publish &&
		    !(inst->refuse = strdup(opts->refuse_publish)))
			goto fail;
	}
	if (!inst->store) {
		inst->store = connhost_store_new(opts ? opts->store_bytes : 0);
		if (!inst->store)
			goto fail;
		inst->own_store = 1;
		connhost_store_set_log(inst->store, &inst->log);
	}
	return inst;
fail:
	instance_free(inst);
	return NULL;
}

int connhost_instance_new(connhost_plugin *p, json_object *config,
                          const connhost_instance_opts *opts,
                          connhost_instance **out, char *err, size_t errlen)
{
	connhost_instance *inst;
	json_object *cfg = NULL;
	int rc;

	*out = NULL;
	if (!p)
		return CONN_EINVAL;
	if (config && !json_object_is_type(config, json_type_object)) {
		connhost__err(err, errlen, "not a JSON object");
		return CONN_EINVAL;
	}
	inst = instance_alloc(opts);
	if (!inst)
		return CONN_ENOMEM;
	if (config ? json_object_deep_copy(config, &cfg, NULL) != 0
	           : !(cfg = json_object_new_object())) {
		rc = CONN_ENOMEM;
		goto fail;
	}
	rc = connhost_config_validate(connhost_plugin_definition(p), cfg,
	                              &inst->log, err, errlen);
	if (rc)
		goto fail;
	inst->cur = gen_new(inst, p);
	if (!inst->cur) {
		rc = CONN_ENOMEM;
		goto fail;
	}
	if (err && errlen)
		err[0] = '\0';
	rc = inst->cur->t->init(&inst->cur->host, cfg, &inst->cur->pi, err,
	                        errlen);
	if (rc) {
		if (err && errlen && !err[0])
			connhost__err(err, errlen, "init() refused: %s",
			              conn_strerror(rc));
		goto fail;
	}
	inst->config = cfg;
	*out = inst;
	return 0;
fail:
	json_object_put(cfg);
	instance_free(inst);
	return rc;
}

int connhost_instance_start(connhost_instance *inst, char *err, size_t errlen)
{
	struct connhost__gen *g = inst->cur;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	rc = g->t->start(g->pi, NULL, err, errlen);
	if (rc && err && errlen && !err[0])
		connhost__err(err, errlen, "start() failed: %s",
		              conn_strerror(rc));
	return rc;
}

int connhost_instance_shutdown(connhost_instance *inst, int64_t deadline_ms)
{
	struct connhost__gen *g = inst->cur;
	int rc;

	pthread_mutex_lock(&inst->lock);
	inst->closing = 1;
	while (g->inflight > 0)
		pthread_cond_wait(&inst->cond, &inst->lock);
	pthread_mutex_unlock(&inst->lock);
	rc = g->t->shutdown(g->pi, deadline_ms);
	if (rc == CONN_EBUSY) {
		connhost__logf(&inst->log, CONN_LOG_ERROR, NULL,
		               "plugin %s: shutdown left a thread running; "
		               "its code stays loaded",
		               connhost_plugin_name(g->plugin));
		return rc;
	}
	if (rc)
		connhost__logf(&inst->log, CONN_LOG_WARN, NULL,
		               "plugin %s: shutdown returned %s",
		               connhost_plugin_name(g->plugin),
		               conn_strerror(rc));
	connhost__calls_fail_all(
	        inst, "host: instance shut down without completing the call");
	instance_free(inst);
	return 0;
}

void connhost_instance_abandon(connhost_instance *inst)
{
	connhost__logf(
	        &inst->log, CONN_LOG_ERROR, NULL,
	        "plugin %s: instance abandoned; its memory and code stay "
	        "for the life of the process",
	        connhost_plugin_name(inst->cur->plugin));
}

json_object *connhost_instance_config_masked(connhost_instance *inst)
{
	return connhost_config_masked(
	        connhost_plugin_definition(inst->cur->plugin), inst->config);
}

connhost_plugin *connhost_instance_plugin(connhost_instance *inst)
{
	return inst->cur->plugin;
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static json_object *fill_stats(const connhost_store_fill *f)
{
	json_object *o = json_object_new_object();

	if (o) {
		add_u64(o, "entries", f->entries);
		add_u64(o, "bytes", f->bytes);
		add_u64(o, "max_bytes", f->max_bytes);
	}
	return o;
}

static json_object *store_stats(const connhost_store_counts *c,
                                size_t slab_bytes)
{
	json_object *st = json_object_new_object(), *nss;
	int i;

	if (!st)
		return NULL;
	add_u64(st, "entries", c->entries);
	add_u64(st, "bytes", c->bytes);
	add_u64(st, "max_bytes", c->max_bytes);
	add_u64(st, "table_bytes", c->table_bytes);
	add_u64(st, "slab_bytes", slab_bytes);
	add_u64(st, "claims_new", c->claims_new);
	add_u64(st, "claims_busy", c->claims_busy);
	add_u64(st, "claims_done", c->claims_done);
	add_u64(st, "expired", c->expired);
	add_u64(st, "refused_full", c->refused_full);
	add_u64(st, "fill_warnings", c->fill_warnings);
	nss = json_object_new_object();
	for (i = 0; nss && i < CONNHOST_STORE_NS_COUNT; i++)
		json_object_object_add(nss, connhost_store_ns_name(i),
		                       fill_stats(&c->ns[i]));
	json_object_object_add(st, "namespaces", nss);
	return st;
}

json_object *connhost_instance_stats(connhost_instance *inst)
{
	json_object *o = json_object_new_object(), *st;
	struct connhost__gen *g = inst->cur;
	connhost_store_counts c;

	if (!o)
		return NULL;
	pthread_mutex_lock(&inst->lock);
	add_u64(o, "calls_started", inst->calls_started);
	add_u64(o, "calls_completed", inst->calls_completed);
	add_u64(o, "calls_pending", inst->ncalls);
	add_u64(o, "completions_dropped", inst->completions_dropped);
	add_u64(o, "calls_abandoned", inst->calls_abandoned);
	add_u64(o, "published", inst->published);
	add_u64(o, "publish_refused", inst->publish_refused);
	pthread_mutex_unlock(&inst->lock);
	connhost_store_get_counts(inst->store, &c);
	st = store_stats(&c, connhost__store_slab_bytes(inst->store));
	json_object_object_add(o, "store", st);
	if (g->t->stats) {
		json_object *ps = g->t->stats(g->pi);
		if (ps)
			json_object_object_add(o, "plugin", ps);
	}
	return o;
}

/*
 * instance.c - connhost_instance: creation from a configuration, the host
 * services table a plugin instance receives (log, claim, settle; complete
 * and publish live in calls.c and subs.c), start, the hot swap, stats and
 * shutdown.
 * Owns the instance, its generations (struct connhost__gen: the serving
 * one, and old ones still finishing their calls or kept loaded after
 * CONN_EBUSY), the hand-offs of swaps and, unless a shared one was given,
 * the idempotency store.
 * Threads: every function may be called from any host thread; the swap,
 * start and shutdown are serialised with each other (SWAPPING). No lock is
 * held while the plugin or a log writer runs.
 * Failure: a swap that fails at any step leaves the old version serving
 * (see connhost_instance_swap()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connhost-int.h"

#define DEFAULT_SWAP_DEADLINE_MS 30000

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

static int svc_log_enabled(void *ctx, conn_log_level level)
{
	return level <= owner_of(ctx)->log.level;
}

static int svc_claim_owned(void *ctx, const char *key, uint32_t ttl_ms,
                           uint64_t *owner, json_object **prior)
{
	return connhost_store_claim_owned(owner_of(ctx)->store, key, ttl_ms,
	                                  owner, prior);
}

static int svc_settle_owned(void *ctx, const char *key, uint64_t owner,
                            json_object *result, uint32_t ttl_ms)
{
	return connhost_store_settle_owned(owner_of(ctx)->store, key, owner,
	                                   result, ttl_ms);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---------------------------------------------------------------------- */
/* Generations                                                             */
/* ---------------------------------------------------------------------- */

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
	        /* ABI 1.1 */
	        .json_c_version = (uint32_t)json_c_version_num(),
	        .json_c_version_num = json_c_version_num,
	        .log_enabled = svc_log_enabled,
	        .claim_owned = svc_claim_owned,
	        .settle_owned = svc_settle_owned,
	};
	return g;
}

/* Close what nobody took from H and release its state. */
static void handoff_close(conn_handoff *h)
{
	int i;

	for (i = 0; i < CONN_HANDOFF_MAX_FDS; i++) {
		if (h->fds[i] >= 0)
			close(h->fds[i]);
		h->fds[i] = -1;
	}
	json_object_put(h->state);
	h->state = NULL;
}

/* Only once G's plugin instance is gone (shutdown() returned 0) or was
 * never created. */
static void gen_free(struct connhost__gen *g)
{
	struct connhost__handoff *h, *n;

	if (!g)
		return;
	for (h = g->handoffs; h; h = n) {
		n = h->next;
		handoff_close(&h->h);
		free(h);
	}
	connhost_plugin_unref(g->plugin);
	free(g);
}

struct connhost__gen *connhost__gen_enter(connhost_instance *inst)
{
	while (inst->gate && !inst->closing)
		pthread_cond_wait(&inst->cond, &inst->lock);
	if (inst->closing || !inst->cur)
		return NULL;
	inst->cur->inflight++;
	return inst->cur;
}

void connhost__gen_leave(connhost_instance *inst, struct connhost__gen *g)
{
	if (--g->inflight == 0)
		pthread_cond_broadcast(&inst->cond);
}

/* Wait (lock held) until DEADLINE_MS at the latest; 0 when woken, 1 once
 * the deadline passed. */
static int wait_until(connhost_instance *inst, int64_t deadline_ms)
{
	struct timespec ts;

	if (conn_now_ms() >= deadline_ms)
		return 1;
	ts.tv_sec = (time_t)(deadline_ms / 1000);
	ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
	return pthread_cond_timedwait(&inst->cond, &inst->lock, &ts) ==
	       ETIMEDOUT;
}

/* "fake 1.0.0 (generation 2)" into BUF. */
static const char *gen_label(const struct connhost__gen *g, char *buf, size_t n)
{
	snprintf(buf, n, "%s %s (generation %llu)",
	         connhost_plugin_name(g->plugin),
	         connhost_plugin_version(g->plugin),
	         (unsigned long long)g->number);
	return buf;
}

/*
 * Shut generation G down by DEADLINE_MS: no new host thread enters it,
 * those inside are waited for, then its plugin's shutdown(). On 0 the
 * calls it left uncompleted are failed (only its own), its publishes are
 * waited for, and 0 is returned: the caller unlinks and frees it. On
 * CONN_EBUSY G is marked kept (its code stays loaded) and logged.
 */
static int gen_stop(connhost_instance *inst, struct connhost__gen *g,
                    int64_t deadline_ms)
{
	char label[256];
	int rc;

	gen_label(g, label, sizeof(label));
	pthread_mutex_lock(&inst->lock);
	g->state = CONNHOST__GEN_STOPPING;
	while (g->inflight > 0)
		pthread_cond_wait(&inst->cond, &inst->lock);
	pthread_mutex_unlock(&inst->lock);
	rc = g->t->shutdown(g->pi, deadline_ms);
	if (rc == CONN_EBUSY) {
		pthread_mutex_lock(&inst->lock);
		g->state = CONNHOST__GEN_KEPT;
		pthread_mutex_unlock(&inst->lock);
		connhost__logf(&inst->log, CONN_LOG_ERROR, NULL,
		               "plugin %s: shutdown left a thread running; "
		               "its code stays loaded",
		               label);
		return rc;
	}
	if (rc)
		connhost__logf(&inst->log, CONN_LOG_WARN, NULL,
		               "plugin %s: shutdown returned %s", label,
		               conn_strerror(rc));
	connhost__calls_fail_gen(
	        inst, g,
	        "host: instance shut down without completing the call");
	pthread_mutex_lock(&inst->lock);
	while (g->publishing > 0)
		pthread_cond_wait(&inst->cond, &inst->lock);
	pthread_mutex_unlock(&inst->lock);
	return 0;
}

/* Lock held. */
static void old_unlink(connhost_instance *inst, struct connhost__gen *g)
{
	struct connhost__gen **pp;

	for (pp = &inst->old; *pp; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			break;
		}
}

/* ---------------------------------------------------------------------- */
/* Creation, start, shutdown                                               */
/* ---------------------------------------------------------------------- */

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
	pthread_condattr_t ca;

	if (!inst)
		return NULL;
	pthread_mutex_init(&inst->lock, NULL);
	/* monotonic: a swap waits for old calls until a conn_now_ms()
	 * deadline */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&inst->cond, &ca);
	pthread_condattr_destroy(&ca);
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

/* A validated copy of CONFIG for plugin P in *OUT (the caller owns it). */
static int config_for(connhost_instance *inst, connhost_plugin *p,
                      json_object *config, json_object **out, char *err,
                      size_t errlen)
{
	json_object *cfg = NULL;
	int rc;

	*out = NULL;
	if (config && !json_object_is_type(config, json_type_object)) {
		connhost__err(err, errlen, "not a JSON object");
		return CONN_EINVAL;
	}
	if (config ? json_object_deep_copy(config, &cfg, NULL) != 0
	           : !(cfg = json_object_new_object())) {
		json_object_put(cfg);
		return CONN_ENOMEM;
	}
	rc = connhost_config_validate(connhost_plugin_definition(p), cfg,
	                              &inst->log, err, errlen);
	if (rc) {
		json_object_put(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

/* init() generation G with CFG (borrowed). */
static int gen_init(struct connhost__gen *g, json_object *cfg, char *err,
                    size_t errlen)
{
	int rc;

	if (err && errlen)
		err[0] = '\0';
	rc = g->t->init(&g->host, cfg, &g->pi, err, errlen);
	if (rc && err && errlen && !err[0])
		connhost__err(err, errlen, "init() refused: %s",
		              conn_strerror(rc));
	return rc;
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
	rc = config_for(inst, p, config, &cfg, err, errlen);
	if (rc)
		goto fail;
	inst->cur = gen_new(inst, p);
	if (!inst->cur) {
		rc = CONN_ENOMEM;
		goto fail;
	}
	inst->cur->number = ++inst->next_gen;
	rc = gen_init(inst->cur, cfg, err, errlen);
	if (rc)
		goto fail;
	inst->config = cfg;
	*out = inst;
	return 0;
fail:
	json_object_put(cfg);
	instance_free(inst);
	return rc;
}

/* Take the swap lock (SWAPPING) unless the instance is closing. */
static int swap_lock(connhost_instance *inst)
{
	pthread_mutex_lock(&inst->lock);
	while (inst->swapping && !inst->closing)
		pthread_cond_wait(&inst->cond, &inst->lock);
	if (inst->closing) {
		pthread_mutex_unlock(&inst->lock);
		return CONN_ESTATE;
	}
	inst->swapping = 1;
	pthread_mutex_unlock(&inst->lock);
	return 0;
}

static void swap_unlock(connhost_instance *inst)
{
	pthread_mutex_lock(&inst->lock);
	inst->swapping = 0;
	pthread_cond_broadcast(&inst->cond);
	pthread_mutex_unlock(&inst->lock);
}

int connhost_instance_start(connhost_instance *inst, char *err, size_t errlen)
{
	struct connhost__gen *g;
	int rc;

	if (swap_lock(inst) != 0) {
		connhost__err(err, errlen,
		              "start: the instance is shutting down");
		return CONN_ESTATE;
	}
	g = inst->cur; /* only a swap changes it, and we hold SWAPPING */
	if (err && errlen)
		err[0] = '\0';
	rc = g->t->start(g->pi, NULL, err, errlen);
	if (rc && err && errlen && !err[0])
		connhost__err(err, errlen, "start() failed: %s",
		              conn_strerror(rc));
	pthread_mutex_lock(&inst->lock);
	if (rc == 0)
		inst->started = 1;
	pthread_mutex_unlock(&inst->lock);
	swap_unlock(inst);
	return rc;
}

int connhost_instance_shutdown(connhost_instance *inst, int64_t deadline_ms)
{
	struct connhost__gen *g;
	int busy = 0;

	pthread_mutex_lock(&inst->lock);
	inst->closing = 1;
	pthread_cond_broadcast(&inst->cond); /* gate waiters give up */
	while (inst->swapping)
		pthread_cond_wait(&inst->cond, &inst->lock);
	pthread_mutex_unlock(&inst->lock);

	/* The serving generation, then any kept after a swap (their
	 * threads may have ended since). */
	if (inst->cur) {
		if (gen_stop(inst, inst->cur, deadline_ms) == CONN_EBUSY) {
			busy = 1;
		} else {
			pthread_mutex_lock(&inst->lock);
			g = inst->cur;
			inst->cur = NULL;
			pthread_mutex_unlock(&inst->lock);
			gen_free(g);
		}
	}
	pthread_mutex_lock(&inst->lock);
	g = inst->old; /* only kept ones: no swap runs (SWAPPING) */
	pthread_mutex_unlock(&inst->lock);
	while (g) {
		struct connhost__gen *next = g->next;

		if (gen_stop(inst, g, deadline_ms) == CONN_EBUSY) {
			busy = 1;
		} else {
			pthread_mutex_lock(&inst->lock);
			old_unlink(inst, g);
			pthread_mutex_unlock(&inst->lock);
			gen_free(g);
		}
		g = next;
	}
	if (busy)
		return CONN_EBUSY;
	instance_free(inst);
	return 0;
}

void connhost_instance_abandon(connhost_instance *inst)
{
	char label[256] = "(none)";

	pthread_mutex_lock(&inst->lock);
	if (inst->cur)
		gen_label(inst->cur, label, sizeof(label));
	else if (inst->old)
		gen_label(inst->old, label, sizeof(label));
	pthread_mutex_unlock(&inst->lock);
	connhost__logf(&inst->log, CONN_LOG_ERROR, NULL,
	               "plugin %s: instance abandoned; its memory and code "
	               "stay for the life of the process",
	               label);
}

json_object *connhost_instance_config_masked(connhost_instance *inst)
{
	json_object *o = NULL;

	/* Under the lock: a swap replaces both the plugin and the
	 * configuration. Nothing here calls the plugin. */
	pthread_mutex_lock(&inst->lock);
	if (inst->cur)
		o = connhost_config_masked(
		        connhost_plugin_definition(inst->cur->plugin),
		        inst->config);
	pthread_mutex_unlock(&inst->lock);
	return o;
}

connhost_plugin *connhost_instance_plugin(connhost_instance *inst)
{
	connhost_plugin *p = NULL;

	pthread_mutex_lock(&inst->lock);
	if (inst->cur)
		p = connhost_plugin_ref(inst->cur->plugin);
	pthread_mutex_unlock(&inst->lock);
	return p;
}

/* ---------------------------------------------------------------------- */
/* The hot swap (DESIGN.md section 7)                                      */
/* ---------------------------------------------------------------------- */

struct sub_snap {
	uint64_t id;
	const char *event;   /* the registry's; no unsubscribe while frozen */
	json_object *params; /* the registry's copy, used by this thread only */
};

/* Freeze the registry and snapshot it (lock not held). */
static int subs_freeze(connhost_instance *inst, struct sub_snap **out,
                       size_t *n)
{
	struct connhost__sub *s;
	size_t i = 0;

	pthread_mutex_lock(&inst->lock);
	inst->subs_frozen = 1;
	while (inst->sub_ops > 0)
		pthread_cond_wait(&inst->cond, &inst->lock);
	for (s = inst->subs; s; s = s->next)
		if (!s->dead)
			i++;
	*n = i;
	*out = calloc(i ? i : 1, sizeof(**out));
	for (i = 0, s = inst->subs; *out && s; s = s->next)
		if (!s->dead)
			(*out)[i++] =
			        (struct sub_snap){s->id, s->event, s->params};
	pthread_mutex_unlock(&inst->lock);
	return *out ? 0 : CONN_ENOMEM;
}

/* Undo a failed swap before the switch: V2 (initialised, maybe
 * subscribed, not started or failed to start) is shut down; a V2 that
 * cannot be is kept. */
static void swap_drop(connhost_instance *inst, struct connhost__gen *v2,
                      int64_t deadline_ms)
{
	pthread_mutex_lock(&inst->lock);
	inst->subs_frozen = 0;
	inst->swaps_failed++;
	pthread_cond_broadcast(&inst->cond);
	pthread_mutex_unlock(&inst->lock);
	if (!v2)
		return;
	if (!v2->pi) {
		gen_free(v2);
		return;
	}
	v2->state = CONNHOST__GEN_DRAINING;
	if (gen_stop(inst, v2, deadline_ms) == CONN_EBUSY) {
		pthread_mutex_lock(&inst->lock);
		v2->next = inst->old;
		inst->old = v2;
		pthread_mutex_unlock(&inst->lock);
		return;
	}
	gen_free(v2);
}

/* Lift the swap pause (lock not held) and record how long it lasted. */
static void gate_open(connhost_instance *inst, int64_t t0)
{
	uint64_t us = (uint64_t)(now_us() - t0);

	pthread_mutex_lock(&inst->lock);
	inst->gate = 0;
	inst->last_swap_pause_us = us;
	if (us > inst->max_swap_pause_us)
		inst->max_swap_pause_us = us;
	pthread_cond_broadcast(&inst->cond);
	pthread_mutex_unlock(&inst->lock);
}

/* Step 4 and 5: OLD (no longer serving) finishes the calls it accepted by
 * DEADLINE_MS and is shut down and freed, or kept on CONN_EBUSY. */
static void retire(connhost_instance *inst, struct connhost__gen *old,
                   int64_t deadline_ms)
{
	char label[256];
	size_t left;

	gen_label(old, label, sizeof(label));
	pthread_mutex_lock(&inst->lock);
	while (old->calls > 0 && !wait_until(inst, deadline_ms))
		;
	left = old->calls;
	pthread_mutex_unlock(&inst->lock);
	if (left)
		connhost__logf(&inst->log, CONN_LOG_WARN, NULL,
		               "swap: plugin %s still had %zu call(s) at the "
		               "deadline; its shutdown completes them",
		               label, left);
	if (gen_stop(inst, old, deadline_ms) == CONN_EBUSY) {
		connhost__logf(&inst->log, CONN_LOG_ERROR, NULL,
		               "swap: old plugin %s kept loaded (shutdown "
		               "said a thread is still running)",
		               label);
		return;
	}
	pthread_mutex_lock(&inst->lock);
	old_unlink(inst, old);
	pthread_mutex_unlock(&inst->lock);
	gen_free(old); /* closes the hand-off's leftovers, may unload */
	connhost__logf(&inst->log, CONN_LOG_INFO, NULL,
	               "swap: old plugin %s shut down", label);
}

int connhost_instance_swap(connhost_instance *inst, connhost_plugin *p2,
                           json_object *config, const connhost_swap_opts *opts,
                           char *err, size_t errlen)
{
	struct connhost__gen *v1, *v2 = NULL;
	struct connhost__handoff *h = NULL;
	struct sub_snap *snap = NULL;
	json_object *cfg = NULL, *oldcfg;
	char l1[256], l2[256], e2[512];
	int64_t deadline_ms = 0, t0;
	uint64_t pause_us;
	size_t nsubs = 0, i;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!inst || !p2) {
		connhost__err(err, errlen, "swap: missing argument");
		return CONN_EINVAL;
	}
	if (opts) {
		if (opts->struct_size < sizeof(uint32_t) + sizeof(int64_t) ||
		    opts->struct_size > sizeof(*opts)) {
			connhost__err(err, errlen,
			              "swap: opts.struct_size %u is not "
			              "sizeof(connhost_swap_opts)",
			              (unsigned)opts->struct_size);
			return CONN_EINVAL;
		}
		deadline_ms = opts->deadline_ms;
	}
	if (!deadline_ms)
		deadline_ms = conn_now_ms() + DEFAULT_SWAP_DEADLINE_MS;
	if (swap_lock(inst) != 0) {
		connhost__err(err, errlen,
		              "swap: the instance is shutting down");
		return CONN_ESTATE;
	}
	v1 = inst->cur; /* stable while we hold SWAPPING */
	gen_label(v1, l1, sizeof(l1));
	if (!inst->started) {
		connhost__err(err, errlen,
		              "swap: the instance was never started; start it "
		              "first (or create a new one)");
		rc = CONN_ESTATE;
		goto out;
	}

	/* 1. The new configuration (CONFIG NULL: the current one) checked
	 * against the new describe(), and init(). v1 untouched on failure. */
	rc = config_for(inst, p2, config ? config : inst->config, &cfg, err,
	                errlen);
	if (rc) {
		connhost__logf(&inst->log, CONN_LOG_ERROR, NULL,
		               "swap refused: plugin %s %s: configuration: %s; "
		               "%s keeps serving",
		               connhost_plugin_name(p2),
		               connhost_plugin_version(p2), err ? err : "", l1);
		pthread_mutex_lock(&inst->lock);
		inst->swaps_failed++;
		pthread_mutex_unlock(&inst->lock);
		goto out;
	}
	v2 = gen_new(inst, p2);
	if (!v2) {
		rc = CONN_ENOMEM;
		swap_drop(inst, NULL, deadline_ms);
		goto out;
	}
	pthread_mutex_lock(&inst->lock);
	v2->number = ++inst->next_gen;
	pthread_mutex_unlock(&inst->lock);
	gen_label(v2, l2, sizeof(l2));
	rc = gen_init(v2, cfg, err, errlen);
	if (rc) {
		v2->pi = NULL;
		connhost__logf(&inst->log, CONN_LOG_ERROR, NULL,
		               "swap refused: plugin %s: %s; %s keeps serving",
		               l2, err ? err : conn_strerror(rc), l1);
		swap_drop(inst, v2, deadline_ms);
		goto out;
	}

	/* 2. Every registered subscription, same ids; new subscribes and
	 * unsubscribes wait until the switch. */
	rc = subs_freeze(inst, &snap, &nsubs);
	for (i = 0; rc == 0 && i < nsubs; i++) {
		if (err && errlen)
			err[0] = '\0';
		rc = v2->t->subscribe_event(v2->pi, snap[i].id, snap[i].event,
		                            snap[i].params, err, errlen);
		if (rc) {
			snprintf(e2, sizeof(e2), "%s", err ? err : "");
			connhost__err(err, errlen,
			              "swap: plugin %s refused subscription "
			              "%llu to '%s': %s",
			              l2, (unsigned long long)snap[i].id,
			              snap[i].event,
			              e2[0] ? e2 : conn_strerror(rc));
		}
	}
	free(snap);
	if (rc) {
		connhost__logf(&inst->log, CONN_LOG_ERROR, NULL,
		               "%s; %s keeps serving", err ? err : "", l1);
		swap_drop(inst, v2, deadline_ms);
		goto out;
	}

	/* 3. The swap pause: new calls wait while v1 hands its listener
	 * over and v2 starts with it. Nothing slow happens here that
	 * could have happened before. */
	h = calloc(1, sizeof(*h));
	if (!h) {
		rc = CONN_ENOMEM;
		swap_drop(inst, v2, deadline_ms);
		goto out;
	}
	conn_handoff_init(&h->h);
	t0 = now_us();
	pthread_mutex_lock(&inst->lock);
	inst->gate = 1;
	while (v1->inflight > 0) /* calls already routed to v1 */
		pthread_cond_wait(&inst->cond, &inst->lock);
	pthread_mutex_unlock(&inst->lock);
	rc = v1->t->quiesce(v1->pi, &h->h);
	if (rc) {
		gate_open(inst, t0);
		connhost__err(err, errlen,
		              "swap: plugin %s refused to quiesce: %s", l1,
		              conn_strerror(rc));
		connhost__logf(&inst->log, CONN_LOG_ERROR, NULL,
		               "%s; it keeps serving", err ? err : "");
		/* whatever it put in the hand-off stays with it */
		h->next = v1->handoffs;
		v1->handoffs = h;
		swap_drop(inst, v2, deadline_ms);
		goto out;
	}
	if (err && errlen)
		err[0] = '\0';
	rc = v2->t->start(v2->pi, &h->h, err, errlen);
	if (rc) {
		int rr;

		snprintf(e2, sizeof(e2), "%s",
		         err && *err ? err : conn_strerror(rc));
		rr = v1->t->resume(v1->pi, &h->h, err, errlen);
		gate_open(inst, t0);
		/* v1's quiesced daemon may still use what it did not take
		 * back: closed when v1 is shut down */
		h->next = v1->handoffs;
		v1->handoffs = h;
		if (rr)
			connhost__logf(&inst->log, CONN_LOG_ERROR, NULL,
			               "swap: plugin %s could not resume "
			               "after the failed swap: %s",
			               l1, err ? err : conn_strerror(rr));
		connhost__err(err, errlen,
		              "swap: plugin %s failed to start: %s; %s "
		              "resumed and keeps serving",
		              l2, e2, l1);
		connhost__logf(&inst->log, CONN_LOG_ERROR, NULL, "%s",
		               err ? err : "");
		swap_drop(inst, v2, deadline_ms);
		goto out;
	}
	/* Switch routing. */
	pthread_mutex_lock(&inst->lock);
	v1->state = CONNHOST__GEN_DRAINING;
	v1->next = inst->old;
	inst->old = v1;
	h->next = v1->handoffs;
	v1->handoffs = h;
	inst->cur = v2;
	oldcfg = inst->config;
	inst->config = cfg;
	cfg = NULL;
	inst->subs_frozen = 0;
	inst->swaps++;
	pthread_mutex_unlock(&inst->lock);
	gate_open(inst, t0);
	json_object_put(oldcfg);
	pthread_mutex_lock(&inst->lock);
	pause_us = inst->last_swap_pause_us;
	pthread_mutex_unlock(&inst->lock);
	/* never log with the lock held: the writer may call us */
	connhost__logf(&inst->log, CONN_LOG_INFO, NULL,
	               "swap: plugin %s replaced by %s; swap pause %llu us", l1,
	               l2, (unsigned long long)pause_us);

	/* 4, 5. Outside the pause: v1 finishes its calls, then goes. */
	retire(inst, v1, deadline_ms);
	rc = 0;
out:
	json_object_put(cfg);
	swap_unlock(inst);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Stats                                                                   */
/* ---------------------------------------------------------------------- */

static json_object *gen_json(const struct connhost__gen *g)
{
	json_object *o = json_object_new_object();

	if (o) {
		json_object_object_add(
		        o, "name",
		        json_object_new_string(
		                connhost_plugin_name(g->plugin)));
		json_object_object_add(
		        o, "version",
		        json_object_new_string(
		                connhost_plugin_version(g->plugin)));
		json_object_object_add(
		        o, "generation",
		        json_object_new_int64((int64_t)g->number));
	}
	return o;
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
	json_object *o = json_object_new_object(), *st, *kept;
	struct connhost__gen *g, *k;
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
	add_u64(o, "swaps", inst->swaps);
	add_u64(o, "swaps_failed", inst->swaps_failed);
	add_u64(o, "last_swap_pause_us", inst->last_swap_pause_us);
	add_u64(o, "max_swap_pause_us", inst->max_swap_pause_us);
	kept = json_object_new_array();
	for (k = inst->old; kept && k; k = k->next)
		if (k->state == CONNHOST__GEN_KEPT)
			json_object_array_add(kept, gen_json(k));
	json_object_object_add(o, "kept", kept);
	g = connhost__gen_enter(inst); /* waits out a swap pause */
	if (g)
		json_object_object_add(o, "serving", gen_json(g));
	pthread_mutex_unlock(&inst->lock);
	connhost_store_get_counts(inst->store, &c);
	st = store_stats(&c, connhost__store_slab_bytes(inst->store));
	json_object_object_add(o, "store", st);
	if (g && g->t->stats) {
		json_object *ps = g->t->stats(g->pi);
		if (ps)
			json_object_object_add(o, "plugin", ps);
	}
	if (g) {
		pthread_mutex_lock(&inst->lock);
		connhost__gen_leave(inst, g);
		pthread_mutex_unlock(&inst->lock);
	}
	return o;
}
